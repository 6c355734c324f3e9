import type { BusOptions } from './options.ts';

/** The part of the retention options the dedupe marks depend on. */
export type DedupeRetention = Pick<BusOptions['retention'], 'maxEventsPerRoom' | 'dedupeSeconds'>;

/**
 * Bounds on what the bus keeps besides the room streams, shared by both drivers so that they
 * forget the same things at the same time (docs/bus.md, "Retention" and "Sizing").
 */

/** Dedupe marks kept per room at most, whatever maxEventsPerRoom says: 10,000 marks are ~2 MB. */
export const DEDUPE_MARKS_CAP_PER_ROOM = 10_000;

/** Dead letters kept at most (the oldest go first); each holds one event and its reason. */
export const MAX_DEAD_LETTERS = 10_000;

/**
 * N: how many of a room's newest events have their ids remembered for de-duplication. An event id
 * published again is a duplicate as long as its room has received at most N newer events since,
 * and for at least `dedupeSeconds` after it was appended.
 */
export function dedupeMarksPerRoom(retention: DedupeRetention): number {
  return Math.min(retention.maxEventsPerRoom, DEDUPE_MARKS_CAP_PER_ROOM);
}

/** Marks a room keeps at least: the event itself and its N newer ones. */
export function marksKeptPerRoom(retention: DedupeRetention): number {
  return dedupeMarksPerRoom(retention) + 1;
}

/** How far past its bound a trimmed structure may grow before it is trimmed back (1%, amortising the trim). */
export function trimSlack(bound: number): number {
  return Math.max(1, Math.ceil(bound / 100));
}
