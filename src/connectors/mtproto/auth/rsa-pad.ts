import { aesIgeDecrypt } from '../crypto/aes-ige.ts';
import { bytesToBigInt } from '../crypto/bigint.ts';
import { equalBytes } from '../crypto/constant-time.ts';
import type { ServerRsaKey } from '../crypto/rsa.ts';
import { sha1, sha256 } from '../crypto/bytes.ts';

export type InnerDataScheme = 'rsa_pad' | 'rsa_legacy';

/** Decodes one TL object from the front of `bytes` and says how many bytes it used. */
export type DecodeFront<T> = (bytes: Uint8Array) => { value: T; consumed: number } | null;

export interface DecryptedInner<T> {
  scheme: InnerDataScheme;
  value: T;
}


/**
 * Recovers p_q_inner_data from req_DH_params.encrypted_data. Two encodings exist in the wild:
 * RSA_PAD (core.telegram.org/mtproto/auth_key, step 4) and the older raw RSA over
 * SHA1(data) + data + random padding that many clients still send. Both are tried; only a
 * matching hash makes a result, and every failure is the same `null` for the caller.
 */
export function decryptInnerData<T>(key: ServerRsaKey, encrypted: Uint8Array, decode: DecodeFront<T>): DecryptedInner<T> | null {
  if (encrypted.length === 0 || encrypted.length > 256) return null;
  const block = new Uint8Array(256);
  block.set(encrypted, 256 - encrypted.length);
  // A ciphertext >= n is not a value the client could have produced (it checks
  // key_aes_encrypted < n before encrypting); accepting it would allow malleated inputs.
  if (bytesToBigInt(block) >= key.n) return null;
  let plain: Uint8Array;
  try {
    plain = key.decryptRaw(block);
  } catch {
    return null;
  }

  const padded = tryRsaPad(plain);
  if (padded !== null) {
    const decoded = decode(padded);
    if (decoded !== null) return { scheme: 'rsa_pad', value: decoded.value };
    return null;
  }
  return tryLegacy(plain, decode);
}

function tryRsaPad(keyAesEncrypted: Uint8Array): Uint8Array | null {
  const tempKeyXor = keyAesEncrypted.subarray(0, 32);
  const aesEncrypted = keyAesEncrypted.subarray(32);
  const mask = sha256(aesEncrypted);
  const tempKey = new Uint8Array(32);
  for (let i = 0; i < 32; i++) tempKey[i] = tempKeyXor[i]! ^ mask[i]!;
  const dataWithHash = aesIgeDecrypt(aesEncrypted, tempKey, new Uint8Array(32));
  const dataWithPadding = dataWithHash.slice(0, 192).reverse();
  const hash = dataWithHash.subarray(192, 224);
  if (!equalBytes(sha256(tempKey, dataWithPadding), hash)) return null;
  return dataWithPadding;
}

function tryLegacy<T>(plain: Uint8Array, decode: DecodeFront<T>): DecryptedInner<T> | null {
  // 255 bytes were encrypted as a big-endian number below n, so the 256-byte block starts with 0.
  if (plain[0] !== 0) return null;
  const hash = plain.subarray(1, 21);
  const rest = plain.subarray(21);
  const decoded = decode(rest);
  if (decoded === null) return null;
  if (!equalBytes(sha1(rest.subarray(0, decoded.consumed)), hash)) return null;
  return { scheme: 'rsa_legacy', value: decoded.value };
}
