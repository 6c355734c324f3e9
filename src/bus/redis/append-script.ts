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
 * It also counts the other instances registered as fan-out followers (see RedisFanout): the
 * instance that routes may skip fan-out publishes while nobody else follows, and it is safe
 * because of where the count is taken: an instance registering after this script ran subscribes
 * and reads the stream after these events were appended, so its catch-up read has them.
 *
 * KEYS: per event, seen key, stream key, trimmed key; then the fan-out members key.
 * ARGV: jobId, dedupe ttl (s), maxlen, slack, now (ms), this instance's id, then per event its JSON.
 * Returns: per event, status ('n' new, 'r' re-processed, 'd' duplicate) and cursor ('' for 'd');
 * then how many other instances follow the fan-out.
 */
const APPEND_LUA = `
local jobId = ARGV[1]
local ttl = ARGV[2]
local maxlen = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local now = ARGV[5]
local self = ARGV[6]
local n = (#KEYS - 1) / 3
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
      cursor = redis.call('XADD', streamKey, '*', 'e', ARGV[6 + i])
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
local membersKey = KEYS[#KEYS]
local others = redis.call('ZCOUNT', membersKey, '(' .. now, '+inf')
local mine = redis.call('ZSCORE', membersKey, self)
if mine and tonumber(mine) > tonumber(now) then others = others - 1 end
out[2 * n + 1] = others
return out
`;

export type AppendOutcome =
  | { readonly status: 'new' | 'reprocessed'; readonly cursor: Cursor }
  | { readonly status: 'duplicate' };

export interface AppendResult {
  /** Per event, in order. */
  readonly outcomes: AppendOutcome[];
  /** Other instances registered as fan-out followers when the events were appended. */
  readonly otherFollowers: number;
}

interface AppendCommand {
  sbAppendBatch(numKeys: number, ...args: string[]): Promise<(string | number)[]>;
}

/** Registers the script on a connection (ioredis then calls it with EVALSHA, loading it on NOSCRIPT). */
export function defineAppendScript(redis: Redis): void {
  redis.defineCommand('sbAppendBatch', { lua: APPEND_LUA });
}

export async function appendBatch(redis: Redis, keys: BusKeys, instanceId: string, jobId: string, events: readonly CanonicalEvent[],
  retention: { maxEventsPerRoom: number; dedupeSeconds: number }): Promise<AppendResult> {
  if (events.length === 0) return { outcomes: [], otherFollowers: Number.POSITIVE_INFINITY };
  const keyArgs: string[] = [];
  for (const e of events) keyArgs.push(keys.seen(e.id), keys.stream(e.room), keys.trimmed(e.room));
  keyArgs.push(keys.fanoutMembers);
  const slack = Math.max(1, Math.ceil(retention.maxEventsPerRoom / 100));
  const argv = [jobId, String(retention.dedupeSeconds), String(retention.maxEventsPerRoom), String(slack), String(Date.now()), instanceId,
    ...events.map((e) => JSON.stringify(e))];
  const raw = await (redis as unknown as AppendCommand).sbAppendBatch(keyArgs.length, ...keyArgs, ...argv);
  const outcomes = events.map((_, i): AppendOutcome => {
    const status = raw[2 * i];
    const cursor = String(raw[2 * i + 1] ?? '');
    if (status === 'n') return { status: 'new', cursor };
    if (status === 'r') return { status: 'reprocessed', cursor };
    return { status: 'duplicate' };
  });
  const others = Number(raw[2 * events.length]);
  return { outcomes, otherFollowers: Number.isFinite(others) ? others : Number.POSITIVE_INFINITY };
}
