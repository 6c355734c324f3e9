// Properties of the crypto layer, cross-checked against gramjs and BigInt references.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AesIge, aesIgeDecrypt, aesIgeEncrypt } from '../../src/connectors/mtproto/crypto/aes-ige.ts';
import {
  computeMsgKey, decryptPayload, encryptPayload, paddingLength, quickAckToken,
} from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { generateServerRsaKey, loadServerRsaKey, rsaEncryptRaw } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { modPow } from '../../src/connectors/mtproto/crypto/modpow.ts';
import { bigIntToBytes, bytesToBigInt } from '../../src/connectors/mtproto/crypto/bigint.ts';
import { checkGA, DH_PRIME } from '../../src/connectors/mtproto/crypto/dh-prime.ts';
import { equalBytes } from '../../src/connectors/mtproto/crypto/constant-time.ts';
import { GramIGE, gramHelpers, gramSerializeBytes } from './gramjs-ref.ts';

const blocks = (max: number) => fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n * 16, maxLength: n * 16 }));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

test('AES-256-IGE round-trips and matches gramjs on random buffers', () => {
  fc.assert(fc.property(blocks(40), bytes(32), bytes(32), (plain, key, iv) => {
    const c = aesIgeEncrypt(plain, key, iv);
    assert.deepEqual(aesIgeDecrypt(c, key, iv), plain);
    if (plain.length > 0) {
      const g = new GramIGE(Buffer.from(key), Buffer.from(iv));
      assert.deepEqual(new Uint8Array(g.encryptIge(Buffer.from(plain))), c);
      assert.deepEqual(new Uint8Array(new GramIGE(Buffer.from(key), Buffer.from(iv)).decryptIge(Buffer.from(c))), plain);
    }
  }), { numRuns: 150 });
});

test('AES-IGE works on unaligned views and reuses one key schedule', () => {
  const key = randomBytes(32), iv = randomBytes(32);
  const backing = randomBytes(16 * 9 + 3);
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, 16 * 9);
  const ige = new AesIge(key);
  const c1 = ige.encrypt(view, iv);
  const c2 = ige.encrypt(Uint8Array.from(view), iv);
  assert.deepEqual(c1, c2);
  assert.deepEqual(ige.decrypt(c1, iv), Uint8Array.from(view));
  assert.deepEqual(Uint8Array.from(view), new Uint8Array(backing.subarray(3))); // input untouched
});

test('AES-IGE rejects wrong sizes with RangeError', () => {
  const k = new Uint8Array(32), iv = new Uint8Array(32);
  assert.throws(() => aesIgeEncrypt(new Uint8Array(15), k, iv), RangeError);
  assert.throws(() => aesIgeDecrypt(new Uint8Array(17), k, iv), RangeError);
  assert.throws(() => aesIgeEncrypt(new Uint8Array(16), new Uint8Array(16), iv), RangeError);
  assert.throws(() => aesIgeEncrypt(new Uint8Array(16), k, new Uint8Array(16)), RangeError);
  assert.throws(() => new AesIge(new Uint8Array(20)), RangeError);
});

test('encryptPayload pads with 12..27 bytes to a multiple of 16 and decryptPayload inverts it', () => {
  fc.assert(fc.property(bytes(256), fc.uint8Array({ maxLength: 600 }), fc.constantFrom<0 | 8>(0, 8), (ak, plain, x) => {
    const { msgKey, cipher } = encryptPayload(ak, plain, x);
    assert.equal(cipher.length % 16, 0);
    const pad = cipher.length - plain.length;
    assert.ok(pad >= 12 && pad <= 27, `padding ${pad}`);
    assert.equal(pad, paddingLength(plain.length));
    const back = decryptPayload(ak, msgKey, cipher, x);
    assert.ok(back);
    assert.deepEqual(back.subarray(0, plain.length), plain);
    assert.deepEqual(computeMsgKey(ak, back, x), msgKey);
    // the other direction's keys must not verify
    assert.equal(decryptPayload(ak, msgKey, cipher, x === 0 ? 8 : 0), null);
  }), { numRuns: 60 });
});

test('decryptPayload returns null for tampered msg_key, tampered cipher, bad sizes — never throws', () => {
  const ak = randomBytes(256);
  const { msgKey, cipher } = encryptPayload(ak, randomBytes(100), 0);
  fc.assert(fc.property(fc.nat({ max: 15 }), fc.integer({ min: 1, max: 255 }), (i, flip) => {
    const mk = Uint8Array.from(msgKey); mk[i]! ^= flip;
    assert.equal(decryptPayload(ak, mk, cipher, 0), null);
  }));
  fc.assert(fc.property(fc.nat({ max: cipher.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, flip) => {
    const c = Uint8Array.from(cipher); c[i]! ^= flip;
    assert.equal(decryptPayload(ak, msgKey, c, 0), null);
  }));
  assert.equal(decryptPayload(ak, msgKey, cipher.subarray(0, cipher.length - 1), 0), null);
  assert.equal(decryptPayload(ak, msgKey, new Uint8Array(0), 0), null);
  assert.equal(decryptPayload(ak, msgKey.subarray(0, 15), cipher, 0), null);
  assert.equal(decryptPayload(ak.subarray(0, 255), msgKey, cipher, 0), null);
  fc.assert(fc.property(bytes(16), fc.uint8Array({ maxLength: 300 }), (mk, c) => {
    assert.equal(decryptPayload(ak, mk, c, 0), null);
  }), { numRuns: 200 });
});

test('quick-ack token has the MSB set', () => {
  const t = quickAckToken(randomBytes(256), randomBytes(64));
  assert.ok(t >= 0x80000000 && t <= 0xffffffff);
});

test('equalBytes: equal, different, different length', () => {
  assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
  assert.equal(equalBytes(new Uint8Array(0), new Uint8Array(0)), true);
});

test('RSA: generated key loads, fingerprint matches gramjs-style computation, raw decrypt inverts raw encrypt', async () => {
  const { privateKeyPem, publicKeyPem } = generateServerRsaKey();
  assert.match(publicKeyPem, /BEGIN RSA PUBLIC KEY/);
  const key = loadServerRsaKey(privateKeyPem);
  assert.equal(key.e, 65537n);
  assert.equal(bigIntToBytes(key.n).length, 256);
  assert.equal(key.publicKeyPem, publicKeyPem);
  // gramjs's own helpers: TL-serialize n and e as bytes, SHA1, lower 64 bits as a signed LE long.
  const nBuf = Buffer.from(bigIntToBytes(key.n));
  const eBuf = Buffer.from(bigIntToBytes(key.e));
  const sha = await gramHelpers.sha1(Buffer.concat([gramSerializeBytes(nBuf), gramSerializeBytes(eBuf)]));
  const gramFp = gramHelpers.readBigIntFromBuffer(sha.subarray(12, 20), true, true).toString();
  assert.equal(BigInt.asIntN(64, key.fingerprint).toString(), gramFp);
  assert.equal(key.fingerprintHex, key.fingerprint.toString(16).padStart(16, '0'));
  assert.ok(key.fingerprint >= 0n && key.fingerprint < 1n << 64n);
  for (let i = 0; i < 5; i++) {
    const m = bigIntToBytes(bytesToBigInt(randomBytes(256)) % key.n, 256);
    if (i === 0) m.fill(0, 0, 40); // leading zeros must survive
    const c = rsaEncryptRaw(key.n, key.e, m);
    assert.deepEqual(key.decryptRaw(c), m);
  }
  assert.throws(() => key.decryptRaw(new Uint8Array(255)), RangeError);
  assert.throws(() => key.decryptRaw(new Uint8Array(256).fill(0xff)), RangeError);
});

function refModPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n % m; b %= m;
  while (e > 0n) { if (e & 1n) r = (r * b) % m; b = (b * b) % m; e >>= 1n; }
  return r;
}

test('modPow equals a BigInt reference (2048-bit DH sizes, exponents above the modulus, odd/even/small moduli)', () => {
  const P = bigIntToBytes(DH_PRIME, 256);
  for (let i = 0; i < 6; i++) {
    const e = randomBytes(256);
    const b = i % 2 ? Uint8Array.of(3) : randomBytes(256);
    const got = modPow(b, e, P);
    assert.equal(got.length, 256);
    assert.equal(bytesToBigInt(got), refModPow(bytesToBigInt(b), bytesToBigInt(e), DH_PRIME));
  }
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 1, maxLength: 80 }),
    (b, e, m) => {
      const mm = bytesToBigInt(m);
      fc.pre(mm > 0n);
      assert.equal(bytesToBigInt(modPow(b, e, m)), refModPow(bytesToBigInt(b), bytesToBigInt(e), mm));
      assert.equal(modPow(b, e, m).length, m.length);
    }), { numRuns: 300 });
});

test('bigint helpers round-trip and pad', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 2100n) }), (n) => {
    assert.equal(bytesToBigInt(bigIntToBytes(n)), n);
    assert.equal(bytesToBigInt(bigIntToBytes(n, 300)), n);
  }));
  assert.deepEqual(bigIntToBytes(0n), Uint8Array.of(0));
  assert.deepEqual(bigIntToBytes(1n, 3), Uint8Array.of(0, 0, 1));
  assert.throws(() => bigIntToBytes(256n, 1), RangeError);
});

test('checkGA enforces 1 < g_a < p-1 and the 2^(2048-64) margins', () => {
  const m = 1n << 1984n;
  assert.equal(checkGA(1n), false);
  assert.equal(checkGA(DH_PRIME - 1n), false);
  assert.equal(checkGA(m - 1n), false);
  assert.equal(checkGA(m), true);
  assert.equal(checkGA(DH_PRIME - m), true);
  assert.equal(checkGA(DH_PRIME - m + 1n), false);
  assert.equal(checkGA(bytesToBigInt(modPow(Uint8Array.of(3), randomBytes(256), bigIntToBytes(DH_PRIME)))), true);
});

test('our AES key schedules equal noble expandKeyLE / expandKeyDecLE word for word', async () => {
  const { unsafe } = await import('@noble/ciphers/aes.js');
  const { expandDecKey, expandEncKey } = await import('../../src/connectors/mtproto/crypto/aes-key-schedule.ts');
  fc.assert(fc.property(fc.constantFrom(16, 24, 32).chain((n) => bytes(n)), (key) => {
    assert.deepEqual(expandEncKey(key), unsafe.expandKeyLE(key));
    assert.deepEqual(expandDecKey(key), unsafe.expandKeyDecLE(key));
  }), { numRuns: 100 });
});

test('the generator the server sends satisfies the security guidelines residue condition for its prime', async () => {
  const { DH_G, DH_PRIME, isSafeG } = await import('../../src/connectors/mtproto/crypto/dh-prime.ts');
  assert.equal(isSafeG(DH_G, DH_PRIME), true);
  assert.equal(DH_PRIME % 3n, 2n);
  assert.equal(isSafeG(3, DH_PRIME + 1n), false);
  assert.equal(isSafeG(8, DH_PRIME), false);
});
