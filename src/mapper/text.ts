/** Small text helpers of the mapper. Every length counts UTF-16 code units, like spans do. */

import { safeIndex } from '../core/text.ts';

export { safeIndex };

/** At most `max` units of `text`, never ending in half a surrogate pair; `…` marks a cut (and counts in max). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  return `${text.slice(0, safeIndex(text, max - 1))}…`;
}

/** The start of a message for a quote: one line (whitespace runs become one space), at most `max` units. */
export function preview(text: string, max: number): string {
  // Only the part that can show is collapsed: a quote of a 64 KiB message costs what its start costs.
  const head = text.length > max * 4 ? text.slice(0, safeIndex(text, max * 4)) : text;
  const flat = head.replace(/\s+/g, ' ').trim();
  if (head.length === text.length || flat.length > max) return truncate(flat, max);
  return `${flat.slice(0, safeIndex(flat, Math.min(flat.length, max - 1)))}…`;
}

/** A size as people read it: 512 B, 1.5 KB, 20 MB (powers of 1024, one decimal under 10). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${units[unit] ?? 'B'}`;
}
