import type { Redis } from 'ioredis';
import type { CanonicalEvent } from '../../core/event.ts';
import type { Cursor } from '../types.ts';
import type { BusKeys } from './keys.ts';

/**
 * Appends one ingress batch to the room streams in ONE round trip, atomically.
 *
 * Per event: `SET seen:<id> "<cursor>|<jobId>" NX` decides. Already seen from another job: a
 * duplicate, skipped. Seen from THIS job: we are re-processing a job after a crash, so the event is
 * already in the stream and its cursor is reused (the deliveries are re-enqueued under the same job
 * ids, which BullMQ ignores if they exist). The same id twice inside one batch counts once.
 *
 * Trimming: retention is kept by exact `XTRIM MINID` in blocks of ~1% (cheap, amortised), and the
 * last trimmed id is stored in `trimmed:<room>`: Redis 7.0 does not record what MAXLEN trimming
 * removed, and readers need it to say whether they missed events.
 *
 * KEYS: per event, seen key, stream key, trimmed key.
 * ARGV: jobId, dedupe ttl (s), maxlen, slack, then per event its JSON.
 * Returns: per event, status ('n' new, 'r' re-processed, 'd' duplicate) and cursor ('' for 'd').
 */
const APPEND_LUA = `
local jobId = ARGV[1]
local ttl = ARGV[2]
local maxlen = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local n = #KEYS / 3
local out = {}
local inBatch = {}
local touched = {}
for i = 1, n do
  local seenKey = KEYS[3 * i - 2]
  local streamKey = KEYS[3 * i - 1]
  local status = 'd'
  local cursor = ''
  if not inBatch[seenKey] then
    inBatch[seenKey] = true
    local prev = redis.call('GET', seenKey)
    if prev then
      local sep = string.find(prev, '|', 1, true)
      if sep and string.sub(prev, sep + 1) == jobId then
        status = 'r'
        cursor = string.sub(prev, 1, sep - 1)
      end
    else
      cursor = redis.call('XADD', streamKey, '*', 'e', ARGV[4 + i])
      redis.call('SET', seenKey, cursor .. '|' .. jobId, 'EX', ttl)
      status = 'n'
      touched[streamKey] = KEYS[3 * i]
    end
  end
  out[2 * i - 1] = status
  out[2 * i] = cursor
end
for streamKey, trimmedKey in pairs(touched) do
  local len = redis.call('XLEN', streamKey)
  if len > maxlen + slack then
    local excess = len - maxlen
    local head = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', excess + 1)
    redis.call('XTRIM', streamKey, 'MINID', head[excess + 1][1])
    redis.call('SET', trimmedKey, head[excess][1])
  end
end
return out
`;

export type AppendOutcome =
  | { readonly status: 'new' | 'reprocessed'; readonly cursor: Cursor }
  | { readonly status: 'duplicate' };

interface AppendCommand {
  sbAppendBatch(numKeys: number, ...args: string[]): Promise<string[]>;
}

/** Registers the script on a connection (ioredis then calls it with EVALSHA, loading it on NOSCRIPT). */
export function defineAppendScript(redis: Redis): void {
  redis.defineCommand('sbAppendBatch', { lua: APPEND_LUA });
}

export async function appendBatch(redis: Redis, keys: BusKeys, jobId: string, events: readonly CanonicalEvent[],
  retention: { maxEventsPerRoom: number; dedupeSeconds: number }): Promise<AppendOutcome[]> {
  if (events.length === 0) return [];
  const keyArgs: string[] = [];
  for (const e of events) keyArgs.push(keys.seen(e.id), keys.stream(e.room), keys.trimmed(e.room));
  const slack = Math.max(1, Math.ceil(retention.maxEventsPerRoom / 100));
  const argv = [jobId, String(retention.dedupeSeconds), String(retention.maxEventsPerRoom), String(slack), ...events.map((e) => JSON.stringify(e))];
  const raw = await (redis as unknown as AppendCommand).sbAppendBatch(keyArgs.length, ...keyArgs, ...argv);
  return events.map((_, i) => {
    const status = raw[2 * i];
    const cursor = raw[2 * i + 1] ?? '';
    if (status === 'n') return { status: 'new', cursor };
    if (status === 'r') return { status: 'reprocessed', cursor };
    return { status: 'duplicate' };
  });
}
