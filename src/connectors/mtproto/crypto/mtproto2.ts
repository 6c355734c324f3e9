// MTProto 2.0 message-key, KDF and payload encryption (core.telegram.org/mtproto/description).
// x = 0 for messages from client to server, x = 8 for messages from server to client.
import { randomBytes } from 'node:crypto';
import { AesIge } from './aes-ige.ts';
import { equalBytes } from './constant-time.ts';
import { concat, sha1, sha256 } from './bytes.ts';

export type KdfSide = 0 | 8;

export const AUTH_KEY_BYTES = 256;
/** MTProto 2.0 padding bounds (security guidelines: 12..1024 bytes, total % 16 == 0). */
export const MIN_PADDING = 12;
export const MAX_PADDING = 1024;

function checkAuthKey(authKey: Uint8Array): void {
  if (authKey.length !== AUTH_KEY_BYTES) {
    throw new RangeError(`auth_key must be ${AUTH_KEY_BYTES} bytes, got ${authKey.length}`);
  }
}

/** msg_key = middle 128 bits of SHA256(substr(auth_key, 88+x, 32) + plaintext incl. padding). */
export function computeMsgKey(authKey: Uint8Array, plaintextPadded: Uint8Array, x: KdfSide): Uint8Array {
  checkAuthKey(authKey);
  return msgKeyLarge(authKey, plaintextPadded, x).subarray(8, 24);
}

/** msg_key_large; its first 4 bytes are also the quick-ack token. */
export function msgKeyLarge(authKey: Uint8Array, plaintextPadded: Uint8Array, x: KdfSide): Uint8Array {
  return sha256(authKey.subarray(88 + x, 120 + x), plaintextPadded);
}

/**
 * Quick-ack token for a client message: the first 32 bits of msg_key_large (little-endian
 * as read from the hash) with the most significant bit set, so it can't look like a length.
 */
export function quickAckToken(authKey: Uint8Array, plaintextPadded: Uint8Array): number {
  const h = msgKeyLarge(authKey, plaintextPadded, 0);
  return ((h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) | 0x80000000) >>> 0;
}

/** MTProto 2.0 KDF: aes_key/aes_iv from auth_key and msg_key via sha256_a / sha256_b. */
export function deriveAesKeyIv(
  authKey: Uint8Array,
  msgKey: Uint8Array,
  x: KdfSide,
): { key: Uint8Array; iv: Uint8Array } {
  checkAuthKey(authKey);
  if (msgKey.length !== 16) throw new RangeError(`msg_key must be 16 bytes, got ${msgKey.length}`);
  const a = sha256(msgKey, authKey.subarray(x, x + 36));
  const b = sha256(authKey.subarray(40 + x, 76 + x), msgKey);
  const key = new Uint8Array(32);
  key.set(a.subarray(0, 8), 0);
  key.set(b.subarray(8, 24), 8);
  key.set(a.subarray(24, 32), 24);
  const iv = new Uint8Array(32);
  iv.set(b.subarray(0, 8), 0);
  iv.set(a.subarray(8, 24), 8);
  iv.set(b.subarray(24, 32), 24);
  return { key, iv };
}

/** auth_key_id: the lower 64 bits of SHA1(auth_key), i.e. SHA1 bytes 12..20 as they are. */
export function authKeyId(authKey: Uint8Array): Uint8Array {
  checkAuthKey(authKey);
  return sha1(authKey).subarray(12, 20);
}

/** auth_key_aux_hash: the upper 64 bits of SHA1(auth_key), used in new_nonce_hash{1,2,3}. */
export function authKeyAuxHash(authKey: Uint8Array): Uint8Array {
  checkAuthKey(authKey);
  return sha1(authKey).subarray(0, 8);
}

/**
 * new_nonce_hash{n} of dh_gen_ok/retry/fail: the lower 128 bits of
 * SHA1(new_nonce + byte n + auth_key_aux_hash).
 */
export function newNonceHash(newNonce: Uint8Array, authKey: Uint8Array, n: 1 | 2 | 3): Uint8Array {
  return sha1(newNonce, Uint8Array.of(n), authKeyAuxHash(authKey)).subarray(4, 20);
}

/** Handshake tmp_aes_key / tmp_aes_iv for server_DH_inner_data and client_DH_inner_data. */
export function tmpAesKeyIv(serverNonce: Uint8Array, newNonce: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  if (serverNonce.length !== 16) throw new RangeError('server_nonce must be 16 bytes');
  if (newNonce.length !== 32) throw new RangeError('new_nonce must be 32 bytes');
  const nn_sn = sha1(newNonce, serverNonce);
  const sn_nn = sha1(serverNonce, newNonce);
  const nn_nn = sha1(newNonce, newNonce);
  const key = concat(nn_sn, sn_nn.subarray(0, 12));
  const iv = concat(sn_nn.subarray(12, 20), nn_nn, newNonce.subarray(0, 4));
  return { key, iv };
}

/** Minimal MTProto 2.0 padding for a plaintext of `len` bytes: 12..27 bytes, total % 16 == 0. */
export function paddingLength(len: number): number {
  return MIN_PADDING + ((16 - ((len + MIN_PADDING) % 16)) % 16);
}

/**
 * Pads (salt + session_id + message ... as one buffer) with 12..27 random bytes, computes
 * msg_key and encrypts. `randomPad` exists so known-answer tests can fix the padding.
 */
export function encryptPayload(
  authKey: Uint8Array,
  plaintextUnpadded: Uint8Array,
  x: KdfSide,
  randomPad: (n: number) => Uint8Array = (n) => randomBytes(n),
): { msgKey: Uint8Array; cipher: Uint8Array } {
  checkAuthKey(authKey);
  const padLen = paddingLength(plaintextUnpadded.length);
  const pad = randomPad(padLen);
  if (pad.length !== padLen) throw new RangeError(`randomPad returned ${pad.length} bytes, wanted ${padLen}`);
  const padded = concat(plaintextUnpadded, pad);
  const msgKey = computeMsgKey(authKey, padded, x);
  const { key, iv } = deriveAesKeyIv(authKey, msgKey, x);
  return { msgKey, cipher: new AesIge(key).encrypt(padded, iv) };
}

/**
 * Decrypts and authenticates an encrypted payload. Returns null (never throws) on any
 * malformed or forged input: wrong sizes, or a msg_key that does not match SHA256 of the
 * decrypted plaintext (compared in constant time). The caller still has to check the
 * inner layout (message_data_length, padding 12..1024) per the security guidelines.
 */
export function decryptPayload(
  authKey: Uint8Array,
  msgKey: Uint8Array,
  cipher: Uint8Array,
  x: KdfSide,
): Uint8Array | null {
  if (authKey.length !== AUTH_KEY_BYTES || msgKey.length !== 16) return null;
  if (cipher.length === 0 || cipher.length % 16 !== 0) return null;
  const { key, iv } = deriveAesKeyIv(authKey, msgKey, x);
  const plain = new AesIge(key).decrypt(cipher, iv);
  const expected = computeMsgKey(authKey, plain, x);
  return equalBytes(expected, msgKey) ? plain : null;
}
