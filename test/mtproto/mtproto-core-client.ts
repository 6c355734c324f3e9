// A second, independent MTProto client library: @mtproto/core 6.3 (its own TL schema at layer
// 158, its own handshake, AES and big-integer code, and the obfuscated intermediate transport,
// which gramjs does not have). Stock, pointed at the bridge the way the library itself is built
// for environments: makeMTProto() with the node env's parts and a transport whose DC is ours,
// the server key added to its RSA lookup (it only knows Telegram's keys), and the session kept in
// memory. Every call it makes goes in invokeWithLayer(158, initConnection(...)).
import { createRequire } from 'node:module';
import type { ServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';

const require = createRequire(import.meta.url);

/** A TL object as the library gives it: `_` names the constructor. */
export interface CoreObject { readonly _: string; readonly [field: string]: unknown }

/** What the library rejects a call with: its decoding of an rpc_error. */
export interface CoreRpcError { readonly _: 'mt_rpc_error'; readonly error_code: number; readonly error_message: string }

interface EventSource { on(name: string, listener: (update: CoreObject) => void): void }
interface CoreRpc { sendAcks: { cancel(): void } }
interface CoreClient {
  call(method: string, params?: Record<string, unknown>, options?: { syncAuth?: boolean }): Promise<CoreObject>;
  updates: EventSource;
  rpcs: Map<number, CoreRpc>;
}
type CoreClass = new (options: { api_id: number; api_hash: string; storageOptions: { instance: MemoryStore } }) => CoreClient;
type NodeTransport = new (dc: { id: number; ip: string; port: number }, crypto: unknown) => {
  socket: { destroy(): void };
  handleClose(hadError: boolean): Promise<void>;
};

class MemoryStore {
  readonly #items = new Map<string, string>();
  get(key: string): string | undefined { return this.#items.get(key); }
  set(key: string, value: string): void { this.#items.set(key, value); }
}

interface CoreRsaKey { fingerprint: string; modulus: string; exponent: string }
const pinned: ServerRsaKey[] = [];
let rsaPatched = false;

/** Adds the bridge's key to the library's RSA lookup (the equivalent of gramjs' `_serverKeys`). */
function pinKey(key: ServerRsaKey): void {
  if (!pinned.some((k) => k.fingerprint === key.fingerprint)) pinned.push(key);
  if (rsaPatched) return;
  rsaPatched = true;
  const RSA = require('@mtproto/core/src/utils/rsa') as { prototype: { getRsaKeyByFingerprints(fps: string[]): Promise<CoreRsaKey | null> } };
  const original = RSA.prototype.getRsaKeyByFingerprints;
  RSA.prototype.getRsaKeyByFingerprints = async function (this: unknown, fingerprints: string[]) {
    for (const fp of fingerprints) {
      const ours = pinned.find((k) => BigInt.asUintN(64, BigInt(fp)) === BigInt.asUintN(64, k.fingerprint));
      if (ours !== undefined) return { fingerprint: fp, modulus: ours.n.toString(16), exponent: ours.e.toString(16) };
    }
    return original.call(this, fingerprints);
  };
}

let retryPatched = false;

/**
 * @mtproto/core 6.3 makes its auth key as bigIntToBytes(g_a^b mod p) without padding it to 256
 * bytes, so when the key begins with a zero byte (about 1 handshake in 256) its key is one byte
 * short, its auth_key_aux_hash differs from the server's, and it throws "Invalid hash in
 * mt_dh_gen_ok" out of its message handler, never to recover. The server is right (the key is
 * 2048 bits: core.telegram.org/mtproto/auth_key); like the gramjs tests, which retry gramjs'
 * handshake for the same bug, the test client starts its handshake over.
 */
function retryShortKeys(): void {
  if (retryPatched) return;
  retryPatched = true;
  const RPC = require('@mtproto/core/src/rpc') as { prototype: { handleDHAnswer(buffer: unknown): Promise<void>; handleTransportOpen(): Promise<void>; setStorageItem(key: string, value: unknown): Promise<void> } };
  const original = RPC.prototype.handleDHAnswer;
  RPC.prototype.handleDHAnswer = async function (this: typeof RPC.prototype, buffer: unknown) {
    try {
      await original.call(this, buffer);
    } catch (err) {
      if (!(err instanceof Error) || err.message !== 'Invalid hash in mt_dh_gen_ok') throw err;
      await this.setStorageItem('authKey', null);
      await this.setStorageItem('serverSalt', null);
      await this.handleTransportOpen();
    }
  };
}

export interface CoreSession {
  /** A call; rejects with the library's rpc_error object, or after `timeoutMs` (the library itself never gives up). */
  call(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<CoreObject>;
  /** Every update the library emitted, in order, by its constructor name. */
  readonly updates: CoreObject[];
  /** The next update (seen or to come) that `pred` accepts. */
  nextUpdate(pred: (u: CoreObject) => boolean, timeoutMs?: number): Promise<CoreObject>;
  close(): void;
}

/** A stock @mtproto/core client for the bridge's MTProto port (DC 2, its default). */
export function coreSession(port: number, key: ServerRsaKey): CoreSession {
  pinKey(key);
  retryShortKeys();
  const makeMTProto = require('@mtproto/core/src') as (env: Record<string, unknown>) => CoreClass;
  const Transport = require('@mtproto/core/envs/node/transport') as NodeTransport;
  const transports: InstanceType<NodeTransport>[] = [];
  let closed = false;
  // The library reconnects whenever its socket closes; once the test is done it must stay closed.
  class LocalTransport extends Transport {
    constructor(dc: { id: number; ip: string; port: number }, crypto: unknown) {
      super({ ...dc, ip: '127.0.0.1', port }, crypto);
      transports.push(this);
    }
    override async handleClose(hadError: boolean): Promise<void> {
      if (!closed) await super.handleClose(hadError);
    }
  }
  const MTProto = makeMTProto({
    SHA1: require('@mtproto/core/envs/node/sha1'),
    SHA256: require('@mtproto/core/envs/node/sha256'),
    PBKDF2: require('@mtproto/core/envs/node/pbkdf2'),
    getRandomBytes: require('@mtproto/core/envs/node/get-random-bytes'),
    getLocalStorage: () => new MemoryStore(),
    createTransport: (dc: { id: number; ip: string; port: number }, crypto: unknown) => new LocalTransport(dc, crypto),
  });
  const client = new MTProto({ api_id: 1, api_hash: 'switchboard-test', storageOptions: { instance: new MemoryStore() } });
  const updates: CoreObject[] = [];
  const waiters: { pred: (u: CoreObject) => boolean; resolve: (u: CoreObject) => void }[] = [];
  const record = (u: CoreObject) => {
    updates.push(u);
    for (const w of [...waiters]) {
      if (w.pred(u)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(u);
      }
    }
  };
  for (const name of ['updates', 'updatesCombined', 'updateShort', 'updateShortMessage', 'updateShortChatMessage', 'updateShortSentMessage', 'updatesTooLong']) {
    client.updates.on(name, record);
  }
  return {
    updates,
    call(method, params = {}, timeoutMs = 10_000) {
      return new Promise<CoreObject>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`@mtproto/core: ${method} unanswered after ${timeoutMs} ms`)), timeoutMs);
        // syncAuth off: after a login the library copies it to Telegram's other DCs, which this bridge is not.
        client.call(method, params, { syncAuth: false }).then(
          (v) => { clearTimeout(timer); resolve(v); },
          (err: unknown) => { clearTimeout(timer); reject(err); },
        );
      });
    },
    nextUpdate(pred, timeoutMs = 10_000) {
      const seen = updates.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<CoreObject>((resolve, reject) => {
        const waiter = { pred, resolve: (u: CoreObject) => { clearTimeout(timer); resolve(u); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no such update within ${timeoutMs} ms; got: ${updates.map((u) => u._).join(', ')}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close() {
      closed = true;
      for (const rpc of client.rpcs.values()) rpc.sendAcks.cancel();
      for (const t of transports) t.socket.destroy();
    },
  };
}

/** The rpc_error a call was rejected with (fails the test when it was anything else). */
export function rpcErrorOf(err: unknown): CoreRpcError {
  const e = err as Partial<CoreRpcError>;
  if (e?._ !== 'mt_rpc_error') throw new Error(`expected an rpc_error, got ${String(err)}`);
  return e as CoreRpcError;
}
