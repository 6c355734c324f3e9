import type { Redis } from 'ioredis';

/**
 * Transaction claims on Redis (publishOnce: a WS `txn`, an MTProto `random_id`, an XMPP
 * origin-id), one script for one claim or many (services.ts RedisTransactionLog calls it).
 *
 * The fast path `batchClaims` (docs/bus.md, "Fast paths") is ClaimBatcher: the claims of one tick
 * go to Redis as ONE call instead of one call each. Every such send waits for its claim before it
 * publishes, so with one call each a burst of sends reached the publisher spread out over as many
 * round trips, and its publishes batched poorly behind them; claimed together, they publish
 * together. The script takes the claims one by one, in the order they were made, atomically, so
 * what each answers does not depend on the batching: a transaction named twice in one tick is
 * claimed by the first and answered as earlier to the second. The calls leave when the tick ends
 * (`process.nextTick`), so no claim waits longer than the code already running.
 */

/**
 * KEYS: per room, its hash and order zset. ARGV: now ms, window ms, cap, then per claim: its room's
 * index (1-based), field, value "<id>|<ts>". Returns per claim the earlier value (a claim younger
 * than the window), or '' when this call claimed it. Each room claimed in is trimmed once at the
 * end: claims older than the window, then the oldest beyond the cap; both keys expire after the window.
 */
const CLAIM_TXNS_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local out = {}
local touched = {}
for i = 4, #ARGV, 3 do
  local r = tonumber(ARGV[i])
  local hash = KEYS[2 * r - 1]
  local order = KEYS[2 * r]
  local field = ARGV[i + 1]
  local prev = false
  local since = redis.call('ZSCORE', order, field)
  if since and tonumber(since) > now - window then
    prev = redis.call('HGET', hash, field)
  end
  if prev then
    out[#out + 1] = prev
  else
    redis.call('HSET', hash, field, ARGV[i + 2])
    redis.call('ZADD', order, now, field)
    out[#out + 1] = ''
    touched[r] = true
  end
end
for r in pairs(touched) do
  local hash = KEYS[2 * r - 1]
  local order = KEYS[2 * r]
  local old = redis.call('ZRANGEBYSCORE', order, '-inf', now - window, 'LIMIT', 0, 64)
  local over = redis.call('ZCARD', order) - cap
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGE', order, 0, over - 1)) do table.insert(old, m) end
  end
  for _, m in ipairs(old) do
    redis.call('HDEL', hash, m)
    redis.call('ZREM', order, m)
  end
  redis.call('PEXPIRE', hash, window)
  redis.call('PEXPIRE', order, window)
end
return out
`;

interface ClaimCommands {
  sbClaimTxns(numKeys: number, ...args: string[]): Promise<string[]>;
}

/** Registers the claim script on a connection (ioredis runs it with EVALSHA). */
export function defineClaimScript(redis: Redis): void {
  redis.defineCommand('sbClaimTxns', { lua: CLAIM_TXNS_LUA });
}

/** One transaction claim: the room's keys (hash, order zset), the field `<scope>\0<id>` and the value `<event id>|<ts>`. */
export interface Claim {
  readonly keys: readonly [hash: string, order: string];
  readonly field: string;
  readonly value: string;
}

/**
 * Claims each in order, in one script call (defineClaimScript): per claim the earlier value, or
 * undefined when this claim won. `windowMs` and `perRoom` bound what a room remembers.
 */
export async function claimAll(redis: Redis, windowMs: number, perRoom: number, claims: readonly Claim[]): Promise<(string | undefined)[]> {
  const roomOf = new Map<string, number>();
  const keys: string[] = [];
  const args: string[] = [String(Date.now()), String(windowMs), String(perRoom)];
  for (const claim of claims) {
    let r = roomOf.get(claim.keys[0]);
    if (r === undefined) {
      keys.push(...claim.keys);
      roomOf.set(claim.keys[0], r = keys.length / 2);
    }
    args.push(String(r), claim.field, claim.value);
  }
  const answers = await (redis as unknown as ClaimCommands).sbClaimTxns(keys.length, ...keys, ...args);
  return claims.map((_, i) => {
    const answer = answers[i];
    return answer === undefined || answer === '' ? undefined : String(answer);
  });
}

interface PendingClaim extends Claim {
  resolve(earlier: string | undefined): void;
  reject(err: unknown): void;
}

/** The fast path `batchClaims`: the claims of one tick in one claimAll call. */
export class ClaimBatcher {
  #pending: PendingClaim[] = [];

  constructor(private readonly redis: Redis, private readonly windowMs: number, private readonly perRoom: number) {}

  /** As claimAll for one claim, sent with the other claims of this tick. */
  claim(keys: readonly [hash: string, order: string], field: string, value: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) process.nextTick(() => this.#flush());
      this.#pending.push({ keys, field, value, resolve, reject });
    });
  }

  #flush(): void {
    const claims = this.#pending;
    this.#pending = [];
    claimAll(this.redis, this.windowMs, this.perRoom, claims).then(
      (answers) => claims.forEach((claim, i) => claim.resolve(answers[i])),
      (err: unknown) => { for (const claim of claims) claim.reject(err); },
    );
  }
}
