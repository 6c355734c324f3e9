// The server's RSA key: clients pin its fingerprint and send the handshake's inner data
// encrypted to it (RSA_PAD, or the older raw SHA1(data)+data+padding form). Decryption is a
// bare m = c^d mod n done natively by OpenSSL; the padding checks belong to the handshake.
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import { bigIntToBytes, bytesToBigInt, stripLeadingZeros } from './bigint.ts';

export const RSA_BYTES = 256;

export interface ServerRsaKey {
  n: bigint;
  e: bigint;
  /** Unsigned 64-bit fingerprint: SHA1(rsa_public_key n:bytes e:bytes) bytes 12..20, little-endian. */
  fingerprint: bigint;
  /** The fingerprint as 16 hex digits of the unsigned number (big-endian text). */
  fingerprintHex: string;
  publicKeyPem: string;
  /** m = c^d mod n, 256 bytes big-endian; throws RangeError if c is not 256 bytes or c >= n. */
  decryptRaw(data: Uint8Array): Uint8Array;
}

/**
 * Whether some clients cannot find this key by its fingerprint: mtcute 0.30 files the keys it is
 * given under their fingerprint as 16 hex digits but looks the server's up without leading zeros,
 * so a fingerprint whose first hex digit is 0 (one key in 16) is never found and its handshake
 * is retried forever. Telegram's own keys have none.
 */
export function fingerprintLosesLeadingZero(fingerprintHex: string): boolean {
  return fingerprintHex.startsWith('0');
}

export function generateServerRsaKey(): { privateKeyPem: string; publicKeyPem: string } {
  // A fingerprint beginning with 0 is one some clients cannot find (above): another key is drawn.
  for (let attempt = 0; ; attempt++) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicExponent: 65537,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      // PKCS#1 "BEGIN RSA PUBLIC KEY" is the form Telegram clients embed.
      publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    if (attempt >= 32 || !fingerprintLosesLeadingZero(loadServerRsaKey(privateKey).fingerprintHex)) return { privateKeyPem: privateKey, publicKeyPem: publicKey };
  }
}

/** TL `bytes` serialization (length prefix, data, zero padding to 4). */
function tlBytes(data: Uint8Array): Uint8Array {
  const head = data.length <= 253 ? 1 : 4;
  const total = Math.ceil((head + data.length) / 4) * 4;
  const out = new Uint8Array(total);
  if (head === 1) {
    out[0] = data.length;
  } else {
    out[0] = 254;
    out[1] = data.length & 0xff;
    out[2] = (data.length >>> 8) & 0xff;
    out[3] = (data.length >>> 16) & 0xff;
  }
  out.set(data, head);
  return out;
}

/**
 * Telegram's key fingerprint: SHA1 of the bare TL `rsa_public_key n:bytes e:bytes` (numbers
 * big-endian without leading zeros), lower 64 bits read little-endian. Returned unsigned;
 * gramjs and the wire carry the same 64 bits as a signed long.
 */
export function rsaFingerprint(n: bigint, e: bigint): bigint {
  const h = createHash('sha1');
  h.update(tlBytes(stripLeadingZeros(bigIntToBytes(n))));
  h.update(tlBytes(stripLeadingZeros(bigIntToBytes(e))));
  return Buffer.from(h.digest()).readBigUInt64LE(12);
}

function b64urlToBigInt(s: string): bigint {
  return bytesToBigInt(new Uint8Array(Buffer.from(s, 'base64url')));
}

export function loadServerRsaKey(privateKeyPem: string): ServerRsaKey {
  const key: KeyObject = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('server key must be an RSA key');
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('RSA key without n/e');
  const n = b64urlToBigInt(jwk.n);
  const e = b64urlToBigInt(jwk.e);
  if (bigIntToBytes(n).length !== RSA_BYTES) throw new Error('MTProto needs a 2048-bit RSA key');
  const fingerprint = rsaFingerprint(n, e);
  const publicKeyPem = createPublicKey(key).export({ type: 'pkcs1', format: 'pem' }).toString();
  return {
    n,
    e,
    fingerprint,
    fingerprintHex: fingerprint.toString(16).padStart(16, '0'),
    publicKeyPem,
    decryptRaw(data: Uint8Array): Uint8Array {
      if (data.length !== RSA_BYTES) throw new RangeError(`RSA block must be ${RSA_BYTES} bytes`);
      // Checked here so the error is ours and not an OpenSSL message.
      if (bytesToBigInt(data) >= n) throw new RangeError('RSA block is not below the modulus');
      const m = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, data);
      const out = new Uint8Array(RSA_BYTES);
      out.set(m, RSA_BYTES - m.length);
      return out;
    },
  };
}

/** Raw RSA encryption c = m^e mod n (tests and client-side simulations only). */
export function rsaEncryptRaw(n: bigint, e: bigint, data: Uint8Array): Uint8Array {
  const m = bytesToBigInt(data);
  if (m >= n) throw new RangeError('RSA message is not below the modulus');
  const jwk = {
    kty: 'RSA',
    n: Buffer.from(bigIntToBytes(n)).toString('base64url'),
    e: Buffer.from(bigIntToBytes(e)).toString('base64url'),
  };
  const pub = createPublicKey({ key: jwk, format: 'jwk' });
  const c = publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, bigIntToBytes(m, RSA_BYTES));
  const out = new Uint8Array(RSA_BYTES);
  out.set(c, RSA_BYTES - c.length);
  return out;
}
