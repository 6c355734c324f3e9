// Modular exponentiation for the DH steps (g^a mod p, g_b^a mod p, 2048-bit everything).
// It runs natively in OpenSSL as a raw RSA public-key operation: for a "public key" (n=modulus,
// e=exponent), RSA_NO_PADDING encryption is exactly base^e mod n (~2 ms). The obvious
// DiffieHellman route is ~100x slower because createDiffieHellman() primality-checks p on
// every call. OpenSSL wants e < n and an odd n of sane size; larger exponents are split
// (x^e = (x^(e>>1))^2 * x^(e&1)), and anything else OpenSSL refuses uses a BigInt loop.
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { bigIntToBytes, bytesToBigInt } from './bigint.ts';

function modPowBigInt(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod === 1n) return 0n;
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    e >>= 1n;
    b = (b * b) % mod;
  }
  return result;
}

const b64u = (n: bigint): string => Buffer.from(bigIntToBytes(n)).toString('base64url');

/** base^exp mod m through OpenSSL; requires 1 < exp < m, m odd, 0 <= base < m. */
function modPowOpenSsl(base: bigint, exp: bigint, m: bigint, mBytes: number): bigint {
  const key = createPublicKey({ key: { kty: 'RSA', n: b64u(m), e: b64u(exp) }, format: 'jwk' });
  const out = publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, bigIntToBytes(base, mBytes));
  return bytesToBigInt(new Uint8Array(out));
}

function modPowBig(base: bigint, exp: bigint, m: bigint, mBytes: number, native: boolean): bigint {
  if (exp === 0n) return 1n % m;
  if (base <= 1n || exp === 1n) return base;
  if (!native) return modPowBigInt(base, exp, m);
  if (exp >= m) {
    const half = modPowBig(base, exp >> 1n, m, mBytes, native);
    const sq = (half * half) % m;
    return exp & 1n ? (sq * base) % m : sq;
  }
  return modPowOpenSsl(base, exp, m, mBytes);
}

/** base^exponent mod modulus, all big-endian; the result is left-padded to modulus.length bytes. */
export function modPow(base: Uint8Array, exponent: Uint8Array, modulus: Uint8Array): Uint8Array {
  const m = bytesToBigInt(modulus);
  if (m === 0n) throw new RangeError('modPow: modulus is zero');
  const e = bytesToBigInt(exponent);
  const b = bytesToBigInt(base) % m;
  const mBytes = bigIntToBytes(m).length;
  // Montgomery multiplication needs an odd modulus; OpenSSL's RSA refuses tiny ones.
  const native = (m & 1n) === 1n && mBytes >= 64;
  let r: bigint;
  try {
    r = modPowBig(b, e, m, mBytes, native);
  } catch {
    r = modPowBigInt(b, e, m);
  }
  return bigIntToBytes(r, modulus.length);
}
