import type { Redis } from 'ioredis';
import type { CanonicalEvent } from '../../core/event.ts';
import { marksKeptPerRoom, trimSlack, type DedupeRetention } from '../retention.ts';
import type { Cursor } from '../types.ts';
import type { BusKeys } from './keys.ts';
import { UNFINISHED_JOBS_LUA } from './bullmq-adapter.ts';

/**
 * Appends one routing chunk to the room streams in ONE round trip, atomically, de-duplicating by
 * event id per room.
 *
 * Dedupe marks: per room, a hash `marks:<room>` (event id -> "<cursor>|<ingress job id>") and a
 * list `marks-order:<room>` of the same ids, oldest first. An id found in the hash was appended
 * before: by ANOTHER ingress job, it is a duplicate and skipped; by THE SAME ingress job, we are
 * re-processing that job (after a crash, a hand-back, or a routing at publish that failed half
 * way), so the event is in the stream already and its cursor is reused. The same id twice in one
 * call counts once. Bounds (both drivers alike, see retention.ts): a room keeps the marks of its
 * newest N + 1 events (so an event's mark outlives N newer ones; trimmed in blocks of ~1%), and both keys expire `dedupeSeconds` after the room's
 * last append. If the two keys ever disagree (a key deleted by hand), the hash is still bounded:
 * past twice its bound both keys are dropped.
 *
 * Stream trimming: exact `XTRIM MINID` in blocks of ~1% (cheap, amortised), and the last trimmed id
 * is stored in `trimmed:<room>`: Redis 7.0 does not record what MAXLEN trimming removed, and
 * readers need it to say whether they missed events.
 *
 * It also counts the other instances registered as fan-out followers (see RedisFanout): the
 * instance that routes may skip fan-out publishes while nobody else follows, and it is safe
 * because of where the count is taken: an instance registering after this script ran subscribes
 * and reads the stream after these events were appended, so its catch-up read has them.
 *
 * "If free" (routing at publish, route-at-publish.ts) runs IF_FREE_LUA first, in the same script:
 * right after the publishing process added the ingress job, it appends only when every other
 * ingress job not finished yet (waiting or active, at most 8 of each) was itself appended at
 * publish (its id is in the sorted set `routed-at-publish`, scored by when, and less than 10 s ago;
 * the set keeps its newest 64): then every event accepted before is in the stream already and the
 * router is appending nothing, so appending now keeps the stream in queue order. It also requires
 * the job's own hash to exist (its add landed). Otherwise it appends nothing and answers 'deferred'.
 *
 * KEYS: per room, its stream, trimmed, marks and marks-order keys; then the fan-out members key;
 *   if free, then: the ingress wait list, its active list, the job's own hash, the routed-at-publish set.
 * ARGV: dedupe ttl (s), maxlen, slack, marks max, marks slack, now (ms), this instance's id,
 *   room count, event count n, then per event: its room's index (1-based), id, JSON, ingress job id;
 *   if free, then: the job's id.
 * Returns: per event, status ('n' new, 'r' re-processed, 'd' duplicate) and cursor ('' for 'd'),
 *   then how many other instances follow the fan-out.
 */
const APPEND_LUA = `
local ttl = ARGV[1]
local maxlen = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local marksMax = tonumber(ARGV[4])
local marksSlack = tonumber(ARGV[5])
local now = ARGV[6]
local self = ARGV[7]
local rooms = tonumber(ARGV[8])
local n = tonumber(ARGV[9])
local out = {}
local inCall = {}
local touched = {}
for i = 1, n do
  local at = 9 + 4 * (i - 1)
  local r = tonumber(ARGV[at + 1])
  local id = ARGV[at + 2]
  local job = ARGV[at + 4]
  local marks = KEYS[4 * r - 1]
  local status = 'd'
  local cursor = ''
  local seenKey = r .. ' ' .. id
  if not inCall[seenKey] then
    inCall[seenKey] = true
    local prev = redis.call('HGET', marks, id)
    if prev then
      local sep = string.find(prev, '|', 1, true)
      if sep and string.sub(prev, sep + 1) == job then
        status = 'r'
        cursor = string.sub(prev, 1, sep - 1)
      end
    else
      cursor = redis.call('XADD', KEYS[4 * r - 3], '*', 'e', ARGV[at + 3])
      redis.call('HSET', marks, id, cursor .. '|' .. job)
      redis.call('RPUSH', KEYS[4 * r], id)
      status = 'n'
      touched[r] = true
    end
  end
  out[2 * i - 1] = status
  out[2 * i] = cursor
end
for r in pairs(touched) do
  local streamKey = KEYS[4 * r - 3]
  local len = redis.call('XLEN', streamKey)
  if len > maxlen + slack then
    local excess = len - maxlen
    local head = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', excess + 1)
    redis.call('XTRIM', streamKey, 'MINID', head[excess + 1][1])
    redis.call('SET', KEYS[4 * r - 2], head[excess][1])
  end
  local marks = KEYS[4 * r - 1]
  local order = KEYS[4 * r]
  if redis.call('HLEN', marks) > 2 * (marksMax + marksSlack) then
    redis.call('DEL', marks, order)
  else
    local marked = redis.call('LLEN', order)
    if marked > marksMax + marksSlack then
      local excess = marked - marksMax
      local ids = redis.call('LRANGE', order, 0, excess - 1)
      redis.call('LTRIM', order, excess, -1)
      for from = 1, #ids, 1000 do
        redis.call('HDEL', marks, unpack(ids, from, math.min(from + 999, #ids)))
      end
    end
    redis.call('EXPIRE', marks, ttl)
    redis.call('EXPIRE', order, ttl)
  end
end
local membersKey = KEYS[4 * rooms + 1]
local others = redis.call('ZCOUNT', membersKey, '(' .. now, '+inf')
local mine = redis.call('ZSCORE', membersKey, self)
if mine and tonumber(mine) > tonumber(now) then others = others - 1 end
out[2 * n + 1] = others
return out
`;

/** The "if free" check (see above), run before APPEND_LUA in one script. Times are Redis' own (TIME). */
const IF_FREE_LUA = `
do
  local nk = #KEYS
  local waitKey, activeKey, jobKey, markedKey = KEYS[nk - 3], KEYS[nk - 2], KEYS[nk - 1], KEYS[nk]
  local own = ARGV[#ARGV]
  if not bullmqJobExists(jobKey) then return 'deferred' end
  local unfinished = bullmqUnfinished(waitKey, activeKey, 8)
  if not unfinished then return 'deferred' end
  local time = redis.call('TIME')
  local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  for _, id in ipairs(unfinished) do
    if id ~= own then
      local at = redis.call('ZSCORE', markedKey, id)
      if not at or tonumber(at) < nowMs - 10000 then return 'deferred' end
    end
  end
  redis.call('ZADD', markedKey, nowMs, own)
  redis.call('ZREMRANGEBYRANK', markedKey, 0, -65)
end
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
  readonly events: readonly CanonicalEvent[];
  /** Per event, the ingress job it came in: it owns the event's dedupe mark (a re-run of that job is not a duplicate). */
  readonly ingressJobIds: readonly string[];
  readonly instanceId: string;
  readonly retention: DedupeRetention;
}

/** What routing at publish adds to an append (see IF_FREE_LUA). */
export interface IfFree {
  readonly jobId: string;
  readonly waitList: string;
  readonly activeList: string;
  /** The job's own hash (it must exist: its add landed). */
  readonly jobKey: string;
}

interface AppendCommands {
  sbAppendBatch(numKeys: number, ...args: string[]): Promise<unknown>;
  sbAppendIfFree(numKeys: number, ...args: string[]): Promise<unknown>;
}

/** Registers the scripts on a connection (ioredis then calls them with EVALSHA, loading them on NOSCRIPT). */
export function defineAppendScript(redis: Redis): void {
  redis.defineCommand('sbAppendBatch', { lua: APPEND_LUA });
  redis.defineCommand('sbAppendIfFree', { lua: UNFINISHED_JOBS_LUA + IF_FREE_LUA + APPEND_LUA });
}

/** The script's arguments: how many keys, then keys and argv. */
export function appendArgs(keys: BusKeys, req: AppendRequest): [number, ...string[]] {
  const roomIndex = new Map<string, number>();
  const keyArgs: string[] = [];
  const perEvent: string[] = [];
  req.events.forEach((e, i) => {
    let r = roomIndex.get(e.room);
    if (r === undefined) {
      r = roomIndex.size + 1;
      roomIndex.set(e.room, r);
      keyArgs.push(keys.stream(e.room), keys.trimmed(e.room), keys.marks(e.room), keys.marksOrder(e.room));
    }
    perEvent.push(String(r), e.id, JSON.stringify(e), req.ingressJobIds[i] ?? '');
  });
  keyArgs.push(keys.fanoutMembers);
  const { maxEventsPerRoom, dedupeSeconds } = req.retention;
  const marksMax = marksKeptPerRoom(req.retention);
  return [keyArgs.length, ...keyArgs, String(dedupeSeconds), String(maxEventsPerRoom), String(trimSlack(maxEventsPerRoom)),
    String(marksMax), String(trimSlack(marksMax)), String(Date.now()), req.instanceId, String(roomIndex.size), String(req.events.length),
    ...perEvent];
}

/** Reads the script's answer for `count` events. */
export function parseAppendReply(raw: unknown, count: number): AppendResult {
  if (raw === 'deferred') throw new Error('the append script deferred');
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
  const [numKeys, ...args] = appendArgs(keys, req);
  return parseAppendReply(await (redis as unknown as AppendCommands).sbAppendBatch(numKeys, ...args), req.events.length);
}

/**
 * The append "if free" (routing at publish). Sends the script at once (so that it runs right behind
 * a command sent just before it on the same connection), and answers 'deferred' when it did nothing.
 */
export function appendIfFree(redis: Redis, keys: BusKeys, req: AppendRequest, ifFree: IfFree): Promise<AppendResult | 'deferred'> {
  const [numKeys, ...args] = appendArgs(keys, req);
  const extraKeys = [ifFree.waitList, ifFree.activeList, ifFree.jobKey, keys.routedAtPublish];
  const keyArgs = args.slice(0, numKeys);
  const argv = args.slice(numKeys);
  return (redis as unknown as AppendCommands).sbAppendIfFree(numKeys + extraKeys.length, ...keyArgs, ...extraKeys, ...argv, ifFree.jobId)
    .then((raw) => (raw === 'deferred' ? 'deferred' : parseAppendReply(raw, req.events.length)));
}
