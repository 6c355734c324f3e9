import type { Span } from '../core/event.ts';
import type { FormattedText } from './formatting.ts';

/**
 * The words of every fallback, in one place: what a reader on a network that cannot express a
 * thing sees instead. Short, plain, and recognisable in any client.
 */

/**
 * The line above a reply (or a correction) the target cannot thread: `Bob: did you see the…` as a
 * quote span where the target renders quotes, else the plain-text `> Bob: did you see the…`.
 */
export function quoteLine(name: string, preview: string, rendersQuotes: boolean): FormattedText {
  const line = `${name}: ${preview}`;
  return rendersQuotes
    ? { text: `${line}\n`, spans: [{ type: 'quote', offset: 0, length: line.length }] }
    : { text: `> ${line}\n`, spans: [] };
}

/** Above a reply whose original the mapper does not know (older than its cache, or from before a restart). */
export const UNKNOWN_ORIGINAL_LINE = '↪ in reply to an earlier message\n';

/** An edit where the target has no corrections: a new message saying so. */
export const CORRECTED_PREFIX = '✎ corrected: ';

/** A retraction where the target cannot retract. The text is deliberately not quoted: its sender wanted it gone. */
export const RETRACTED_NOTICE = '✗ deleted a message';

/** A room moderator's removal (its sender is the moderator) where the target cannot retract: who did it shows, and why. */
export function moderatedNotice(reason: string | undefined): string {
  return reason !== undefined ? `✗ removed a message as a moderator: ${reason}` : '✗ removed a message as a moderator';
}

/** A room's topic set, where the target shows no topic: who set it shows as the sender. */
export function topicNotice(topic: string): string {
  return topic === '' ? '✎ cleared the topic' : `✎ set the topic: ${topic}`;
}

/** `reacted 👍 to "did you see…"` where the target has no reactions. */
export function reactionText(reactions: readonly string[], preview: string | undefined): string {
  const what = reactions.join(' ');
  return preview === undefined ? `reacted ${what} to an earlier message` : `reacted ${what} to "${preview}"`;
}

/** Puts a prefix before a formatted text, moving the text's spans after it. */
export function withPrefix(body: FormattedText, prefix: FormattedText): FormattedText {
  if (prefix.text === '') return body;
  const shift = prefix.text.length;
  const spans: Span[] = [...prefix.spans, ...body.spans.map((s) => ({ ...s, offset: s.offset + shift }))];
  return { text: prefix.text + body.text, spans };
}

/** Plain text as a formatted text. */
export function plain(text: string): FormattedText {
  return { text, spans: [] };
}
