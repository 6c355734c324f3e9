import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MediaId } from './media-id.ts';

/**
 * Signed, expiring media URLs: `/media/<id>/<name>?exp=<unix seconds>&sig=<base64url HMAC>`.
 * The MAC is HMAC-SHA256 over a domain tag, the id, the (decoded) name and the expiry, so none of
 * the three can be changed without the secret, and a signature made for something else with the
 * same secret can never pass for a media URL. Verification compares in constant time.
 */

const DOMAIN = 'switchboard-media-url-v1';
const SIG_BYTES = 32;
export const MIN_SECRET_BYTES = 32;

export type Verification =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'bad_signature' | 'expired' };

export interface SignedPath {
  /** Path and query, e.g. `/media/<id>/photo.jpg?exp=...&sig=...`. */
  readonly path: string;
  readonly expiresAt: number;
}

export class UrlSigner {
  private readonly secret: Buffer;

  constructor(secret: string | Uint8Array, private readonly now: () => number = Date.now) {
    this.secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (this.secret.length < MIN_SECRET_BYTES) throw new Error(`the media URL secret must have at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -hex 32\`)`);
  }

  private mac(id: string, name: string, exp: number): Buffer {
    // id is 64 hex chars and exp a decimal integer, neither has a newline: the three parts can
    // only be split one way, whatever the name contains.
    return createHmac('sha256', this.secret).update(`${DOMAIN}\n${id}\n${name}\n${exp}`, 'utf8').digest();
  }

  sign(id: MediaId, name: string, exp: number): string {
    return this.mac(id, name, exp).toString('base64url');
  }

  /** A path for `id` under `basePath`, valid for `ttlSeconds` from now. */
  signedPath(basePath: string, id: MediaId, name: string, ttlSeconds: number): SignedPath {
    const exp = Math.floor(this.now() / 1000) + Math.max(1, Math.floor(ttlSeconds));
    const sig = this.sign(id, name, exp);
    return { path: `${basePath}/${id}/${encodeURIComponent(name)}?exp=${exp}&sig=${sig}`, expiresAt: exp };
  }

  /**
   * Checks the signature first, in constant time, then the expiry: an expired answer is only ever
   * given for a URL we really signed, so neither answer tells anything about an id to a guesser.
   */
  verify(id: string, name: string, expText: string | null, sigText: string | null): Verification {
    if (!this.signatureMatches(id, name, expText, sigText)) return { ok: false, reason: 'bad_signature' };
    if (Number(expText) <= Math.floor(this.now() / 1000)) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  /** True when we signed exactly this id, name and expiry (expired or not): constant time. */
  signatureMatches(id: string, name: string, expText: string | null, sigText: string | null): boolean {
    if (expText === null || sigText === null || !/^\d{1,12}$/.test(expText) || !/^[A-Za-z0-9_-]{43}$/.test(sigText)) return false;
    const given = Buffer.from(sigText, 'base64url');
    return given.length === SIG_BYTES && timingSafeEqual(given, this.mac(id, name, Number(expText)));
  }

  /** Seconds until `exp` (for Cache-Control), never negative. */
  secondsLeft(exp: number): number {
    return Math.max(0, exp - Math.floor(this.now() / 1000));
  }
}
