import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenConfig } from '../../config/schema.ts';

/**
 * Access tokens of WebSocket clients and bots. Only `sha256:<hex>` of a token is ever stored (in
 * config.yaml); `switchboard token` prints a new token once together with the hash to paste.
 * A token is 32 random bytes, so a plain (unsalted) SHA-256 is enough: there is nothing to guess.
 */

const TOKEN_PREFIX = 'sb_';
/** Upper bound of what we bother hashing: a real token is 46 chars; anything huge is noise. */
const MAX_TOKEN_CHARS = 512;

/** A new random token: `sb_` + 32 random bytes in base64url. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The form stored in config: `sha256:<64 lowercase hex>`. */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

function digestOf(hash: string): Buffer | undefined {
  const hex = hash.startsWith('sha256:') ? hash.slice('sha256:'.length) : '';
  return /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/**
 * The configured token whose hash matches the presented token, or undefined. Compares against
 * every entry with timingSafeEqual (no early exit), so the time taken says nothing about which
 * entry, or how much of a hash, matched.
 */
export function findToken<T extends Pick<TokenConfig, 'hash'>>(tokens: readonly T[], presented: string | undefined): T | undefined {
  if (presented === undefined || presented.length === 0 || presented.length > MAX_TOKEN_CHARS) return undefined;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: T | undefined;
  for (const token of tokens) {
    const expected = digestOf(token.hash);
    if (expected && timingSafeEqual(expected, digest) && found === undefined) found = token;
  }
  return found;
}
