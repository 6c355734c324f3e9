// AES-IGE (Infinite Garble Extension), the block mode of MTProto message and handshake
// encryption.
//
// IV layout (OpenSSL / Telegram convention): iv[0..16) is the "previous ciphertext" block,
// iv[16..32) the "previous plaintext" block.
//   encrypt: c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}
//   decrypt: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}
//
// Encryption runs on OpenSSL's native CBC (see igeEncryptNative for the identity).
// Decryption has no such rewrite (its chain feeds D's input with the previous *output*), so it
// runs in JS: the equivalent inverse cipher on noble's key-schedule layout (aes-key-schedule.ts),
// inlined with small T-tables (igeDecryptFast), the chaining on four 32-bit words in locals.
// The loops on @noble/ciphers' own rounds (`unsafe.encrypt`/`unsafe.decrypt`) are kept as the
// reference implementations (aesIgeEncryptNoble/aesIgeDecryptNoble) the fast paths are tested
// against.
import { createCipheriv } from 'node:crypto';
import { unsafe } from '@noble/ciphers/aes.js';
import { expandDecKey, expandEncKey, INV_SBOX, TD } from './aes-key-schedule.ts';

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

type BlockWords = typeof encryptWords;

/**
 * IGE on noble's block rounds (the reference paths). Each output block is
 * block(input ^ a) ^ b, then a = that output and b = that input. Encryption starts with
 * (a, b) = (iv[0..16], iv[16..32]) and AES encryption; decryption is the same chain run with the
 * iv halves swapped and AES decryption.
 */
function nobleIge(block: BlockWords, xk: Uint32Array, data: Uint8Array, iv: Uint8Array, ivA: number, ivB: number): Uint8Array {
  const { out, words: w } = wordCopy(data);
  let a0 = wordLE(iv, ivA), a1 = wordLE(iv, ivA + 4), a2 = wordLE(iv, ivA + 8), a3 = wordLE(iv, ivA + 12);
  let b0 = wordLE(iv, ivB), b1 = wordLE(iv, ivB + 4), b2 = wordLE(iv, ivB + 8), b3 = wordLE(iv, ivB + 12);
  for (let i = 0; i < w.length; i += 4) {
    const x0 = w[i]!, x1 = w[i + 1]!, x2 = w[i + 2]!, x3 = w[i + 3]!;
    const r = block(xk, x0 ^ a0, x1 ^ a1, x2 ^ a2, x3 ^ a3);
    a0 = r.s0 ^ b0; a1 = r.s1 ^ b1; a2 = r.s2 ^ b2; a3 = r.s3 ^ b3;
    w[i] = a0; w[i + 1] = a1; w[i + 2] = a2; w[i + 3] = a3;
    b0 = x0; b1 = x1; b2 = x2; b3 = x3;
  }
  if (!HOST_IS_LE) swap32InPlace(out);
  return out;
}

function nobleEncrypt(xk: Uint32Array, plain: Uint8Array, iv: Uint8Array): Uint8Array {
  return nobleIge(encryptWords, xk, plain, iv, 0, 16);
}

const CBC_BY_KEY_LEN: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' };

// Per-call scratch, reused across calls (createCipheriv copies the iv and cipher.update reads
// its input synchronously, so module-level buffers are safe). The typed-array views over it are
// made once, not per call: at 1 KiB the per-call views and iv subarrays, together with the
// one-word-per-iteration XOR loops, were ~0.5 us of the gap to native CBC. Larger messages get their own buffers rather than pinning big scratch
// memory for the life of the process.
const SCRATCH_MAX_BYTES = 64 * 1024;

interface EncScratch {
  /** x_0 || x_1 || ... || x_m (16 + n bytes), 8-byte aligned whatever the caller's alignment. */
  srcBytes: Uint8Array;
  src: BigUint64Array;
  /** q, the CBC input (n bytes). */
  preBytes: Uint8Array;
  pre: BigUint64Array;
}

function encScratch(n: number): EncScratch {
  const srcBuf = new ArrayBuffer(16 + n);
  const preBuf = new ArrayBuffer(n);
  return {
    srcBytes: new Uint8Array(srcBuf), src: new BigUint64Array(srcBuf),
    preBytes: new Uint8Array(preBuf), pre: new BigUint64Array(preBuf),
  };
}

let scratch = encScratch(1024);
/** The CBC iv (y_0), copied out of the caller's iv so no subarray view is allocated per call. */
const cbcIv = new Uint8Array(16);

/**
 * IGE encryption as one native CBC pass between two linear XOR passes.
 *
 * With x_0 = iv[16..32), y_0 = iv[0..16): y_i = E(x_i ^ y_{i-1}) ^ x_{i-1}. Let
 * z_i = E(x_i ^ y_{i-1}). For i >= 2, y_{i-1} = z_{i-1} ^ x_{i-2}, so
 * z_i = E((x_i ^ x_{i-2}) ^ z_{i-1}), and z_1 = E(x_1 ^ y_0): z is exactly
 * AES-CBC-encrypt(key, iv = y_0) of q with q_1 = x_1, q_i = x_i ^ x_{i-2} (i >= 2).
 * Then y_i = z_i ^ x_{i-1}.
 *
 * The XOR passes run on 64-bit lanes (BigUint64Array), one 16-byte block per iteration: on
 * Node 20 TurboFan keeps these BigInt XORs unboxed and both passes over 1 KiB took about half
 * the time of the same loops on Uint32Array words (~100 ns vs ~200 ns). XOR is byte-order
 * agnostic, so native-endian lanes are fine on any host.
 */
function igeEncryptNative(key: Uint8Array, plain: Uint8Array, iv: Uint8Array): Uint8Array {
  const n = plain.length;
  if (n === 0) return new Uint8Array(0);
  const nq = n >>> 3;
  let s = scratch;
  if (n > s.preBytes.length) {
    s = encScratch(n);
    if (n <= SCRATCH_MAX_BYTES) scratch = s;
  }
  const { srcBytes, src, preBytes, pre } = s;
  // One copy of the plaintext into the aligned scratch also covers unaligned caller views.
  srcBytes.set(plain, 16);
  for (let b = 0; b < 16; b++) {
    srcBytes[b] = iv[16 + b]!;
    cbcIv[b] = iv[b]!;
  }
  // q_1 = x_1; q_i = x_i ^ x_{i-2}  (lane l of q is src[l + 2] ^ src[l - 2])
  pre[0] = src[2]!;
  pre[1] = src[3]!;
  for (let l = 2; l < nq; l += 2) {
    pre[l] = src[l + 2]! ^ src[l - 2]!;
    pre[l + 1] = src[l + 3]! ^ src[l - 1]!;
  }

  const cipher = createCipheriv(CBC_BY_KEY_LEN[key.length]!, key, cbcIv);
  // No setAutoPadding(false) and no final(): encryption never holds back a full block, so
  // update() already returns all n bytes of z, and padding only ever happens in final(), which
  // we skip (the context is freed with the cipher object). At 1 KiB, final() alone measured
  // ~0.5 us per call, several times both XOR passes together.
  let z: Uint8Array = cipher.update(n === preBytes.length ? preBytes : preBytes.subarray(0, n));
  // update() allocates a Buffer that owns exactly n bytes; should that ever not hold, assemble
  // our own (padding off first, so final() adds nothing but a withheld tail).
  if (z.length !== n || z.byteOffset !== 0 || z.buffer.byteLength !== n) {
    cipher.setAutoPadding(false);
    const tail = cipher.final();
    const own = new Uint8Array(n);
    own.set(z, 0);
    own.set(tail, z.length);
    z = own;
  }
  // y_i = z_i ^ x_{i-1}  (lane l of y is z[l] ^ src[l]); z owns its buffer, so write in place
  // and hand it out as a plain Uint8Array over that whole buffer.
  const zq = new BigUint64Array(z.buffer, 0, nq);
  for (let l = 0; l < nq; l += 2) {
    zq[l] = zq[l]! ^ src[l]!;
    zq[l + 1] = zq[l + 1]! ^ src[l + 1]!;
  }
  return new Uint8Array(z.buffer, 0, n);
}

const [TD0, TD1, TD2, TD3] = TD;
const IS = INV_SBOX;

/**
 * IGE decryption on LE words: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}. The equivalent inverse cipher
 * (same round keys and lane order as noble's `unsafe.decrypt`) is inlined with the whole state
 * in locals, so there is no per-block result object, and it uses the classic 4 x 1 KiB T-tables,
 * which stay in L1 where noble's merged 256 KiB tables do not. Kept as one flat function: going
 * through the wordCopy helper measurably lost the gain (~1.3x over the noble loop on 1 KiB).
 */
function igeDecryptFast(xk: Uint32Array, cipher: Uint8Array, iv: Uint8Array): Uint8Array {
  const out = new Uint8Array(cipher.length);
  out.set(cipher);
  if (!HOST_IS_LE) swap32InPlace(out);
  const w = new Uint32Array(out.buffer, 0, out.length >>> 2);
  const ivWords = new Uint32Array(8);
  new Uint8Array(ivWords.buffer).set(iv);
  if (!HOST_IS_LE) swap32InPlace(new Uint8Array(ivWords.buffer));
  let c0 = ivWords[0]!, c1 = ivWords[1]!, c2 = ivWords[2]!, c3 = ivWords[3]!;
  let p0 = ivWords[4]!, p1 = ivWords[5]!, p2 = ivWords[6]!, p3 = ivWords[7]!;
  const rounds = xk.length / 4 - 2;
  for (let i = 0; i < w.length; i += 4) {
    const y0 = w[i]!, y1 = w[i + 1]!, y2 = w[i + 2]!, y3 = w[i + 3]!;
    let s0 = y0 ^ p0 ^ xk[0]!, s1 = y1 ^ p1 ^ xk[1]!, s2 = y2 ^ p2 ^ xk[2]!, s3 = y3 ^ p3 ^ xk[3]!;
    let k = 4;
    for (let r = 0; r < rounds; r++) {
      const t0 = xk[k]! ^ TD0[s0 & 255]! ^ TD1[(s3 >>> 8) & 255]! ^ TD2[(s2 >>> 16) & 255]! ^ TD3[s1 >>> 24]!;
      const t1 = xk[k + 1]! ^ TD0[s1 & 255]! ^ TD1[(s0 >>> 8) & 255]! ^ TD2[(s3 >>> 16) & 255]! ^ TD3[s2 >>> 24]!;
      const t2 = xk[k + 2]! ^ TD0[s2 & 255]! ^ TD1[(s1 >>> 8) & 255]! ^ TD2[(s0 >>> 16) & 255]! ^ TD3[s3 >>> 24]!;
      const t3 = xk[k + 3]! ^ TD0[s3 & 255]! ^ TD1[(s2 >>> 8) & 255]! ^ TD2[(s1 >>> 16) & 255]! ^ TD3[s0 >>> 24]!;
      s0 = t0; s1 = t1; s2 = t2; s3 = t3; k += 4;
    }
    // last round: InvShiftRows + InvSubBytes only
    p0 = xk[k]! ^ (IS[s0 & 255]! | (IS[(s3 >>> 8) & 255]! << 8) | (IS[(s2 >>> 16) & 255]! << 16) | (IS[s1 >>> 24]! << 24)) ^ c0;
    p1 = xk[k + 1]! ^ (IS[s1 & 255]! | (IS[(s0 >>> 8) & 255]! << 8) | (IS[(s3 >>> 16) & 255]! << 16) | (IS[s2 >>> 24]! << 24)) ^ c1;
    p2 = xk[k + 2]! ^ (IS[s2 & 255]! | (IS[(s1 >>> 8) & 255]! << 8) | (IS[(s0 >>> 16) & 255]! << 16) | (IS[s3 >>> 24]! << 24)) ^ c2;
    p3 = xk[k + 3]! ^ (IS[s3 & 255]! | (IS[(s2 >>> 8) & 255]! << 8) | (IS[(s1 >>> 16) & 255]! << 16) | (IS[s0 >>> 24]! << 24)) ^ c3;
    w[i] = p0; w[i + 1] = p1; w[i + 2] = p2; w[i + 3] = p3;
    c0 = y0; c1 = y1; c2 = y2; c3 = y3;
  }
  if (!HOST_IS_LE) swap32InPlace(out);
  return out;
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
    // new Uint8Array(typedArray) copies with a memcpy; Uint8Array.from goes through the iterator.
    this.key = new Uint8Array(key);
  }

  /** Native path: AES-CBC (OpenSSL) between two XOR passes, see igeEncryptNative. */
  encrypt(plain: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(plain);
    return igeEncryptNative(this.key, plain, iv);
  }

  /** Reference path on noble's block rounds; the native path is tested against it. */
  encryptNoble(plain: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(plain);
    return nobleEncrypt((this.encKey ??= expandEncKey(this.key)), plain, iv);
  }

  /** Our small-table rounds (see igeDecryptFast); checked against decryptNoble. */
  decrypt(cipher: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(cipher);
    return igeDecryptFast((this.decKey ??= expandDecKey(this.key)), cipher, iv);
  }

  /** Reference path on noble's block rounds. */
  decryptNoble(cipher: Uint8Array, iv: Uint8Array): Uint8Array {
    checkIv(iv);
    checkData(cipher);
    return nobleIge(decryptWords, (this.decKey ??= expandDecKey(this.key)), cipher, iv, 16, 0);
  }
}

function checkKey256(key: Uint8Array): void {
  if (key.length !== 32) throw new RangeError(`AES-256-IGE key must be 32 bytes, got ${key.length}`);
}

/** AES-256-IGE encrypt; throws RangeError on a bad key/iv size or a length not a multiple of 16. */
export function aesIgeEncrypt(plain: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  checkKey256(key);
  checkIv(iv);
  checkData(plain);
  // Straight to the native path: an AesIge here would only copy the key and never reuse it.
  return igeEncryptNative(key, plain, iv);
}

/** AES-IGE encrypt on noble's block rounds (reference implementation; AES-128/192/256 keys). */
export function aesIgeEncryptNoble(plain: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return new AesIge(key).encryptNoble(plain, iv);
}

/** AES-IGE decrypt on noble's block rounds (reference implementation; AES-128/192/256 keys). */
export function aesIgeDecryptNoble(cipher: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return new AesIge(key).decryptNoble(cipher, iv);
}

/** AES-256-IGE decrypt; throws RangeError on a bad key/iv size or a length not a multiple of 16. */
export function aesIgeDecrypt(cipher: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  checkKey256(key);
  checkIv(iv);
  checkData(cipher);
  return igeDecryptFast(expandDecKey(key), cipher, iv);
}
