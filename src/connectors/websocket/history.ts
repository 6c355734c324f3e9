import type { Bus, StreamEntry } from '../../bus/types.ts';
import type { Cursor } from '../../core/endpoint.ts';

/**
 * A page of a room's history, read backwards (the `history` frame, docs/websocket-protocol.md):
 * what a chat client shows when it opens a room ("the last 50") and when the user scrolls up.
 * `join` with `since` replays forwards from a cursor the client holds; this reads from the newest
 * (or from `before`) towards the oldest, so a client needs no cursor and no whole replay.
 */

/** Most events in one answer (and the default a client gets without `limit`). */
export const HISTORY_MAX_EVENTS = 100;
export const HISTORY_DEFAULT_EVENTS = 50;
/** The most an answer holds in bytes (with at least one event; the connector also keeps it within half of maxBufferedBytes). */
export const HISTORY_MAX_BYTES = 1024 * 1024;
/**
 * Most stream entries one request reads. Entries not shown to this WS room (a send-only room's
 * other endpoints, say) are skipped, so a page may hold fewer events than asked: `before` then
 * says where to go on. Bounds the work one frame can cause.
 */
export const HISTORY_MAX_SCANNED = 1_000;
const READ_PAGE = 200;

export interface HistoryPage {
  /** Oldest first, as a replay would send them. */
  readonly entries: readonly StreamEntry[];
  /** Where the next older page starts (its `before`), or null: the oldest retained event was reached. */
  readonly before: Cursor | null;
}

export interface HistoryOptions {
  readonly limit: number;
  /** The answer's budget in bytes: events are added (newest first) while they fit; always at least one. */
  readonly maxBytes: number;
  /** Whether this reader is shown the event: what live delivery would have sent it. */
  readonly shown: (entry: StreamEntry) => boolean;
  /** The bytes an event takes in the answer. */
  readonly sizeOf: (entry: StreamEntry) => number;
}

export async function readHistory(bus: Bus, room: string, before: Cursor | undefined, options: HistoryOptions): Promise<HistoryPage> {
  const found: StreamEntry[] = [];
  let bytes = 0;
  let position = before;
  let scanned = 0;
  for (;;) {
    const page = await bus.readStreamBefore(room, position, READ_PAGE);
    for (let i = page.length - 1; i >= 0; i--) {
      const entry = page[i] as StreamEntry;
      if (options.shown(entry)) {
        const size = options.sizeOf(entry);
        // Full: this event starts the next page.
        if (found.length > 0 && bytes + size > options.maxBytes) return { entries: found.reverse(), before: position ?? null };
        found.push(entry);
        bytes += size;
      }
      position = entry.cursor;
      scanned++;
      if (found.length >= options.limit || scanned >= HISTORY_MAX_SCANNED) {
        // Done with this page; more may be older, unless this was the stream's first entry.
        const more = i > 0 || page.length === READ_PAGE;
        return { entries: found.reverse(), before: more ? position : null };
      }
    }
    if (page.length < READ_PAGE) return { entries: found.reverse(), before: null };
  }
}
