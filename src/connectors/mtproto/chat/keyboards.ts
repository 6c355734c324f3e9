// A bot's keyboard as MTProto clients see it. The canonical message has no buttons, so every
// network gets them as lines under the text (buttons.ts); MTProto clients get the real keyboard
// instead, when it holds only what they can use here: an inline keyboard of links and callback
// buttons (a press goes to the bot: callback-queries.ts), or a reply keyboard of plain buttons (a
// press is a message); a reply keyboard's removal and a force reply, which add no lines, reach
// them too (reply-keyboard-bots.ts). Other keyboards stay lines for them too, but are kept all
// the same, for where their lines begin. The sending call keeps it in the state under the
// canonical event's id (`kb:<event id>`, for a day) before publishing; the connector's writer
// reads it back for a bot's message or edit and keeps it on the message record with where the
// lines begin, so every instance renders the message alike: the text before the lines, and the
// keyboard.
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { Span } from '../../../core/event.ts';
import type { TlObject } from '../tl/codec.ts';
import { asObjects, buttonLabel } from './buttons.ts';
import { parseJsonAs } from './json-record.ts';
import { clip } from '../../../core/text.ts';

/** A button of a kept keyboard: a link, or a callback with its data (base64). */
export interface InlineButton {
  readonly label: string;
  readonly url?: string;
  readonly data?: string;
}

/**
 * How a reply keyboard (or a force reply) shows: fitted to its buttons, gone after one press, a
 * hint in the input field; `selective`: only to the users the message mentions and to `to`, the
 * sender of the message it answers (user id).
 */
export interface ReplyOptions {
  readonly resize?: true;
  readonly once?: true;
  readonly selective?: true;
  readonly to?: string;
  readonly placeholder?: string;
}

/**
 * A kept keyboard: where the button lines begin in the canonical text (UTF-16), and the rows
 * MTProto clients get instead of them. Inline (no `reply`): links and callbacks. `reply`: a reply
 * keyboard, labels only (a press sends the label as a message: nothing to carry but the text).
 * `hide`: the bot takes its reply keyboard away; `forceReply`: clients open a reply to the message
 * (neither adds lines; `reply` holds a force reply's flags). No rows: a keyboard MTProto clients
 * cannot use as such (other kinds of buttons), shown as the lines, kept for where they begin (an
 * edit of the buttons alone replaces the lines: messages.editMessage).
 */
export interface Keyboard {
  readonly at: number;
  readonly rows: readonly (readonly InlineButton[])[];
  readonly reply?: ReplyOptions;
  readonly hide?: true;
  readonly forceReply?: true;
}

/** Whether MTProto clients get the keyboard (its rows instead of its lines, a reply keyboard's removal, or a force reply). */
export function shownAsKeyboard(keyboard: Keyboard | undefined): keyboard is Keyboard {
  return keyboard !== undefined && (keyboard.rows.length > 0 || keyboard.hide === true || keyboard.forceReply === true);
}

/** A reply keyboard, its removal or a force reply, which stay with a message through a bot's edits (only inline keyboards are edited). */
export function isReplyKind(keyboard: Keyboard | undefined): boolean {
  return keyboard?.reply !== undefined || keyboard?.hide === true;
}

/** Whether a bot's reply_markup is a reply keyboard, its removal or a force reply (no inline keyboard). */
export function isReplyMarkup(markup: TlObject | undefined): boolean {
  return markup?._ === 'replyKeyboardMarkup' || markup?._ === 'replyKeyboardHide' || markup?._ === 'replyKeyboardForceReply';
}

/** Characters of a reply keyboard's placeholder (Telegram's limit). */
const MAX_PLACEHOLDER = 64;

/** A reply keyboard's or force reply's flags as a bot gave them. */
function replyOptionsOf(markup: TlObject): ReplyOptions {
  const placeholder = typeof markup['placeholder'] === 'string' ? clip(markup['placeholder'].replace(/\s+/g, ' ').trim(), MAX_PLACEHOLDER) : '';
  return {
    ...(markup['resize'] === true ? { resize: true } : {}), ...(markup['single_use'] === true ? { once: true } : {}),
    ...(markup['selective'] === true ? { selective: true } : {}), ...(placeholder !== '' ? { placeholder } : {}),
  };
}

/** A bot's markup that adds no lines, as MTProto clients get it: a reply keyboard's removal, or a force reply. */
export function linelessKeyboardOf(markup: TlObject | undefined, at: number): Keyboard | undefined {
  if (markup?._ === 'replyKeyboardHide') return { at, rows: [], hide: true };
  if (markup?._ === 'replyKeyboardForceReply') return { at, rows: [], forceReply: true, reply: replyOptionsOf(markup) };
  return undefined;
}

/**
 * A bot's reply keyboard as MTProto clients get it: its rows and flags, when every button is a
 * plain one (a press sends its label); undefined otherwise (one that asks for a phone number, a
 * location, a poll... stays lines). Labels are checked by buttonLines, which every keyboard goes
 * through first.
 */
export function replyKeyboardOf(markup: TlObject | undefined): { rows: InlineButton[][]; reply: ReplyOptions } | undefined {
  if (markup?._ !== 'replyKeyboardMarkup') return undefined;
  const rows: InlineButton[][] = [];
  for (const row of asObjects(markup['rows']).map((r) => asObjects(r['buttons']))) {
    if (!row.every((b) => b._ === 'keyboardButton')) return undefined;
    if (row.length > 0) rows.push(row.map((b) => ({ label: buttonLabel(b) })));
  }
  return rows.length === 0 ? undefined : { rows, reply: replyOptionsOf(markup) };
}

/** Bytes of a callback button's data (Telegram's limit). */
export const MAX_CALLBACK_DATA = 64;
/** How long a kept keyboard waits for the writer (it reads it right after the publish). */
const KEEP_MS = 86_400_000;

/**
 * The rows MTProto clients get of a bot's reply_markup, or undefined when it is not an inline
 * keyboard of links and callback buttons alone (then everyone gets the lines, MTProto clients
 * too); a string: the rpc_error message refusing it (callback data over MAX_CALLBACK_DATA bytes).
 * Labels and addresses are checked by buttonLines, which every keyboard goes through first.
 */
export function inlineRowsOf(markup: TlObject | undefined): InlineButton[][] | string | undefined {
  if (markup?._ !== 'replyInlineMarkup') return undefined;
  const rows: InlineButton[][] = [];
  for (const row of asObjects(markup['rows']).map((r) => asObjects(r['buttons']))) {
    const kept: InlineButton[] = [];
    for (const button of row) {
      const label = buttonLabel(button);
      if (button._ === 'keyboardButtonUrl' && typeof button['url'] === 'string') {
        kept.push({ label, url: button['url'] });
      } else if (button._ === 'keyboardButtonCallback' && button['data'] instanceof Uint8Array && button['requires_password'] !== true) {
        if (button['data'].length > MAX_CALLBACK_DATA) return 'BUTTON_DATA_INVALID';
        kept.push({ label, data: Buffer.from(button['data']).toString('base64') });
      } else {
        return undefined;
      }
    }
    if (kept.length > 0) rows.push(kept);
  }
  return rows.length > 0 ? rows : undefined;
}

/** The keyboard as a ReplyMarkup. */
export function replyMarkupOf(keyboard: Keyboard): TlObject {
  if (keyboard.hide === true) return { _: 'replyKeyboardHide' };
  const reply = keyboard.reply;
  if (keyboard.forceReply === true) {
    return {
      _: 'replyKeyboardForceReply', ...(reply?.once === true ? { single_use: true } : {}),
      ...(reply?.selective === true ? { selective: true } : {}), ...(reply?.placeholder !== undefined ? { placeholder: reply.placeholder } : {}),
    };
  }
  if (reply !== undefined) {
    return {
      _: 'replyKeyboardMarkup',
      ...(reply.resize === true ? { resize: true } : {}), ...(reply.once === true ? { single_use: true } : {}),
      ...(reply.selective === true ? { selective: true } : {}), ...(reply.placeholder !== undefined ? { placeholder: reply.placeholder } : {}),
      rows: keyboard.rows.map((row) => ({ _: 'keyboardButtonRow', buttons: row.map((b) => ({ _: 'keyboardButton', text: b.label })) })),
    };
  }
  return {
    _: 'replyInlineMarkup',
    rows: keyboard.rows.map((row) => ({
      _: 'keyboardButtonRow',
      buttons: row.map((b) => (b.url !== undefined
        ? { _: 'keyboardButtonUrl', text: b.label, url: b.url }
        : { _: 'keyboardButtonCallback', text: b.label, data: new Uint8Array(Buffer.from(b.data ?? '', 'base64')) })),
    })),
  };
}

/** Whether the keyboard has a callback button with this data. */
export function hasCallback(keyboard: Keyboard | undefined, data: Uint8Array): boolean {
  const wanted = Buffer.from(data).toString('base64');
  return keyboard?.rows.some((row) => row.some((b) => b.data === wanted)) ?? false;
}

/**
 * Whether a text can end in button lines (buttons.ts): its last button is `[label]` or a link
 * label, so it ends with `]` or with a link span. Only such a bot's text is looked up in the
 * state, so a message without buttons costs no read (a false yes costs one read, never a miss).
 */
export function mayEndInButtons(text: string, spans: readonly Span[] | undefined): boolean {
  return text.endsWith(']') || (spans?.some((s) => s.type === 'link' && s.offset + s.length === text.length) ?? false);
}

const keyOf = (eventId: string): string => `kb:${eventId}`;

/** Keeps the keyboard of the event about to be published (for the writer to read). */
export async function keepKeyboard(state: StateStore, eventId: string, keyboard: Keyboard): Promise<void> {
  await state.set(keyOf(eventId), JSON.stringify(keyboard), KEEP_MS);
}

const KeptSchema = z.object({
  at: z.number().int().nonnegative(),
  rows: z.array(z.array(z.object({ label: z.string(), url: z.string().optional(), data: z.string().optional() }).strict())),
  reply: z.object({
    resize: z.literal(true).optional(), once: z.literal(true).optional(), selective: z.literal(true).optional(),
    to: z.string().regex(/^\d{1,20}$/).optional(), placeholder: z.string().max(MAX_PLACEHOLDER).optional(),
  }).strict().optional(),
  hide: z.literal(true).optional(),
  forceReply: z.literal(true).optional(),
}).strict()
  // An inline keyboard's buttons are links or callbacks; a reply keyboard's, labels.
  .refine((k) => k.reply !== undefined || k.rows.every((r) => r.every((b) => b.url !== undefined || b.data !== undefined)));

/** The keyboard kept for an event, if any (a value that does not parse: none). */
export async function keptKeyboard(state: StateStore, eventId: string): Promise<Keyboard | undefined> {
  return parseJsonAs(KeptSchema, await state.get(keyOf(eventId))) as Keyboard | undefined;
}
