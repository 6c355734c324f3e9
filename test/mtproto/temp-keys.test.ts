// Temporary auth keys (core.telegram.org/api/pfs) against the server with the spec-built client:
// expiry (-404 after expires_in), and auth.bindTempAuthKey with the binding message built here
// from core.telegram.org/method/auth.bindTempAuthKey (MTProto v1 under the permanent key; the
// v1 KDF below is written from core.telegram.org/mtproto/description_v1, not the server's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { aesIgeEncrypt } from '../../src/connectors/mtproto/crypto/aes-ige.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { rawObject, type TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { MAX_TEMP_KEY_SECONDS } from '../../src/connectors/mtproto/auth/handshake.ts';
import type { RpcHandler } from '../../src/connectors/mtproto/session/rpc.ts';
import { clientMsgId, connectAndAuth, type InMessage, type SpecSession } from './spec-client.ts';
import { pinned, startServer, type Running } from './harness.ts';

const sha1 = (...p: Uint8Array[]): Buffer => { const h = createHash('sha1'); for (const x of p) h.update(x); return h.digest(); };
const BOOL_TRUE = 0x997275b5;

/** MTProto v1 KDF, x = 0 (client to server). */
function kdfV1(authKey: Uint8Array, msgKey: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const a = sha1(msgKey, authKey.subarray(0, 32));
  const b = sha1(authKey.subarray(32, 48), msgKey, authKey.subarray(48, 64));
  const c = sha1(authKey.subarray(64, 96), msgKey);
  const d = sha1(msgKey, authKey.subarray(96, 128));
  return {
    key: new Uint8Array(Buffer.concat([a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)])),
    iv: new Uint8Array(Buffer.concat([a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)])),
  };
}

interface BindParts {
  nonce: bigint;
  tempKeyId: Uint8Array;
  permKeyId: Uint8Array;
  permKey: Uint8Array;
  tempSessionId: bigint;
  expiresAt: number;
  msgId: bigint;
  seqNo?: number;
  tamperMsgKey?: boolean;
}

/** encrypted_message: perm_auth_key_id, msg_key, AES-IGE(v1) of random(16) msg_id seqno len bind_auth_key_inner padding. */
function bindingMessage(p: BindParts): Uint8Array {
  const inner = Buffer.alloc(40);
  inner.writeUInt32LE(0x75a3f765, 0);
  inner.writeBigInt64LE(p.nonce, 4);
  Buffer.from(p.tempKeyId).copy(inner, 12);
  Buffer.from(p.permKeyId).copy(inner, 20);
  inner.writeBigInt64LE(p.tempSessionId, 28);
  inner.writeInt32LE(p.expiresAt, 36);
  const head = Buffer.alloc(32);
  randomBytes(16).copy(head, 0);
  head.writeBigInt64LE(p.msgId, 16);
  head.writeInt32LE(p.seqNo ?? 0, 24);
  head.writeInt32LE(inner.length, 28);
  const unpadded = Buffer.concat([head, inner]);
  const msgKey = sha1(unpadded).subarray(4, 20);
  const plain = Buffer.concat([unpadded, randomBytes((16 - (unpadded.length % 16)) % 16)]);
  const { key, iv } = kdfV1(p.permKey, msgKey);
  if (p.tamperMsgKey) msgKey[0]! ^= 1;
  return new Uint8Array(Buffer.concat([p.permKeyId, msgKey, aesIgeEncrypt(plain, key, iv)]));
}

/** auth.bindTempAuthKey#cdd42a05 perm_auth_key_id:long nonce:long expires_at:int encrypted_message:bytes */
function bindCall(permKeyId: Uint8Array, nonce: bigint, expiresAt: number, encrypted: Uint8Array): Uint8Array {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xcdd42a05, 0);
  Buffer.from(permKeyId).copy(head, 4);
  head.writeBigInt64LE(nonce, 12);
  head.writeInt32LE(expiresAt, 20);
  const len = encrypted.length;
  const prefix = len <= 253 ? Buffer.of(len) : Buffer.from([254, len & 255, (len >> 8) & 255, (len >> 16) & 255]);
  const body = Buffer.concat([prefix, encrypted]);
  return new Uint8Array(Buffer.concat([head, body, Buffer.alloc((4 - (body.length % 4)) % 4)]));
}

/** Sends raw API bytes as a content-related message with `msgId`; resolves with its rpc_result's result. */
async function call(s: SpecSession, bytes: Uint8Array, msgId = clientMsgId()): Promise<TlObject> {
  const { payload } = s.build(bytes, true, { msgId });
  s.conn.send(payload);
  const r = await s.until((m: InMessage) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === msgId, 5000);
  if (r.found === undefined) throw new Error(`no rpc_result for the call: ${JSON.stringify(r.end)}`);
  return r.found.obj['result'] as TlObject;
}

const errorOf = (result: TlObject): string | undefined => (result._ === 'rpc_error' ? `${String(result['error_code'])} ${String(result['error_message'])}` : undefined);
const isTrue = (result: TlObject): boolean => result._ === 'raw' && Buffer.from(result['bytes'] as Uint8Array).readUInt32LE(0) === BOOL_TRUE;

/** A server whose API answers every call with boolTrue and records which auth key it came on. */
async function recordingServer(): Promise<{ srv: Running; keysSeen: string[] }> {
  const keysSeen: string[] = [];
  const answer = Buffer.alloc(4);
  answer.writeUInt32LE(BOOL_TRUE, 0);
  const rpc: RpcHandler = async (_call, ctx) => {
    keysSeen.push(authKeyIdHex(ctx.authKeyId));
    return rawObject(new Uint8Array(answer));
  };
  return { srv: await startServer({ rpc }), keysSeen };
}

/** Some API call (help.getNearestDc#1fb33026): the recording server answers anything. */
const apiCall = (): Uint8Array => Uint8Array.of(0x26, 0x30, 0xb3, 0x1f);

test('a temporary key works until expires_in has passed, then every frame gets -404; expires_in is capped', async () => {
  const srv = await startServer();
  try {
    const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp_dc', expiresIn: 2 });
    const t0 = Date.now();
    assert.equal(await s.ping(), true, 'the fresh temporary key works');
    const stored = await srv.keyStore.get(s.auth.authKeyId);
    assert.ok(stored?.expiresAt !== undefined && stored.expiresAt > t0 && stored.expiresAt <= t0 + 2_000 + 1_000);
    await new Promise((r) => setTimeout(r, Math.max(0, stored.expiresAt! - Date.now() + 50)));
    s.send({ _: 'ping', ping_id: 9n });
    const f = await s.conn.next(3000);
    assert.deepEqual(f, { kind: 'error', code: -404 }, 'refused like an unknown key');
    assert.equal(await srv.keyStore.get(s.auth.authKeyId), undefined);

    const long = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp', expiresIn: 2_000_000_000 });
    const rec = await srv.keyStore.get(long.auth.authKeyId);
    assert.ok(rec?.expiresAt !== undefined && rec.expiresAt <= Date.now() + MAX_TEMP_KEY_SECONDS * 1000, 'capped');
    long.conn.close();
    const perm = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_dc' });
    assert.equal((await srv.keyStore.get(perm.auth.authKeyId))?.expiresAt, undefined, 'permanent keys do not expire');
    perm.conn.close();
  } finally {
    await srv.stop();
  }
});

test('auth.bindTempAuthKey: a correct binding answers boolTrue, then the temporary key\'s calls act for the permanent key; destroying that one ends both', async () => {
  const { srv, keysSeen } = await recordingServer();
  try {
    const perm = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    const temp = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp_dc', expiresIn: 3600 });
    const permHex = authKeyIdHex(perm.auth.authKeyId);
    const tempHex = authKeyIdHex(temp.auth.authKeyId);
    assert.ok(isTrue(await call(temp, apiCall())));
    assert.equal(keysSeen.at(-1), tempHex, 'unbound: its own key');

    const msgId = clientMsgId();
    const nonce = 0x1234_5678_9abc_def0n;
    const expiresAt = Math.floor(Date.now() / 1000) + 1800;
    const encrypted = bindingMessage({ nonce, tempKeyId: temp.auth.authKeyId, permKeyId: perm.auth.authKeyId, permKey: perm.auth.authKey, tempSessionId: temp.sessionId, expiresAt, msgId });
    const answer = await call(temp, bindCall(perm.auth.authKeyId, nonce, expiresAt, encrypted), msgId);
    assert.ok(isTrue(answer), `bound: ${JSON.stringify(answer)}`);
    assert.equal(keysSeen.at(-1), tempHex, 'the binding itself never reaches the API');
    const bound = await srv.keyStore.get(temp.auth.authKeyId);
    assert.equal(bound?.boundTo, permHex);
    assert.ok(bound.expiresAt! <= expiresAt * 1000, 'the binding\'s expires_at shortens the key');

    assert.ok(isTrue(await call(temp, apiCall())));
    assert.equal(keysSeen.at(-1), permHex, 'bound: calls act for the permanent key');
    assert.ok(isTrue(await call(perm, apiCall())));
    assert.equal(keysSeen.at(-1), permHex);

    // destroy_auth_key on the permanent key: the bound temporary key goes too, at once.
    perm.send({ _: 'destroy_auth_key' });
    assert.ok((await perm.until((m) => m.obj._ === 'rpc_result' && (m.obj['result'] as TlObject)._ === 'destroy_auth_key_ok')).found, 'destroy_auth_key_ok');
    temp.send({ _: 'ping', ping_id: 1n });
    assert.deepEqual(await temp.conn.next(3000), { kind: 'error', code: -404 });
  } finally {
    await srv.stop();
  }
});

test('auth.bindTempAuthKey refuses every mismatch of the binding message, and the session goes on', async () => {
  const { srv, keysSeen } = await recordingServer();
  try {
    const perm = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    const perm2 = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    const otherTemp = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp', expiresIn: 3600 });
    const temp = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp_dc', expiresIn: 3600 });
    const expiresAt = Math.floor(Date.now() / 1000) + 1800;
    const nonce = 77n;

    /** Builds a binding with one thing changed and sends it on `on` (default: the temporary key). */
    const attempt = async (change: Partial<BindParts> & { callNonce?: bigint; callPerm?: Uint8Array; callExpires?: number; outerMsgId?: bigint }, on: SpecSession = temp, key = perm) => {
      const msgId = clientMsgId();
      const parts: BindParts = { nonce, tempKeyId: on.auth.authKeyId, permKeyId: key.auth.authKeyId, permKey: key.auth.authKey, tempSessionId: on.sessionId, expiresAt, msgId, ...change };
      const enc = bindingMessage(parts);
      return errorOf(await call(on, bindCall(change.callPerm ?? parts.permKeyId, change.callNonce ?? nonce, change.callExpires ?? expiresAt, enc), change.outerMsgId ?? msgId));
    };
    const INVALID = '400 ENCRYPTED_MESSAGE_INVALID';
    assert.equal(await attempt({ callNonce: 78n }), INVALID, 'nonce differs from the call\'s');
    assert.equal(await attempt({ tempSessionId: temp.sessionId ^ 1n }), INVALID, 'temp_session_id is not the calling session');
    assert.equal(await attempt({ tempKeyId: otherTemp.auth.authKeyId }), INVALID, 'temp_auth_key_id is not the calling key');
    assert.equal(await attempt({ callExpires: expiresAt + 1 }), INVALID, 'expires_at differs');
    assert.equal(await attempt({ outerMsgId: clientMsgId() }), INVALID, 'msg_id of the binding is not the call\'s');
    assert.equal(await attempt({ seqNo: 2 }), INVALID, 'seqno is not 0');
    assert.equal(await attempt({ tamperMsgKey: true }), INVALID, 'msg_key does not match');
    assert.equal(await attempt({ permKey: perm2.auth.authKey }), INVALID, 'encrypted under another key than the one it names');
    assert.equal(await attempt({ callPerm: perm2.auth.authKeyId }), INVALID, 'perm_auth_key_id of the call differs from the message\'s');
    const unknown = new Uint8Array(randomBytes(8));
    assert.equal(await attempt({ permKeyId: unknown, callPerm: unknown }), INVALID, 'no such permanent key');
    assert.equal(await attempt({}, temp, otherTemp), INVALID, 'a temporary key is no permanent key to bind to');
    assert.equal(await attempt({}, perm, perm2), '400 TEMP_AUTH_KEY_EMPTY', 'called on a permanent key');
    assert.equal(await srv.keyStore.get(temp.auth.authKeyId).then((r) => r?.boundTo), undefined, 'nothing was bound');

    assert.equal(await attempt({}), undefined, 'the correct binding still works after all that');
    assert.equal(await attempt({}, temp, perm2), '400 TEMP_AUTH_KEY_ALREADY_BOUND', 'bound to another permanent key already');
    assert.equal(await attempt({}), undefined, 'binding again to the same key is fine');
    // Malformed call bytes: an rpc_error, never a crash.
    assert.equal(errorOf(await call(temp, bindCall(perm.auth.authKeyId, nonce, expiresAt, new Uint8Array(10)))), INVALID);
    assert.equal(errorOf(await call(temp, Uint8Array.of(0x05, 0x2a, 0xd4, 0xcd, 1, 2, 3, 4))), '400 INPUT_FETCH_ERROR');
    assert.equal(await temp.ping(), true, 'the session goes on');
    assert.deepEqual(keysSeen, [], 'no binding attempt, good or bad, reached the API');
  } finally {
    await srv.stop();
  }
});

/** auth.dropTempAuthKeys#8e48a188 except_auth_keys:Vector<long>, each key id as the long its 8 bytes are. */
function dropTempKeysCall(except: readonly Uint8Array[]): Uint8Array {
  const b = Buffer.alloc(12 + 8 * except.length);
  b.writeUInt32LE(0x8e48a188, 0);
  b.writeUInt32LE(0x1cb5c415, 4);
  b.writeInt32LE(except.length, 8);
  except.forEach((id, i) => Buffer.from(id).copy(b, 12 + 8 * i));
  return new Uint8Array(b);
}

test('auth.dropTempAuthKeys (TDLib\'s watchdog): the bound temporary key stays while listed, goes when not; the permanent key and an unbound temporary key go on', async () => {
  const srv = await startServer();
  try {
    const perm = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    const temp = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp_dc', expiresIn: 3600 });
    const loose = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate', { inner: 'p_q_inner_data_temp_dc', expiresIn: 3600 });
    const msgId = clientMsgId();
    const nonce = 5n;
    const expiresAt = Math.floor(Date.now() / 1000) + 1800;
    const encrypted = bindingMessage({ nonce, tempKeyId: temp.auth.authKeyId, permKeyId: perm.auth.authKeyId, permKey: perm.auth.authKey, tempSessionId: temp.sessionId, expiresAt, msgId });
    assert.ok(isTrue(await call(temp, bindCall(perm.auth.authKeyId, nonce, expiresAt, encrypted), msgId)));
    // Listed (called over the bound key itself, which acts for the permanent one): kept.
    const kept = await call(temp, dropTempKeysCall([temp.auth.authKeyId, loose.auth.authKeyId]));
    assert.ok(isTrue(kept), JSON.stringify(kept, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.equal((await srv.keyStore.get(temp.auth.authKeyId))?.boundTo, authKeyIdHex(perm.auth.authKeyId));
    assert.equal(await temp.ping(), true);
    // An unbound temporary key has none to drop: it and the bound one go on.
    assert.ok(isTrue(await call(loose, dropTempKeysCall([]))));
    assert.equal(await loose.ping(), true);
    assert.ok(await srv.keyStore.get(temp.auth.authKeyId) !== undefined);
    // Not listed: the bound key is gone (its next frame gets -404); the permanent key goes on.
    assert.ok(isTrue(await call(perm, dropTempKeysCall([loose.auth.authKeyId]))));
    assert.equal(await srv.keyStore.get(temp.auth.authKeyId), undefined);
    temp.send({ _: 'ping', ping_id: 2n });
    assert.deepEqual(await temp.conn.next(3000), { kind: 'error', code: -404 });
    assert.equal(await perm.ping(), true);
    assert.equal(await loose.ping(), true);
  } finally {
    await srv.stop();
  }
});
