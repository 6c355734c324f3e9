import type { ByteRange } from './store.ts';

export type RangeRequest =
  /** No usable Range: send the whole representation (also for multiple ranges, RFC 9110 allows ignoring them). */
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  /** 416, with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

/**
 * One `bytes=` range of RFC 9110 §14.1.2 against a representation of `size` bytes: `a-b`, `a-`
 * or `-n` (the last n bytes). A malformed header is ignored (the whole file is sent), as the
 * RFC says a server may; a well-formed range that starts past the end is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'full' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'full' };
  if (first.length > 15 || last.length > 15) return { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' }; // invalid: ignore the header
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}
