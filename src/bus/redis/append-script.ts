import type { Redis } from 'ioredis';
import type { CanonicalEvent } from '../../core/event.ts';
import type { Cursor } from '../types.ts';
import type { BusKeys } from './keys.ts';

/**
 * Appends one ingress batch to the room streams in ONE round trip, atomically.
 *
 * Per event: `SET seen:<id> "<cursor>|<jobId>" NX` decides. Already seen from another job: a
 * duplicate, skipped. Seen from THIS job (the chunk's id), or from the ingress job the event
 * itself came in (it was appended when published: see "if free" below): we are re-processing
 * after a crash or a hand-over, so the event is already in the stream and its cursor is reused
 * (the deliveries are re-enqueued under the same job ids, which BullMQ ignores if they exist).
 * The same id twice inside one batch counts once.
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
 * "If free" (routing at publish, RedisBus.publishAndRoute): run in the same MULTI right after the
 * ingress job was added, it appends only when every other ingress job waiting or active (at most 8
 * of each) was itself appended at publish (marked `routed-at-publish:<job id>`, set here, for 10 s:
 * a job waiting longer, its router being away, then defers the next ones, which is the safe way):
 * then every event published before is in the stream already and the router is appending nothing,
 * so appending now keeps the stream in queue order. Otherwise it does nothing and answers 'deferred'.
 *
 * KEYS: per event, seen key, stream key, trimmed key; then the fan-out members key; if free: then
 *   the ingress wait list, its active list and the ingress job's own key (it must exist).
 * ARGV: chunk id, dedupe ttl (s), maxlen, slack, now (ms), this instance's id, event count n,
 *   mode ('plain' | 'if-free'), the marker key prefix, then per event its JSON, then per event its
 *   ingress job id.
 * Returns: 'deferred'; or per event, status ('n' new, 'r' re-processed, 'd' duplicate) and cursor
 *   ('' for 'd'), then how many other instances follow the fan-out.
 */
const APPEND_LUA = `
local jobId = ARGV[1]
local ttl = ARGV[2]
local maxlen = tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local now = ARGV[5]
local self = ARGV[6]
local n = tonumber(ARGV[7])
local marker = ARGV[9]
if ARGV[8] == 'if-free' then
  if redis.call('EXISTS', KEYS[3 * n + 4]) == 0 then return 'deferred' end -- its add failed: nothing was accepted
  for _, list in ipairs({ KEYS[3 * n + 2], KEYS[3 * n + 3] }) do
    local ids = redis.call('LRANGE', list, 0, 8)
    if #ids > 8 then return 'deferred' end
    for _, id in ipairs(ids) do
      if id ~= jobId and redis.call('EXISTS', marker .. id) == 0 then return 'deferred' end
    end
  end
  redis.call('SET', marker .. jobId, '1', 'EX', 10)
end
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
      local owner = sep and string.sub(prev, sep + 1)
      if owner and (owner == jobId or owner == ARGV[9 + n + i]) then
        status = 'r'
        cursor = string.sub(prev, 1, sep - 1)
      end
    else
      cursor = redis.call('XADD', streamKey, '*', 'e', ARGV[9 + i])
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
local membersKey = KEYS[3 * n + 1]
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

export interface AppendRequest {
  /** Owns the dedupe marks of these events (a chunk of a routing pass, or an ingress job). */
  readonly chunkId: string;
  readonly events: readonly CanonicalEvent[];
  /** Per event, the ingress job it came in. */
  readonly ingressJobIds: readonly string[];
  readonly instanceId: string;
  readonly retention: { maxEventsPerRoom: number; dedupeSeconds: number };
  /** Append only if every other ingress job waiting or active was appended at publish (see the script). */
  readonly ifFree?: { readonly waitList: string; readonly activeList: string; readonly jobKey: string };
}

interface AppendCommand {
  sbAppendBatch(numKeys: number, ...args: string[]): Promise<unknown>;
}

/** Registers the script on a connection (ioredis then calls it with EVALSHA, loading it on NOSCRIPT). */
export function defineAppendScript(redis: Redis): void {
  redis.defineCommand('sbAppendBatch', { lua: APPEND_LUA });
}

/** The script's arguments: how many keys, then keys and argv. */
export function appendArgs(keys: BusKeys, req: AppendRequest): [number, ...string[]] {
  const keyArgs: string[] = [];
  for (const e of req.events) keyArgs.push(keys.seen(e.id), keys.stream(e.room), keys.trimmed(e.room));
  keyArgs.push(keys.fanoutMembers);
  if (req.ifFree) keyArgs.push(req.ifFree.waitList, req.ifFree.activeList, req.ifFree.jobKey);
  const { maxEventsPerRoom, dedupeSeconds } = req.retention;
  const slack = Math.max(1, Math.ceil(maxEventsPerRoom / 100));
  return [keyArgs.length, ...keyArgs, req.chunkId, String(dedupeSeconds), String(maxEventsPerRoom), String(slack), String(Date.now()),
    req.instanceId, String(req.events.length), req.ifFree ? 'if-free' : 'plain', keys.routedAtPublish(''),
    ...req.events.map((e) => JSON.stringify(e)), ...req.ingressJobIds];
}

/** Reads the script's answer for `count` events. */
export function parseAppendReply(raw: unknown, count: number): AppendResult | 'deferred' {
  if (raw === 'deferred') return 'deferred';
  if (!Array.isArray(raw)) throw new Error(`unexpected answer from the append script: ${String(raw).slice(0, 100)}`);
  const outcomes = Array.from({ length: count }, (_, i): AppendOutcome => {
    const status: unknown = raw[2 * i];
    const cursor = String(raw[2 * i + 1] ?? '');
    if (status === 'n') return { status: 'new', cursor };
    if (status === 'r') return { status: 'reprocessed', cursor };
    return { status: 'duplicate' };
  });
  const others = Number(raw[2 * count]);
  return { outcomes, otherFollowers: Number.isFinite(others) ? others : Number.POSITIVE_INFINITY };
}

export async function appendBatch(redis: Redis, keys: BusKeys, req: AppendRequest): Promise<AppendResult> {
  if (req.events.length === 0) return { outcomes: [], otherFollowers: Number.POSITIVE_INFINITY };
  const [numKeys, ...args] = appendArgs(keys, { ...req, ifFree: undefined });
  const result = parseAppendReply(await (redis as unknown as AppendCommand).sbAppendBatch(numKeys, ...args), req.events.length);
  if (result === 'deferred') throw new Error('the append script deferred a plain append');
  return result;
}
