// AES-IGE (Infinite Garble Extension), the block mode of MTProto message and handshake
// encryption. @noble/ciphers has no IGE and its ECB instances refuse a second call, so IGE
// is built directly on noble's word-level AES rounds (`unsafe.encrypt`/`unsafe.decrypt`)
// with the key schedule expanded once per key (in noble's layout, see aes-key-schedule.ts). The chaining runs on four 32-bit words per
// block held in locals, so there is no per-block allocation or byte shuffling.
//
// IV layout (OpenSSL / Telegram convention): iv[0..16) is the "previous ciphertext" block,
// iv[16..32) the "previous plaintext" block.
//   encrypt: c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}
//   decrypt: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}
import { unsafe } from '@noble/ciphers/aes.js';
import { expandDecKey, expandEncKey } from './aes-key-schedule.ts';

const { encrypt: encryptWords, decrypt: decryptWords } = unsafe;

// noble's rounds work on little-endian words; on a big-endian host the buffer is
// byte-swapped around the word loop so the same code stays correct.
const HOST_IS_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swap32InPlace(b: Uint8Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const t0 = b[i]!;
    const t1 = b[i + 1]!;
    b[i] = b[i + 3]!;
    b[i + 1] = b[i + 2]!;
    b[i + 2] = t1;
    b[i + 3] = t0;
  }
}

/** Little-endian 32-bit word at `o` (works for any alignment and host byte order). */
function wordLE(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function checkIv(iv: Uint8Array): void {
  if (iv.length !== 32) throw new RangeError(`AES-IGE iv must be 32 bytes, got ${iv.length}`);
}

function checkData(data: Uint8Array): void {
  if (data.length % 16 !== 0) {
    throw new RangeError(`AES-IGE data length must be a multiple of 16, got ${data.length}`);
  }
}

/** Copy into a fresh, 4-byte aligned buffer and return it with a word view over it. */
function wordCopy(data: Uint8Array): { out: Uint8Array; words: Uint32Array } {
  const out = new Uint8Array(data.length);
  out.set(data);
  if (!HOST_IS_LE) swap32InPlace(out);
  return { out, words: new Uint32Array(out.buffer, 0, data.length >>> 2) };
}

/**
 * AES-IGE with one key. The key schedules are expanded lazily (MTProto derives a fresh key
 * per message and usually uses it in one direction only), then reused for every call.
 * Accepts AES-128/192/256 keys so the generic OpenSSL vectors can be checked; MTProto uses 256.
 */
export class AesIge {
  private readonly key: Uint8Array;
  private encKey: Uint32Array | undefined;
  private decKey: Uint32Array | undefined;

  constructor(key: Uint8Array) {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
      throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`);
    }
    this.key = Uint8Array.from(key);
  }

  encrypt(plain: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(plain);
    const xk = (this.encKey ??= expandEncKey(this.key));
    const { out, words: w } = wordCopy(plain);
    let c0 = wordLE(iv, 0), c1 = wordLE(iv, 4), c2 = wordLE(iv, 8), c3 = wordLE(iv, 12);
    let p0 = wordLE(iv, 16), p1 = wordLE(iv, 20), p2 = wordLE(iv, 24), p3 = wordLE(iv, 28);
    for (let i = 0; i < w.length; i += 4) {
      const x0 = w[i]!, x1 = w[i + 1]!, x2 = w[i + 2]!, x3 = w[i + 3]!;
      const r = encryptWords(xk, x0 ^ c0, x1 ^ c1, x2 ^ c2, x3 ^ c3);
      c0 = r.s0 ^ p0; c1 = r.s1 ^ p1; c2 = r.s2 ^ p2; c3 = r.s3 ^ p3;
      w[i] = c0; w[i + 1] = c1; w[i + 2] = c2; w[i + 3] = c3;
      p0 = x0; p1 = x1; p2 = x2; p3 = x3;
    }
    if (!HOST_IS_LE) swap32InPlace(out);
    return out;
  }

  decrypt(cipher: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(cipher);
    const xk = (this.decKey ??= expandDecKey(this.key));
    const { out, words: w } = wordCopy(cipher);
    let c0 = wordLE(iv, 0), c1 = wordLE(iv, 4), c2 = wordLE(iv, 8), c3 = wordLE(iv, 12);
    let p0 = wordLE(iv, 16), p1 = wordLE(iv, 20), p2 = wordLE(iv, 24), p3 = wordLE(iv, 28);
    for (let i = 0; i < w.length; i += 4) {
      const y0 = w[i]!, y1 = w[i + 1]!, y2 = w[i + 2]!, y3 = w[i + 3]!;
      const r = decryptWords(xk, y0 ^ p0, y1 ^ p1, y2 ^ p2, y3 ^ p3);
      p0 = r.s0 ^ c0; p1 = r.s1 ^ c1; p2 = r.s2 ^ c2; p3 = r.s3 ^ c3;
      w[i] = p0; w[i + 1] = p1; w[i + 2] = p2; w[i + 3] = p3;
      c0 = y0; c1 = y1; c2 = y2; c3 = y3;
    }
    if (!HOST_IS_LE) swap32InPlace(out);
    return out;
  }
}

function checkKey256(key: Uint8Array): void {
  if (key.length !== 32) throw new RangeError(`AES-256-IGE key must be 32 bytes, got ${key.length}`);
}

/** AES-256-IGE encrypt; throws RangeError on a bad key/iv size or a length not a multiple of 16. */
export function aesIgeEncrypt(plain: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  checkKey256(key);
  return new AesIge(key).encrypt(plain, iv);
}

/** AES-256-IGE decrypt; throws RangeError on a bad key/iv size or a length not a multiple of 16. */
export function aesIgeDecrypt(cipher: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  checkKey256(key);
  return new AesIge(key).decrypt(cipher, iv);
}
