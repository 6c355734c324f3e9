import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison for equal-length inputs (msg_key checks, nonce hashes).
 * A length mismatch returns false immediately: lengths are public in MTProto.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
