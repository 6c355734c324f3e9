import type { Span } from '../core/event.ts';
import type { SpanType } from '../core/capabilities.ts';

export interface FormattedText {
  readonly text: string;
  readonly spans: readonly Span[];
}

export interface Degraded extends FormattedText {
  /** The span types that were removed (each once), for the metric. */
  readonly removed: readonly SpanType[];
}

interface Insertion {
  readonly at: number;
  readonly text: string;
  /**
   * Order among insertions at the same place, so the result does not depend on the order the
   * spans were listed in (networks list them differently): a link's URL closes the text before
   * it, so URLs come before a quote's line mark, and of two links ending there the inner one's
   * (the later start) comes first.
   */
  readonly rank: readonly [number, number, string];
}

/**
 * Removes the spans a target cannot render while keeping what they meant readable:
 * - `link`: the URL is written after the link text, in parentheses, when the text is not the URL;
 * - `quote`: each quoted line starts with `> ` (the plain-text quote every chat user reads);
 * - `mention`, `code`, `pre`, `bold`, `italic`, `strike`, `spoiler`: the text stays as it is (a
 *   mention's text is already the visible name; a spoiler is then shown, which is the one loss).
 * Kept spans move with the inserted text: a span around an insertion grows over it, a span after
 * it shifts, so every span still covers the same characters.
 */
export function degradeSpans(text: string, spans: readonly Span[], supported: readonly SpanType[]): Degraded {
  if (spans.every((s) => supported.includes(s.type))) return { text, spans, removed: [] };
  const kept: Span[] = [];
  const removed = new Set<SpanType>();
  const insertions: Insertion[] = [];
  for (const span of spans) {
    if (supported.includes(span.type)) { kept.push(span); continue; }
    removed.add(span.type);
    const end = span.offset + span.length;
    if (span.type === 'link' && span.url !== undefined && !sameLink(text.slice(span.offset, end), span.url)) {
      insertions.push({ at: end, text: ` (${span.url})`, rank: [0, -span.offset, span.url] });
    } else if (span.type === 'quote') {
      insertions.push({ at: span.offset, text: '> ', rank: [1, 0, ''] });
      for (let i = text.indexOf('\n', span.offset); i !== -1 && i + 1 < end; i = text.indexOf('\n', i + 1)) insertions.push({ at: i + 1, text: '> ', rank: [1, 0, ''] });
    }
  }
  if (insertions.length === 0) return { text, spans: kept, removed: [...removed] };
  insertions.sort((a, b) => a.at - b.at || a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || (a.rank[2] < b.rank[2] ? -1 : a.rank[2] > b.rank[2] ? 1 : 0));
  let out = '';
  let from = 0;
  for (const ins of insertions) {
    out += text.slice(from, ins.at) + ins.text;
    from = ins.at;
  }
  out += text.slice(from);
  // Inserted units before a position: at a span's start those AT the position count (the insertion
  // goes before the span), at its end they do not (it goes after the span).
  const shift = (pos: number, includeAt: boolean): number => {
    let n = 0;
    for (const ins of insertions) {
      if (ins.at < pos || (includeAt && ins.at === pos)) n += ins.text.length;
      else break;
    }
    return n;
  };
  const moved = kept.map((s) => {
    const start = s.offset + shift(s.offset, true);
    const end = s.offset + s.length + shift(s.offset + s.length, false);
    return { ...s, offset: start, length: end - start };
  }).filter((s) => s.length > 0);
  return { text: out, spans: moved, removed: [...removed] };
}

/** Whether a link's visible text already shows its URL (with or without the scheme or a trailing slash). */
function sameLink(visible: string, url: string): boolean {
  const bare = (s: string) => s.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/$/, '').toLowerCase();
  return bare(visible) === bare(url);
}

/** The spans restricted to [start, end) of the text, rebased to start (pieces of a split text). */
export function sliceSpans(spans: readonly Span[], start: number, end: number): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    const from = Math.max(s.offset, start);
    const to = Math.min(s.offset + s.length, end);
    if (to > from) out.push(from === s.offset && to === s.offset + s.length && start === 0 ? s : { ...s, offset: from - start, length: to - from });
  }
  return out;
}
