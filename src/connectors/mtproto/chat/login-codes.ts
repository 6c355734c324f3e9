// Login codes of people (auth.sendCode / auth.signIn). A code is 5 random digits, valid for
// `codeTtlSeconds`, single use, void after `maxAttempts` wrong tries; one phone gets a new code
// at most every `resendSeconds`. It waits in the connector's state under `code:<phone digits>`
// until used or expired, so the admin's CLI (`switchboard mtproto-code --phone ...`) can read it
// and pass it on out of band: the state is as sensitive as the auth keys it also holds.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../../../bus/types.ts';
import { RpcError } from '../session/rpc.ts';

export interface PendingCode {
  /** The phone_code_hash handed to the client: which sendCode a signIn answers. */
  readonly hash: string;
  readonly code: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly attempts: number;
}

export interface LoginCodeOptions {
  readonly codeTtlSeconds: number;
  readonly maxAttempts: number;
  readonly resendSeconds: number;
}

export const CODE_LENGTH = 5;

export function codeKey(phoneDigits: string): string {
  return `code:${phoneDigits}`;
}

/** Parses a stored code (also used by the CLI); undefined for anything malformed. */
export function parsePendingCode(raw: string | undefined): PendingCode | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<PendingCode>;
    if (typeof v.hash !== 'string' || typeof v.code !== 'string' || typeof v.expiresAt !== 'number' || typeof v.createdAt !== 'number' || typeof v.attempts !== 'number') return undefined;
    return v as PendingCode;
  } catch {
    return undefined;
  }
}

function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

export class LoginCodes {
  constructor(private readonly state: StateStore, private readonly opts: LoginCodeOptions, private readonly now: () => number = Date.now) {}

  /** A new code for a phone; FLOOD_WAIT_X while the last one is younger than resendSeconds. */
  async issue(phoneDigits: string): Promise<PendingCode> {
    const t = this.now();
    const previous = parsePendingCode(await this.state.get(codeKey(phoneDigits)));
    if (previous !== undefined && previous.expiresAt > t) {
      const wait = Math.ceil((previous.createdAt + this.opts.resendSeconds * 1000 - t) / 1000);
      if (wait > 0) throw new RpcError(420, `FLOOD_WAIT_${wait}`);
    }
    const code = String(randomInt(0, 10 ** CODE_LENGTH)).padStart(CODE_LENGTH, '0');
    const pending: PendingCode = { hash: randomBytes(16).toString('hex'), code, createdAt: t, expiresAt: t + this.opts.codeTtlSeconds * 1000, attempts: 0 };
    await this.state.set(codeKey(phoneDigits), JSON.stringify(pending), this.opts.codeTtlSeconds * 1000);
    return pending;
  }

  /**
   * Checks a code for the sendCode that produced `hash`; resolves when right (the code is then
   * used up) and throws PHONE_CODE_EMPTY / PHONE_CODE_EXPIRED / PHONE_CODE_HASH_EMPTY /
   * PHONE_CODE_INVALID otherwise. Wrong tries count; past maxAttempts the code is void.
   */
  async verify(phoneDigits: string, hash: string, code: string | undefined): Promise<void> {
    if (hash === '') throw new RpcError(400, 'PHONE_CODE_HASH_EMPTY');
    if (code === undefined || code === '') throw new RpcError(400, 'PHONE_CODE_EMPTY');
    const key = codeKey(phoneDigits);
    const pending = parsePendingCode(await this.state.get(key));
    const t = this.now();
    if (pending === undefined || pending.expiresAt <= t || !sameSecret(pending.hash, hash)) throw new RpcError(400, 'PHONE_CODE_EXPIRED');
    if (!sameSecret(pending.code, code.trim())) {
      const attempts = pending.attempts + 1;
      if (attempts >= this.opts.maxAttempts) {
        await this.state.delete(key);
      } else {
        await this.state.set(key, JSON.stringify({ ...pending, attempts }), pending.expiresAt - t);
      }
      throw new RpcError(400, 'PHONE_CODE_INVALID');
    }
    await this.state.delete(key);
  }
}
