import type { Redis } from 'ioredis';
import { validateEvent } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import { compareCursors, type Cursor, type StreamEntry, type StreamRead } from '../types.ts';
import type { BusKeys } from './keys.ts';
import { checkCursor } from '../check-cursor.ts';

/** A raw XRANGE/XREAD entry: [id, [field, value, ...]]. */
type RawEntry = [id: string, fields: string[]];

/** Turns raw stream entries into StreamEntry[]; an entry that no longer parses is logged and skipped, never thrown at a reader. */
export function toEntries(raw: readonly RawEntry[], logger: Logger): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [cursor, fields] of raw) {
    const at = fields.indexOf('e');
    const json = at >= 0 ? fields[at + 1] : undefined;
    let parsed: unknown;
    try {
      parsed = json === undefined ? undefined : JSON.parse(json);
    } catch {
      parsed = undefined;
    }
    const r = validateEvent(parsed);
    if (r.ok) out.push({ cursor, event: r.event });
    else logger.error({ cursor, reason: r.ok ? undefined : r.error }, 'unreadable stream entry skipped');
  }
  return out;
}

/** XRANGE after `since` (exclusive) plus the trimmed-through mark, in one round trip. */
export async function readStream(redis: Redis, keys: BusKeys, room: string, since: Cursor | undefined, limit: number, logger: Logger): Promise<StreamRead> {
  checkCursor(since);
  if (limit <= 0) return { entries: [], truncated: false };
  const results = await redis.multi()
    .xrange(keys.stream(room), since === undefined ? '-' : `(${since}`, '+', 'COUNT', limit)
    .get(keys.trimmed(room))
    .exec();
  if (!results) throw new Error('stream read aborted');
  const [rangeResult, trimmedResult] = results;
  if (rangeResult?.[0]) throw rangeResult[0];
  if (trimmedResult?.[0]) throw trimmedResult[0];
  const raw = (rangeResult?.[1] ?? []) as RawEntry[];
  const trimmed = trimmedResult?.[1];
  const truncated = since !== undefined && typeof trimmed === 'string' && compareCursors(since, trimmed) < 0;
  return { entries: toEntries(raw, logger), truncated };
}

/** XREVRANGE before `before` (exclusive), turned oldest first. */
export async function readStreamBefore(redis: Redis, keys: BusKeys, room: string, before: Cursor | undefined, limit: number, logger: Logger): Promise<StreamEntry[]> {
  checkCursor(before);
  if (limit <= 0) return [];
  const raw = (await redis.xrevrange(keys.stream(room), before === undefined ? '+' : `(${before}`, '-', 'COUNT', limit)) as RawEntry[];
  return toEntries(raw.reverse(), logger);
}

export async function latestCursor(redis: Redis, keys: BusKeys, room: string): Promise<Cursor | undefined> {
  const raw = (await redis.xrevrange(keys.stream(room), '+', '-', 'COUNT', 1)) as RawEntry[];
  return raw[0]?.[0];
}

/**
 * Follows one room: XREAD BLOCK from the position on its own connection (a blocked connection can
 * serve nobody else). Replay and live are the same loop: XREAD returns at once while entries are
 * retained after the position.
 */
export class StreamFollower {
  private stopped = false;
  private readonly conn: Redis;
  private readonly running: Promise<void>;

  constructor(redis: Redis, private readonly keys: BusKeys, private readonly room: string, since: Cursor | undefined,
    private readonly onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void, private readonly logger: Logger) {
    checkCursor(since);
    this.conn = redis.duplicate({ maxRetriesPerRequest: null });
    this.running = this.run(redis, since);
  }

  private async run(redis: Redis, since: Cursor | undefined): Promise<void> {
    let position: Cursor | undefined = since;
    while (!this.stopped) {
      try {
        position ??= (await latestCursor(redis, this.keys, this.room)) ?? '0-0';
        const reply = (await this.conn.xread('COUNT', 1000, 'BLOCK', 2000, 'STREAMS', this.keys.stream(this.room), position)) as [string, RawEntry[]][] | null;
        if (this.stopped) return;
        const raw = reply?.[0]?.[1] ?? [];
        const last = raw[raw.length - 1];
        if (!last) continue;
        position = last[0];
        const entries = toEntries(raw, this.logger);
        if (entries.length > 0) {
          try {
            await this.onEntries(entries);
          } catch (err) {
            this.logger.error({ err, room: this.room }, 'stream subscriber failed');
          }
        }
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn({ err, room: this.room }, 'stream follow failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.conn.disconnect(); // interrupts the blocked XREAD
    await this.running;
  }
}
