// MTProto 1.0 message encryption, kept for one purpose only: the binding message inside
// auth.bindTempAuthKey is encrypted "in the usual way, but with MTProto v1 using the
// perm_auth_key" (core.telegram.org/method/auth.bindTempAuthKey). Nothing else uses v1.
import { aesIgeDecrypt } from './aes-ige.ts';
import { equalBytes } from './constant-time.ts';
import { sha1 } from './bytes.ts';
import type { KdfSide } from './mtproto2.ts';

/** v1 KDF (core.telegram.org/mtproto/description_v1): aes_key/aes_iv from four SHA-1s. */
export function deriveAesKeyIvV1(authKey: Uint8Array, msgKey: Uint8Array, x: KdfSide): { key: Uint8Array; iv: Uint8Array } {
  if (authKey.length !== 256) throw new RangeError(`auth_key must be 256 bytes, got ${authKey.length}`);
  if (msgKey.length !== 16) throw new RangeError(`msg_key must be 16 bytes, got ${msgKey.length}`);
  const a = sha1(msgKey, authKey.subarray(x, x + 32));
  const b = sha1(authKey.subarray(32 + x, 48 + x), msgKey, authKey.subarray(48 + x, 64 + x));
  const c = sha1(authKey.subarray(64 + x, 96 + x), msgKey);
  const d = sha1(msgKey, authKey.subarray(96 + x, 128 + x));
  const key = new Uint8Array(32);
  key.set(a.subarray(0, 8), 0);
  key.set(b.subarray(8, 20), 8);
  key.set(c.subarray(4, 16), 20);
  const iv = new Uint8Array(32);
  iv.set(a.subarray(8, 20), 0);
  iv.set(b.subarray(0, 8), 12);
  iv.set(c.subarray(16, 20), 20);
  iv.set(d.subarray(0, 8), 24);
  return { key, iv };
}

/** v1 msg_key: the lower 128 bits of SHA-1 of the plaintext before padding. */
export function msgKeyV1(unpadded: Uint8Array): Uint8Array {
  return sha1(unpadded).subarray(4, 20);
}

/**
 * Decrypts a v1 message from client to server (x = 0): salt/random(16), msg_id(8), seqno(4),
 * length(4), data, padding. Returns the plaintext when msg_key matches SHA-1 over the header and
 * `length` bytes of data (compared in constant time), null otherwise; never throws on bad input.
 */
export function decryptPayloadV1(authKey: Uint8Array, msgKey: Uint8Array, cipher: Uint8Array): { plain: Uint8Array; dataLength: number } | null {
  if (authKey.length !== 256 || msgKey.length !== 16 || cipher.length < 32 || cipher.length % 16 !== 0) return null;
  const { key, iv } = deriveAesKeyIvV1(authKey, msgKey, 0);
  const plain = aesIgeDecrypt(cipher, key, iv);
  const dataLength = new DataView(plain.buffer, plain.byteOffset + 28, 4).getInt32(0, true);
  // v1 padding is what rounds the message up to whole blocks; the length must fit the cipher.
  if (dataLength < 0 || dataLength % 4 !== 0 || 32 + dataLength > plain.length || plain.length - (32 + dataLength) > 1024) return null;
  return equalBytes(msgKeyV1(plain.subarray(0, 32 + dataLength)), msgKey) ? { plain, dataLength } : null;
}
