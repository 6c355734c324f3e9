// The fast AES-IGE paths (encrypt: native CBC between two XOR passes; decrypt: inlined
// small-table rounds) against the @noble/ciphers reference loops, gramjs, and the published vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  AesIge, aesIgeDecrypt, aesIgeDecryptNoble, aesIgeEncrypt, aesIgeEncryptNoble,
} from '../../src/connectors/mtproto/crypto/aes-ige.ts';
import { GramIGE } from './gramjs-ref.ts';
import { hex, loadVectors, toHex } from './vectors.ts';

const blocks = (max: number) => fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n * 16, maxLength: n * 16 }));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

/** A plain Uint8Array (not a Buffer) that owns its whole ArrayBuffer. */
function assertOwned(b: Uint8Array, len: number): void {
  assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
  assert.equal(b.length, len);
  assert.equal(b.byteOffset, 0);
  assert.equal(b.buffer.byteLength, len);
}

test('fast IGE encrypt/decrypt equal the noble reference and gramjs (AES-256, 0..64 blocks)', () => {
  fc.assert(fc.property(blocks(64), bytes(32), bytes(32), (plain, key, iv) => {
    const c = aesIgeEncrypt(plain, key, iv);
    assertOwned(c, plain.length);
    assert.deepEqual(c, aesIgeEncryptNoble(plain, key, iv));
    assert.deepEqual(aesIgeDecrypt(c, key, iv), plain);
    assert.deepEqual(aesIgeDecrypt(plain, key, iv), aesIgeDecryptNoble(plain, key, iv));
    if (plain.length > 0) { // gramjs rejects empty input
      assert.deepEqual(c, new Uint8Array(new GramIGE(Buffer.from(key), Buffer.from(iv)).encryptIge(Buffer.from(plain))));
      assert.deepEqual(aesIgeDecrypt(plain, key, iv),
        new Uint8Array(new GramIGE(Buffer.from(key), Buffer.from(iv)).decryptIge(Buffer.from(plain))));
    }
  }), { numRuns: 200 });
});

test('fast IGE equals the noble reference for AES-128/192 keys (aes-128/192-cbc)', () => {
  fc.assert(fc.property(fc.constantFrom(16, 24).chain((n) => bytes(n)), blocks(64), bytes(32), (key, plain, iv) => {
    const ige = new AesIge(key);
    const c = ige.encrypt(plain, iv);
    assert.deepEqual(c, ige.encryptNoble(plain, iv));
    assert.deepEqual(ige.decrypt(c, iv), plain);
    assert.deepEqual(ige.decrypt(plain, iv), ige.decryptNoble(plain, iv));
  }), { numRuns: 100 });
});

test('fast IGE: unaligned views, inputs untouched, outputs not aliased across calls', () => {
  const key = randomBytes(32), iv = randomBytes(32);
  for (const off of [1, 2, 3, 5]) {
    const backing = new Uint8Array(randomBytes(16 * 9 + off + 7));
    const snapshot = Uint8Array.from(backing);
    const view = backing.subarray(off, off + 16 * 9);
    const ivBacking = new Uint8Array(randomBytes(32 + off));
    const ivView = ivBacking.subarray(off);
    const c = aesIgeEncrypt(view, key, ivView);
    assert.deepEqual(c, aesIgeEncryptNoble(Uint8Array.from(view), key, Uint8Array.from(ivView)));
    assert.deepEqual(aesIgeDecrypt(c.subarray(0), key, ivView), Uint8Array.from(view));
    const cView = new Uint8Array(16 * 9 + off);
    cView.set(c, off);
    assert.deepEqual(aesIgeDecrypt(cView.subarray(off), key, ivView), Uint8Array.from(view));
    assert.deepEqual(backing, snapshot);
  }
  // the encrypt path reuses scratch memory: an earlier result must not change under a later call
  const a = aesIgeEncrypt(new Uint8Array(1024).fill(1), key, iv);
  const aCopy = Uint8Array.from(a);
  aesIgeEncrypt(new Uint8Array(1024).fill(2), key, iv);
  assert.deepEqual(a, aCopy);
});

test('fast IGE on sizes beyond the reused scratch (64 KiB) and back', () => {
  const key = randomBytes(32), iv = randomBytes(32);
  for (const n of [64 * 1024 - 16, 64 * 1024, 64 * 1024 + 16, 300 * 1024, 32, 16 * 100]) {
    const plain = new Uint8Array(randomBytes(n));
    const c = aesIgeEncrypt(plain, key, iv);
    assertOwned(c, n);
    assert.deepEqual(c, aesIgeEncryptNoble(plain, key, iv), `n=${n}`);
    assert.deepEqual(aesIgeDecrypt(c, key, iv), plain, `n=${n}`);
  }
});

test('published vectors pass on the fast and the reference paths', () => {
  const V = loadVectors();
  assert.ok(V.aes_ige_openssl.length >= 2);
  for (const v of V.aes_ige_openssl) {
    const ige = new AesIge(hex(v.key));
    const [fwd, ref] = v.op === 'encrypt'
      ? [ige.encrypt(hex(v.input), hex(v.iv)), ige.encryptNoble(hex(v.input), hex(v.iv))]
      : [ige.decrypt(hex(v.input), hex(v.iv)), ige.decryptNoble(hex(v.input), hex(v.iv))];
    assert.equal(toHex(fwd), v.output, v.source);
    assert.equal(toHex(ref), v.output, v.source + ' (reference)');
  }
  const G = V.mtproto2_grammers;
  const k = new Uint8Array(32).map((_, i) => i);
  assert.equal(toHex(aesIgeEncrypt(k, k, k)), G['igeEnc']);
  assert.equal(toHex(aesIgeEncryptNoble(k, k, k)), G['igeEnc']);
  assert.equal(toHex(aesIgeDecrypt(k, k, k)), G['igeDec']);
  assert.equal(toHex(aesIgeDecryptNoble(k, k, k)), G['igeDec']);
});

test('bad sizes still throw RangeError on every path', () => {
  const k = new Uint8Array(32), iv = new Uint8Array(32);
  const ige = new AesIge(k);
  for (const len of [1, 15, 17, 31, 1023]) {
    const d = new Uint8Array(len);
    assert.throws(() => aesIgeEncrypt(d, k, iv), RangeError);
    assert.throws(() => aesIgeDecrypt(d, k, iv), RangeError);
    assert.throws(() => ige.encryptNoble(d, iv), RangeError);
    assert.throws(() => ige.decryptNoble(d, iv), RangeError);
  }
  for (const ivLen of [0, 16, 31, 33]) {
    assert.throws(() => aesIgeEncrypt(new Uint8Array(16), k, new Uint8Array(ivLen)), RangeError);
    assert.throws(() => aesIgeDecrypt(new Uint8Array(16), k, new Uint8Array(ivLen)), RangeError);
  }
  for (const kLen of [0, 16, 24, 31, 33]) {
    assert.throws(() => aesIgeEncrypt(new Uint8Array(16), new Uint8Array(kLen), iv), RangeError);
    assert.throws(() => aesIgeDecrypt(new Uint8Array(16), new Uint8Array(kLen), iv), RangeError);
  }
  for (const kLen of [0, 20, 31, 33]) assert.throws(() => new AesIge(new Uint8Array(kLen)), RangeError);
});
