import type { Redis } from 'ioredis';
import type { EventId } from '../../core/ids.ts';
import { endpointKey, type Endpoint } from '../../core/endpoint.ts';
import type { IdMap, LeaseCallbacks, LeaseHandle, StateStore, Transaction } from '../types.ts';
import type { TransactionClaim, TransactionLog } from '../services/publish-once.ts';
import { MAX_STATE_KEY_CHARS, MAX_STATE_VALUE_CHARS } from '../memory/state-store.ts';
import { Lease } from './lease.ts';
import { claimAll, defineClaimScript, type ClaimBatcher } from './claim-batcher.ts';

// Both structures below are bounded per room / endpoint by count AND kept only for a window: a
// hash (the lookup) beside a sorted set (insertion order, score = ms) that says what to forget.

/**
 * KEYS: canonical->native hash, native->canonical hash, order zset. ARGV: id, native id, now, cap.
 */
const LINK_ID_LUA = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous and redis.call('HGET', KEYS[2], previous) == ARGV[1] then redis.call('HDEL', KEYS[2], previous) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if over > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, over - 1)) do
    local native = redis.call('HGET', KEYS[1], m)
    redis.call('HDEL', KEYS[1], m)
    if native and redis.call('HGET', KEYS[2], native) == m then redis.call('HDEL', KEYS[2], native) end
    redis.call('ZREM', KEYS[3], m)
  end
end
return 1
`;

interface ServiceCommands {
  sbLinkId(numKeys: number, ...args: string[]): Promise<number>;
}

function commands(redis: Redis): ServiceCommands {
  return redis as unknown as ServiceCommands;
}

/** Registers the scripts on a connection (ioredis runs them with EVALSHA). */
export function defineServiceScripts(redis: Redis): void {
  defineClaimScript(redis);
  redis.defineCommand('sbLinkId', { lua: LINK_ID_LUA });
}

export class RedisTransactionLog implements TransactionLog {
  /** `batcher`: the fast path `batchClaims` (claim-batcher.ts); without it, one claimAll call per claim. */
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly perRoom: number, private readonly windowMs: number, private readonly batcher?: ClaimBatcher) {}

  async claim(room: string, transaction: Transaction, first: TransactionClaim): Promise<TransactionClaim | undefined> {
    const field = `${transaction.scope}\u0000${transaction.id}`;
    const value = `${first.id}|${first.ts}`;
    const keys = [`${this.prefix}:txn:${room}`, `${this.prefix}:txn-order:${room}`] as const;
    const prev = this.batcher !== undefined
      ? await this.batcher.claim(keys, field, value)
      : (await claimAll(this.redis, this.windowMs, this.perRoom, [{ keys, field, value }]))[0];
    if (prev === undefined) return undefined;
    const [id, ts] = prev.split('|');
    if (id === undefined || ts === undefined || !Number.isFinite(Number(ts))) throw new Error(`unreadable transaction record in ${room}`);
    return { id: id as EventId, ts: Number(ts) };
  }
}

export class RedisIdMap implements IdMap {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly perEndpoint: number) {}

  private keys(endpoint: Endpoint) {
    const base = `${this.prefix}:idmap:${endpointKey(endpoint)}`;
    return { toNative: `${base}:c2n`, toCanonical: `${base}:n2c`, order: `${base}:order` };
  }

  async link(id: EventId, endpoint: Endpoint, nativeId: string): Promise<void> {
    const k = this.keys(endpoint);
    await commands(this.redis).sbLinkId(3, k.toNative, k.toCanonical, k.order, id, nativeId, String(Date.now()), String(this.perEndpoint));
  }

  async nativeOf(id: EventId, endpoint: Endpoint): Promise<string | undefined> {
    return (await this.redis.hget(this.keys(endpoint).toNative, id)) ?? undefined;
  }

  async canonicalOf(endpoint: Endpoint, nativeId: string): Promise<EventId | undefined> {
    return ((await this.redis.hget(this.keys(endpoint).toCanonical, nativeId)) ?? undefined) as EventId | undefined;
  }
}

function checkSizes(key: string, value?: string): void {
  if (key.length === 0 || key.length > MAX_STATE_KEY_CHARS) throw new RangeError(`a state key has 1 to ${MAX_STATE_KEY_CHARS} characters`);
  if (value !== undefined && value.length > MAX_STATE_VALUE_CHARS) throw new RangeError(`a state value has at most ${MAX_STATE_VALUE_CHARS} characters`);
}

/** SET only while the key holds ARGV[1] (replace): KEYS[1], expected, value, ttl in ms ('' = none). */
const REPLACE_SCRIPT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

export function redisStateStore(redis: Redis, prefix: string, namespace: string): StateStore {
  const full = (key: string) => `${prefix}:state:${namespace}:${key}`;
  return {
    get: async (key) => { checkSizes(key); return (await redis.get(full(key))) ?? undefined; },
    set: async (key, value, ttlMs) => {
      checkSizes(key, value);
      if (ttlMs === undefined) await redis.set(full(key), value);
      else await redis.set(full(key), value, 'PX', Math.max(1, Math.round(ttlMs)));
    },
    setIfAbsent: async (key, value, ttlMs) => {
      checkSizes(key, value);
      const ok = ttlMs === undefined
        ? await redis.set(full(key), value, 'NX')
        : await redis.set(full(key), value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
      return ok === 'OK';
    },
    delete: async (key) => { checkSizes(key); await redis.del(full(key)); },
    expire: async (key, ttlMs) => { checkSizes(key); return await redis.pexpire(full(key), Math.max(1, Math.round(ttlMs))) === 1; },
    replace: async (key, expected, value, ttlMs) => {
      checkSizes(key, value);
      const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.round(ttlMs)));
      return await redis.eval(REPLACE_SCRIPT, 1, full(key), expected, value, ttl) === 1;
    },
  };
}

/**
 * Keeps trying to hold a lease (every ttl/3) and reports when this instance gains or loses it.
 * Built on the same Lease as the router and the egress consumers.
 */
export function holdRedisLease(redis: Redis, key: string, owner: string, ttlMs: number, callbacks: LeaseCallbacks, onError: (err: unknown) => void): LeaseHandle {
  let closed = false;
  let lease: Lease | undefined;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async () => {
    if (closed || lease?.isHeld) return;
    const candidate = new Lease(redis, key, owner, ttlMs, () => {
      if (lease === candidate) lease = undefined;
      if (!closed) callbacks.onLost();
    });
    try {
      if (!(await candidate.tryAcquire())) return;
    } catch (err) {
      onError(err);
      return;
    }
    if (closed) { await candidate.release(); return; }
    lease = candidate;
    callbacks.onAcquired();
  };
  void attempt();
  timer = setInterval(() => void attempt(), Math.max(50, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    get held() { return lease?.isHeld ?? false; },
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      const held = lease;
      lease = undefined;
      if (held?.isHeld) {
        callbacks.onLost();
        await held.release();
      }
    },
  };
}
