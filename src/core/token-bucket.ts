/**
 * Token bucket: `burst` at once, refilled at `perSecond`. Every rate limit of the bridge is one
 * (a WS connection's frames, an MTProto connection's frames and its account's API calls, an XMPP
 * sender's stanzas and the component's own output). Also says how long until the next token, so
 * a sender can wait for it, or tell a client how long to wait, instead of polling.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError(`token bucket needs perSecond > 0 and burst >= 1 (got ${perSecond}, ${burst})`);
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }

  /**
   * Takes one token if there is one: 'taken', 'taken-full' when the bucket was full before (the
   * sender had paused long enough to earn a whole burst back), or 'empty' (nothing taken).
   */
  take(): 'taken' | 'taken-full' | 'empty' {
    this.refill();
    if (this.tokens < 1) return 'empty';
    const full = this.tokens >= this.burst;
    this.tokens -= 1;
    return full ? 'taken-full' : 'taken';
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    return this.take() !== 'empty';
  }

  /** Milliseconds until one token is available (0 if one is). */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

/**
 * One bucket per key (a sender, an account and a class of calls), at most `max` of them: the
 * least recently used is forgotten first, and a forgotten key starts again with a full bucket
 * (so the bound only ever forgives, never punishes).
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly max: number, private readonly make: (key: string) => TokenBucket) {}

  /** The bucket of `key` (made full on first use), marked as the most recently used. */
  of(key: string): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = this.make(key);
      if (this.#buckets.size >= this.max) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
    } else {
      this.#buckets.delete(key); // re-inserted below: the Map's order is the recency order
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
