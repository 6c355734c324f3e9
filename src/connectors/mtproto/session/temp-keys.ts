// Temporary auth keys (core.telegram.org/api/pfs): auth.bindTempAuthKey, and what a bound key
// means afterwards. Wraps the API's RpcHandler: the binding call is answered here (it is about
// keys, and the API layer never sees it), and every other call on a bound temporary key reaches
// the API as a call of its permanent key (whose login and client info it then uses), which is
// what binding means.
import { isRaw, rawObject, type TlObject } from '../tl/codec.ts';
import { TlReader } from '../tl/reader.ts';
import { equalBytes } from '../crypto/constant-time.ts';
import { decryptPayloadV1 } from '../crypto/mtproto1.ts';
import { authKeyIdBytes, authKeyIdHex, type AuthKeyRecord, type AuthKeyStore } from '../store/auth-key-store.ts';
import type { KeyCache } from './key-cache.ts';
import { RpcError, type RpcContext, type RpcHandler } from './rpc.ts';

export const BIND_TEMP_AUTH_KEY_ID = 0xcdd42a05;
const BIND_AUTH_KEY_INNER_ID = 0x75a3f765;
const BOOL_TRUE_ID = 0x997275b5;
/** bind_auth_key_inner: constructor + nonce, temp id, perm id, temp session (longs) + expires_at. */
const BIND_INNER_BYTES = 40;

export interface TempKeyDeps {
  keyStore: AuthKeyStore;
  keyCache: KeyCache;
  now?: () => number;
}

interface BindCall {
  permAuthKeyId: bigint;
  nonce: bigint;
  expiresAt: number;
  encryptedMessage: Uint8Array;
}

/** rpc_errors of core.telegram.org/method/auth.bindTempAuthKey. */
const encryptedMessageInvalid = () => new RpcError(400, 'ENCRYPTED_MESSAGE_INVALID');
const tempAuthKeyEmpty = () => new RpcError(400, 'TEMP_AUTH_KEY_EMPTY');
const tempAuthKeyAlreadyBound = () => new RpcError(400, 'TEMP_AUTH_KEY_ALREADY_BOUND');

export function withTempKeys(inner: RpcHandler, deps: TempKeyDeps): RpcHandler {
  const record = (id: Uint8Array): Promise<AuthKeyRecord | undefined> =>
    deps.keyCache.get(authKeyIdHex(id), () => deps.keyStore.get(id));

  return async (call: TlObject, rpc: RpcContext): Promise<TlObject> => {
    const bind = parseBindCall(call);
    if (bind !== null) return await bindTempKey(bind, rpc, deps, record);
    // The frame's key is in the cache already (the session layer just used it): no store trip.
    const own = await record(rpc.authKeyId);
    if (own?.boundTo !== undefined) return await inner(call, { ...rpc, authKeyId: authKeyIdBytes(own.boundTo) });
    return await inner(call, rpc);
  };
}

/** The call when it is auth.bindTempAuthKey sent as it is (not inside invoke* wrappers), else null. */
function parseBindCall(call: TlObject): BindCall | null {
  if (!isRaw(call) || call.bytes.length < 4) return null;
  const r = new TlReader(call.bytes);
  if (r.uint32() !== BIND_TEMP_AUTH_KEY_ID) return null;
  try {
    const parsed = { permAuthKeyId: r.int64(), nonce: r.int64(), expiresAt: r.int32(), encryptedMessage: r.bytes() };
    if (r.remaining !== 0) throw encryptedMessageInvalid();
    return parsed;
  } catch (err) {
    if (err instanceof RpcError) throw err;
    throw new RpcError(400, 'INPUT_FETCH_ERROR');
  }
}

/**
 * Checks the binding message per the method's page: it decrypts (MTProto v1) under the named
 * permanent key, its msg_id is the call's and its seqno 0, and its nonce, temporary key id,
 * permanent key id, session id and expires_at are the call's. Any mismatch is
 * ENCRYPTED_MESSAGE_INVALID (clients take that to mean the permanent key is gone, so it is only
 * answered for a bad binding message, never for a server-side problem).
 */
async function bindTempKey(call: BindCall, rpc: RpcContext, deps: TempKeyDeps, record: (id: Uint8Array) => Promise<AuthKeyRecord | undefined>): Promise<TlObject> {
  const temp = await record(rpc.authKeyId);
  if (temp === undefined || temp.expiresAt === undefined) throw tempAuthKeyEmpty();
  const msg = call.encryptedMessage;
  if (msg.length < 24 + 32) throw encryptedMessageInvalid();
  const permId = msg.subarray(0, 8);
  if (new DataView(permId.buffer, permId.byteOffset, 8).getBigInt64(0, true) !== call.permAuthKeyId) throw encryptedMessageInvalid();
  const perm = await record(permId);
  if (perm === undefined || perm.expiresAt !== undefined) throw encryptedMessageInvalid();
  const opened = decryptPayloadV1(perm.key, msg.subarray(8, 24), msg.subarray(24));
  if (opened === null || opened.dataLength !== BIND_INNER_BYTES) throw encryptedMessageInvalid();
  const p = new TlReader(opened.plain, 16, 32 + BIND_INNER_BYTES);
  const msgId = p.int64();
  const seqNo = p.int32();
  p.int32(); // length, checked by decryptPayloadV1
  const ok = msgId === rpc.msgId && seqNo === 0
    && p.uint32() === BIND_AUTH_KEY_INNER_ID
    && p.int64() === call.nonce
    && equalBytes(p.raw(8), rpc.authKeyId)
    && p.int64() === call.permAuthKeyId
    && p.int64() === rpc.sessionId
    && p.int32() === call.expiresAt;
  if (!ok) throw encryptedMessageInvalid();

  const outcome = await deps.keyStore.bind(rpc.authKeyId, authKeyIdHex(permId), call.expiresAt * 1000);
  if (outcome === 'already-bound') throw tempAuthKeyAlreadyBound();
  if (outcome !== 'bound') throw tempAuthKeyEmpty();
  // The next frame of this key reloads it, bound.
  deps.keyCache.delete(authKeyIdHex(rpc.authKeyId));
  const answer = new Uint8Array(4);
  new DataView(answer.buffer).setUint32(0, BOOL_TRUE_ID, true);
  return rawObject(answer);
}
