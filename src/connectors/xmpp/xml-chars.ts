/**
 * XML 1.0 (§2.2) allows only some characters in a document: no C0 controls but tab, newline and
 * carriage return, no U+FFFE or U+FFFF, no half of a surrogate pair. A server's parser that meets
 * one ends the whole stream (Prosody and ejabberd: `not-well-formed`), which for a component is
 * every room and puppet at once, and the retried delivery would end it again. Text from the other
 * networks may hold any of them (a bot's ANSI colours, a BEL, a lone surrogate in JSON), so every
 * outgoing stanza passes here last.
 *
 * Each such character becomes U+FFFD: one character for one, so the code point offsets a stanza
 * carries (XEP-0426 fallback ranges) still point where they did, and the reader sees that
 * something was there.
 */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every character XML 1.0 does not allow replaced by U+FFFD, and how many there were. */
export function xmlSafe(text: string): { text: string; replaced: number } {
  let replaced = 0;
  const safe = text.replace(NOT_XML, () => { replaced++; return '\ufffd'; });
  return { text: safe, replaced };
}
