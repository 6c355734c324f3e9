/** Text helpers every layer may use. Lengths count UTF-16 code units, like JS strings, spans and the canonical limits. */

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The largest index <= `at` that does not fall between the two halves of a surrogate pair. */
export function safeIndex(text: string, at: number): number {
  if (at <= 0) return 0;
  if (at >= text.length) return text.length;
  return isLowSurrogate(text.charCodeAt(at)) && isHighSurrogate(text.charCodeAt(at - 1)) ? at - 1 : at;
}

/**
 * At most `max` units of `text`, cut before a character that would not fit whole: a peer's text
 * held to a canonical limit never ends in half an emoji (which every encoder after would turn
 * into U+FFFD).
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, safeIndex(text, max));
}
