// Every published vector in shared/vectors/mtproto.json that concerns the crypto layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AesIge, aesIgeDecrypt, aesIgeEncrypt } from '../../src/connectors/mtproto/crypto/aes-ige.ts';
import {
  authKeyAuxHash, authKeyId, decryptPayload, deriveAesKeyIv, encryptPayload, newNonceHash, tmpAesKeyIv,
} from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { rsaFingerprint } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { modPow } from '../../src/connectors/mtproto/crypto/modpow.ts';
import { bigIntToBytes, bytesToBigInt } from '../../src/connectors/mtproto/crypto/bigint.ts';
import { checkGA, DH_G, DH_PRIME_HEX } from '../../src/connectors/mtproto/crypto/dh-prime.ts';
import { gramServerKeys } from './gramjs-ref.ts';
import { hex, loadVectors, toHex } from './vectors.ts';

const V = loadVectors();
const G = V.mtproto2_grammers;
const S = V.mtproto_auth_key_sample;

const sha1 = (b: Uint8Array) => new Uint8Array(createHash('sha1').update(b).digest());
const concat = (...p: Uint8Array[]) => new Uint8Array(Buffer.concat(p));

test('aes_ige_openssl vectors (AES-128 IGE, OpenSSL igetest.c)', () => {
  assert.ok(V.aes_ige_openssl.length >= 2);
  for (const v of V.aes_ige_openssl) {
    const ige = new AesIge(hex(v.key));
    const out = v.op === 'encrypt' ? ige.encrypt(hex(v.input), hex(v.iv)) : ige.decrypt(hex(v.input), hex(v.iv));
    assert.equal(toHex(out), v.output, v.source);
    // and the inverse direction gives the input back
    const back = v.op === 'encrypt' ? ige.decrypt(out, hex(v.iv)) : ige.encrypt(out, hex(v.iv));
    assert.equal(toHex(back), v.input, v.source + ' (inverse)');
  }
});

test('grammers: AES-256-IGE with key = iv = data = 0..31', () => {
  const k = new Uint8Array(32).map((_, i) => i);
  assert.equal(toHex(aesIgeEncrypt(k, k, k)), G.igeEnc);
  assert.equal(toHex(aesIgeDecrypt(k, k, k)), G.igeDec);
});

test('grammers: auth_key_id and aux hash', () => {
  const ak = hex(G.authKey);
  assert.equal(toHex(authKeyId(ak)), G.authKeyId);
  assert.equal(toHex(authKeyAuxHash(ak)), G.auxHash);
});

test('grammers: MTProto 2.0 KDF, client (x=0) and server (x=8)', () => {
  const ak = hex(G.authKey);
  const mk = hex(G.msgKey);
  const c = deriveAesKeyIv(ak, mk, 0);
  assert.equal(toHex(c.key), G.clientKey);
  assert.equal(toHex(c.iv), G.clientIv);
  const s = deriveAesKeyIv(ak, mk, 8);
  assert.equal(toHex(s.key), G.serverKey);
  assert.equal(toHex(s.iv), G.serverIv);
});

test('grammers: encryptPayload with zero padding gives the published packet', () => {
  const ak = hex(G.authKey);
  const plain = new TextEncoder().encode(G.encPlain);
  const { msgKey, cipher } = encryptPayload(ak, plain, 0, (n) => new Uint8Array(n));
  assert.equal(toHex(concat(authKeyId(ak), msgKey, cipher)), G.encExpected);
  // and our own decryptPayload takes it back (x=0: as the server receives it)
  const back = decryptPayload(ak, msgKey, cipher, 0);
  assert.ok(back);
  assert.deepEqual(back.subarray(0, plain.length), plain);
});

test('grammers: decryptPayload of a real server packet (msg_container with new_session_created + pong)', () => {
  const ak = hex(G.decAuthKey);
  const packet = hex(G.decCipher);
  assert.equal(toHex(packet.subarray(0, 8)), toHex(authKeyId(ak)));
  const plain = decryptPayload(ak, packet.subarray(8, 24), packet.subarray(24), 8);
  assert.ok(plain, 'msg_key must verify');
  assert.equal(toHex(plain), G.decExpected);
});

test('grammers: tmp_aes_key/iv from server_nonce=0..15, new_nonce=0..31', () => {
  const { key, iv } = tmpAesKeyIv(new Uint8Array(16).map((_, i) => i), new Uint8Array(32).map((_, i) => i));
  assert.equal(toHex(key), G.nonceKey);
  assert.equal(toHex(iv), G.nonceIv);
});

test('auth key sample: pq = p * q with p < q', () => {
  const pq = BigInt(S.pq!), p = BigInt(S.p!), q = BigInt(S.q!);
  assert.equal(p * q, pq);
  assert.ok(p < q);
});

test('auth key sample: RSA fingerprint of the sample key (gramjs key) matches the published one', () => {
  // The sample's fingerprint is the wire (little-endian) form; gramjs holds the same key by its signed value.
  const wire = hex(S.fingerprint);
  const signed = Buffer.from(wire).readBigInt64LE(0);
  const key = gramServerKeys.get(signed.toString());
  assert.ok(key, `gramjs has a key with fingerprint ${signed}`);
  const fp = rsaFingerprint(BigInt(key.n.toString()), BigInt(key.e));
  assert.equal(BigInt.asIntN(64, fp), signed);
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(fp);
  assert.equal(le.toString('hex'), S.fingerprint);
});

test('auth key sample: the DH prime is our well-known prime', () => {
  assert.equal(S.dhPrime, DH_PRIME_HEX);
});

test('auth key sample: tmp_aes_key/iv, server_DH_inner_data decryption and its SHA1', () => {
  const { key, iv } = tmpAesKeyIv(hex(S.serverNonce), hex(S.newNonce));
  assert.equal(toHex(key), S.tmpAesKey);
  assert.equal(toHex(iv), S.tmpAesIv);
  const answer = aesIgeDecrypt(hex(S.encryptedAnswer), key, iv);
  assert.equal(toHex(answer), S.answerWithHash);
  // answer = SHA1(server_DH_inner_data) + server_DH_inner_data + padding; inner is 584 bytes
  // (ctor 4, nonces 32, g 4, dh_prime 260, g_a 260, server_time 4).
  assert.deepEqual(answer.subarray(0, 20), sha1(answer.subarray(20, 20 + 564)));
  // and re-encryption gives the published ciphertext
  assert.equal(toHex(aesIgeEncrypt(answer, key, iv)), S.encryptedAnswer);
});

test('auth key sample: g_b = g^b mod p, auth_key = g_a^b mod p, range checks, new_nonce_hash1', () => {
  const answer = hex(S.answerWithHash);
  // server_DH_inner_data after the 20-byte hash: ctor(4) nonce(16) server_nonce(16) g(4) dh_prime(4+256) g_a(4+256)
  const g = Buffer.from(answer).readInt32LE(20 + 36);
  assert.equal(g, DH_G);
  const gA = answer.subarray(20 + 40 + 260 + 4, 20 + 40 + 260 + 4 + 256);
  const p = hex(S.dhPrime);
  const b = hex(S.b);
  const authKey = modPow(gA, b, p);
  assert.equal(toHex(authKey), S.authKey);
  const inner = hex(S.clientDhInnerData);
  const gB = inner.subarray(4 + 32 + 8 + 4, 4 + 32 + 8 + 4 + 256);
  assert.deepEqual(modPow(bigIntToBytes(BigInt(g)), b, p), gB);
  assert.ok(checkGA(bytesToBigInt(gA)));
  assert.ok(checkGA(bytesToBigInt(gB)));
  assert.equal(toHex(newNonceHash(hex(S.newNonce), authKey, 1)), S.newNonceHash1);
});

test('auth key sample: set_client_DH_params encrypted_data', () => {
  const { key, iv } = tmpAesKeyIv(hex(S.serverNonce), hex(S.newNonce));
  const inner = hex(S.clientDhInnerData);
  const plain = concat(sha1(inner), inner, hex(S.clientDhPadding));
  assert.equal(toHex(aesIgeEncrypt(plain, key, iv)), S.clientDhEncrypted);
});
