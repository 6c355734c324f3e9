import { createHmac, randomBytes } from 'node:crypto';

export interface FutureSalt {
  validSince: number;
  validUntil: number;
  salt: bigint;
}

export interface SaltOptions {
  /** Secret the salts are derived from; share it between instances so they agree on salts. */
  secret?: Uint8Array;
  /** Length of one salt's window, seconds. */
  periodS?: number;
  /** How long the previous window's salt stays accepted after it ends, seconds. */
  graceS?: number;
  now?: () => number;
}

/**
 * Server salts as a pure function of (secret, auth_key_id, time window): nothing to store and
 * every instance sharing the secret agrees. The current and previous (within the grace) salts are
 * valid, plus the post-handshake salt new_nonce ^ server_nonce for its first period.
 */
export class SaltSchedule {
  readonly #secret: Uint8Array;
  readonly periodS: number;
  readonly graceS: number;
  readonly #now: () => number;
  /** auth_key_id hex -> { salt, until(ms) } from the handshake; bounded by expiry sweeps. */
  readonly #initial = new Map<string, { salt: bigint; untilMs: number }>();

  constructor(opts: SaltOptions = {}) {
    this.#secret = opts.secret ?? randomBytes(32);
    this.periodS = opts.periodS ?? 3600;
    this.graceS = opts.graceS ?? 1800;
    this.#now = opts.now ?? Date.now;
  }

  #window(nowMs: number): number {
    return Math.floor(nowMs / 1000 / this.periodS);
  }

  saltFor(authKeyIdHex: string, window: number): bigint {
    const mac = createHmac('sha256', this.#secret).update(`${authKeyIdHex}:${window}`).digest();
    return mac.readBigInt64LE(0);
  }

  current(authKeyIdHex: string): bigint {
    return this.saltFor(authKeyIdHex, this.#window(this.#now()));
  }

  rememberInitial(authKeyIdHex: string, salt: bigint): void {
    const nowMs = this.#now();
    for (const [k, v] of this.#initial) if (v.untilMs < nowMs) this.#initial.delete(k);
    this.#initial.set(authKeyIdHex, { salt, untilMs: nowMs + this.periodS * 1000 });
  }

  isValid(authKeyIdHex: string, salt: bigint): boolean {
    const nowMs = this.#now();
    const w = this.#window(nowMs);
    if (salt === this.saltFor(authKeyIdHex, w)) return true;
    const intoWindowS = nowMs / 1000 - w * this.periodS;
    if (intoWindowS < this.graceS && salt === this.saltFor(authKeyIdHex, w - 1)) return true;
    const initial = this.#initial.get(authKeyIdHex);
    return initial !== undefined && initial.untilMs >= nowMs && initial.salt === salt;
  }

  future(authKeyIdHex: string, count: number): FutureSalt[] {
    const w = this.#window(this.#now());
    const n = Math.max(1, Math.min(64, count));
    const out: FutureSalt[] = [];
    for (let i = 0; i < n; i++) {
      const validSince = (w + i) * this.periodS;
      out.push({ validSince, validUntil: validSince + this.periodS + this.graceS, salt: this.saltFor(authKeyIdHex, w + i) });
    }
    return out;
  }
}
