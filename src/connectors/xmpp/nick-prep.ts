import { L_CAT, RAND_AL, REFUSED } from './stringprep-tables.ts';

/**
 * MUC nicks that servers on stringprep accept. Prosody and ejabberd prepare a nick with
 * resourceprep (RFC 3920 Appendix B, on Unicode 3.2), and Prosody's MUC refuses one that does not
 * pass it strictly (`jid-malformed`, "Nickname must pass strict validation"): every character
 * added to Unicode after 3.2 (all emoji since 2010: "Anna 🌸"), private-use characters, bidi
 * controls, and a name mixing right-to-left and left-to-right letters ("Dana דנה"). A puppet
 * refused its nick cannot speak in the room at all, so its nick is made acceptable here, keeping
 * as much of the display name as the rules allow.
 */

/** Whether `cp` lies in a table of sorted [first, last] pairs (flattened). */
function inTable(table: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = table.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < table[2 * mid]!) hi = mid - 1;
    else if (cp > table[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const codePoint = (ch: string): number => ch.codePointAt(0)!;
const isRandAL = (ch: string): boolean => inTable(RAND_AL, codePoint(ch));
const isL = (ch: string): boolean => inTable(L_CAT, codePoint(ch));

/** The characters of `s` resourceprep keeps, spaces of every kind as one ASCII space. */
function keepAccepted(s: string): string {
  return Array.from(s.replace(/\p{White_Space}+/gu, ' ')).filter((ch) => !inTable(REFUSED, codePoint(ch))).join('');
}

/**
 * RFC 3454 §6: a string with right-to-left letters may hold no left-to-right letter and must
 * begin and end with a right-to-left one. The direction of the name's first letter wins: the
 * letters of the other direction go, and a right-to-left name loses what stands before its first
 * and after its last right-to-left letter.
 */
function bidiAccepted(s: string): string {
  const chars = Array.from(s);
  if (!chars.some(isRandAL)) return s;
  const first = chars.find((ch) => isRandAL(ch) || isL(ch));
  if (first !== undefined && isL(first)) return chars.filter((ch) => !isRandAL(ch)).join('');
  const kept = chars.filter((ch) => !isL(ch));
  let start = 0;
  let end = kept.length;
  while (start < end && !isRandAL(kept[start]!)) start++;
  while (end > start && !isRandAL(kept[end - 1]!)) end--;
  return kept.slice(start, end).join('');
}

/** Whether a nick holds right-to-left letters: nothing may then follow its last one (see bidiAccepted). */
export function isRightToLeft(nick: string): boolean {
  return Array.from(nick).some(isRandAL);
}

/**
 * `name` as a nick a strict resourceprep accepts unchanged (so the room's copy of it is the same
 * string), at most `maxChars` code points: NFKC, refused characters dropped, spaces collapsed,
 * the bidi rule kept. '' when nothing of it is left (a name of emoji only).
 */
export function acceptedNick(name: string, maxChars: number): string {
  const prepared = keepAccepted(keepAccepted(name).normalize('NFKC'));
  const chars = Array.from(prepared.replace(/ {2,}/g, ' ').trim());
  const bounded = chars.length > maxChars ? chars.slice(0, maxChars).join('') : chars.join('');
  return bidiAccepted(bounded.trim()).replace(/ {2,}/g, ' ').trim();
}

/** The plainest form of a nick, for a server that still refuses it: ASCII letters, digits, space, `.`, `_`, `-`; '' if none. */
export function asciiNick(nick: string): string {
  return nick.normalize('NFKD').replace(/[^A-Za-z0-9 ._-]/g, '').replace(/ {2,}/g, ' ').trim();
}
