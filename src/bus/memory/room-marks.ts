import { marksKeptPerRoom, type DedupeRetention } from '../retention.ts';

/**
 * The memory driver's dedupe marks, with the redis driver's bounds (append-script.ts): per room, the
 * ids of its newest N + 1 events (retention.ts: an event's mark outlives N newer ones), all forgotten once the room has had no new event for
 * `dedupeSeconds`. Insertion order of a Map is append order, so the oldest go first.
 */
export class RoomMarks {
  private readonly rooms = new Map<string, { ids: Set<string>; lastAppendMs: number }>();
  private readonly perRoom: number;
  private readonly ttlMs: number;
  private appendsSincePrune = 0;

  constructor(retention: DedupeRetention) {
    this.perRoom = marksKeptPerRoom(retention);
    this.ttlMs = retention.dedupeSeconds * 1000;
  }

  /** Whether `id` was appended to `room` and is still remembered. */
  has(room: string, id: string, now: number): boolean {
    const marks = this.rooms.get(room);
    if (!marks) return false;
    if (now - marks.lastAppendMs >= this.ttlMs) {
      this.rooms.delete(room);
      return false;
    }
    return marks.ids.has(id);
  }

  /** Remembers `id` as appended to `room` now, forgetting the room's oldest ids past N. */
  add(room: string, id: string, now: number): void {
    let marks = this.rooms.get(room);
    if (!marks) this.rooms.set(room, marks = { ids: new Set(), lastAppendMs: now });
    marks.ids.add(id);
    marks.lastAppendMs = now;
    for (const old of marks.ids) {
      if (marks.ids.size <= this.perRoom) break;
      marks.ids.delete(old);
    }
    // Rooms that went quiet are dropped now and then, as Redis expires their keys.
    if (++this.appendsSincePrune >= 10_000) {
      this.appendsSincePrune = 0;
      for (const [name, m] of this.rooms) if (now - m.lastAppendMs >= this.ttlMs) this.rooms.delete(name);
    }
  }

  /** Marks kept in a room (for tests). */
  size(room: string): number {
    return this.rooms.get(room)?.ids.size ?? 0;
  }
}
