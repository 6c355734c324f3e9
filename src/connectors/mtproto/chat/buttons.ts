// A bot's buttons (reply_markup) as lines of text under its message: the canonical message has
// no buttons, and dropping them would lose what the bot offers. A button with a web address is a
// link to it; any other is its label in brackets (nobody elsewhere can press it). As mautrix
// bridges show Telegram keyboards on Matrix. Keyboards that only hide or force a reply add nothing.
import type { Span } from '../../../core/event.ts';
import type { TlObject, TlValue } from '../tl/codec.ts';

/** Buttons one message may carry (Telegram's limit for inline keyboards). */
export const MAX_BUTTONS = 100;
/** Characters of one label. */
export const MAX_LABEL = 64;
/** Characters of one button's address. */
export const MAX_BUTTON_URL = 2048;

/** The TL objects of a vector field (anything else in it, or no vector: none). */
export const asObjects = (v: TlValue | undefined): TlObject[] =>
  (Array.isArray(v) ? v : []).filter((x): x is TlObject => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array));

function webAddress(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

/** A button's label as shown: its text with runs of white space squeezed ('' when it has none). */
export function buttonLabel(button: TlObject): string {
  return typeof button['text'] === 'string' ? button['text'].replace(/\s+/g, ' ').trim() : '';
}

/**
 * The buttons of a reply_markup as text with link spans (offsets from the text's start), undefined
 * when it has none, or the rpc_error message refusing it: too many buttons
 * (REPLY_MARKUP_TOO_LONG), an empty or too long label (BUTTON_TEXT_INVALID), an address too long
 * (BUTTON_URL_INVALID). A button whose address is not http(s) (tg:, a bot's own scheme) shows as a label.
 */
export function buttonLines(markup: TlObject | undefined): { text: string; spans: Span[] } | string | undefined {
  if (markup?._ !== 'replyInlineMarkup' && markup?._ !== 'replyKeyboardMarkup') return undefined;
  const rows = asObjects(markup['rows']).map((row) => asObjects(row['buttons']));
  if (rows.reduce((n, r) => n + r.length, 0) > MAX_BUTTONS) return 'REPLY_MARKUP_TOO_LONG';
  const lines: string[] = [];
  const spans: Span[] = [];
  let at = 0;
  for (const row of rows) {
    if (row.length === 0) continue;
    let line = '';
    for (const button of row) {
      const label = buttonLabel(button);
      if (label === '' || [...label].length > MAX_LABEL) return 'BUTTON_TEXT_INVALID';
      const url = typeof button['url'] === 'string' ? button['url'] : undefined;
      if (url !== undefined && url.length > MAX_BUTTON_URL) return 'BUTTON_URL_INVALID';
      if (line !== '') line += ' · ';
      if (url !== undefined && webAddress(url)) {
        spans.push({ type: 'link', offset: at + line.length, length: label.length, url });
        line += label;
      } else {
        line += `[${label}]`;
      }
    }
    lines.push(line);
    at += line.length + 1;
  }
  return lines.length === 0 ? undefined : { text: lines.join('\n'), spans };
}
