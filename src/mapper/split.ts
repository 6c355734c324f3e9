import { sliceSpans, type FormattedText } from './formatting.ts';
import { safeIndex } from './text.ts';

/** How far back from the limit a split looks for a better place (a line end, a space). */
const LOOKBACK = 256;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits a text longer than `max` UTF-16 units into parts of at most `max`, whose concatenation
 * is the text: nothing is lost (the guarantee "nothing silently dropped" rules out cutting a
 * message short). Each cut is at a grapheme boundary (never inside a surrogate pair, an emoji
 * sequence or a letter with its combining marks), preferably after a line end, else after a space,
 * in the last part of the allowed length. Only a single grapheme longer than `max` is cut inside,
 * and then still between code points. Spans are split with the text.
 */
export function splitText(input: FormattedText, max: number): FormattedText[] {
  const { text, spans } = input;
  if (text.length <= max) return [input];
  const limit = Math.max(2, max); // a surrogate pair needs 2
  const parts: FormattedText[] = [];
  let start = 0;
  while (text.length - start > limit) {
    const cut = cutPoint(text, start, start + limit);
    parts.push({ text: text.slice(start, cut), spans: sliceSpans(spans, start, cut) });
    start = cut;
  }
  parts.push({ text: text.slice(start), spans: sliceSpans(spans, start, text.length) });
  return parts;
}

function cutPoint(text: string, start: number, end: number): number {
  const from = Math.max(start, end - LOOKBACK);
  const boundaries: number[] = [];
  // Segmenting one unit past the limit tells whether the limit itself is a boundary.
  for (const { index } of graphemes.segment(text.slice(from, end + 1))) {
    const at = from + index;
    if (at > start && at <= end) boundaries.push(at);
  }
  const half = start + Math.floor((end - start) / 2);
  const after = (test: RegExp): number | undefined => {
    for (let i = boundaries.length - 1; i >= 0; i--) {
      const at = boundaries[i] ?? 0;
      if (at < half) break;
      if (test.test(text.charAt(at - 1))) return at;
    }
    return undefined;
  };
  const best = after(/\n/) ?? after(/\s/) ?? boundaries[boundaries.length - 1];
  if (best !== undefined && best > start) return best;
  // One grapheme longer than the limit (a letter with hundreds of combining marks): cut between code points.
  const cut = safeIndex(text, end);
  return cut > start ? cut : start + 2;
}
