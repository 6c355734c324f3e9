import type { Redis } from 'ioredis';

/**
 * The fast path `batchClaims` (docs/bus.md, "Fast paths"): the transaction claims of one tick
 * (publishOnce: a WS `txn`, an MTProto `random_id`, an XMPP origin-id) go to Redis as ONE script
 * call instead of one call each. Every such send waits for its claim before it publishes, so with
 * one call each a burst of sends reached the publisher spread out over as many round trips, and
 * its publishes batched poorly behind them; claimed together, they publish together. What each
 * claim answers is the plain path's (services.ts CLAIM_TXN_LUA, claim by claim, in the order they
 * were made, in one atomic script), so a transaction named twice in one tick is claimed by the
 * first and answered as earlier to the second. The calls leave when the tick ends
 * (`process.nextTick`), so no claim waits longer than the code already running.
 */

/**
 * KEYS: per room, its hash and order zset. ARGV: now ms, window ms, cap, then per claim: its room's
 * index (1-based), field, value "<id>|<ts>". Returns per claim the earlier value, or '' when this
 * call claimed it. Each touched room is trimmed once, as the single claim trims it.
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

interface PendingClaim {
  readonly keys: readonly [hash: string, order: string];
  readonly field: string;
  readonly value: string;
  resolve(earlier: string | undefined): void;
  reject(err: unknown): void;
}

export class ClaimBatcher {
  #pending: PendingClaim[] = [];

  constructor(private readonly redis: Redis, private readonly windowMs: number, private readonly perRoom: number) {
    redis.defineCommand('sbClaimTxns', { lua: CLAIM_TXNS_LUA });
  }

  /** Claims `field` in the room whose keys these are: the earlier value, or undefined when this claim won. */
  claim(keys: readonly [hash: string, order: string], field: string, value: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) process.nextTick(() => this.#flush());
      this.#pending.push({ keys, field, value, resolve, reject });
    });
  }

  #flush(): void {
    const claims = this.#pending;
    this.#pending = [];
    const roomOf = new Map<string, number>();
    const keys: string[] = [];
    const args: string[] = [String(Date.now()), String(this.windowMs), String(this.perRoom)];
    for (const claim of claims) {
      let r = roomOf.get(claim.keys[0]);
      if (r === undefined) {
        keys.push(...claim.keys);
        roomOf.set(claim.keys[0], r = keys.length / 2);
      }
      args.push(String(r), claim.field, claim.value);
    }
    (this.redis as unknown as ClaimCommands).sbClaimTxns(keys.length, ...keys, ...args).then(
      (answers) => claims.forEach((claim, i) => {
        const answer = answers[i];
        claim.resolve(answer === undefined || answer === '' ? undefined : String(answer));
      }),
      (err: unknown) => { for (const claim of claims) claim.reject(err); },
    );
  }
}
