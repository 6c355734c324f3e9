/**
 * mtcute (npm @mtcute/core 0.30, layer 227) as an independent MTProto client for the tests: a
 * TypeScript library written apart from gramjs and Telethon, which speaks a layer newer than any
 * gramjs release. @mtcute/core is platform-neutral; what @mtcute/node adds for Node (a crypto
 * provider over node:crypto and mtcute's own WebAssembly AES-IGE, a TCP transport, a platform
 * object) is written out here because @mtcute/node also pulls in better-sqlite3, a native module
 * a clean install could not build offline. Everything MTProto is mtcute's: only the server's
 * address (its DC table) and its RSA key (mtcute's own key table, `addPublicKey`) are ours.
 */
import { createCipheriv, createHash, createHmac, pbkdf2, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { deflateSync, gunzipSync } from 'node:zlib';
import { connectTcp } from '@fuman/node';
import { IntermediatePacketCodec, MemoryStorage } from '@mtcute/core';
import { BaseTelegramClient, TelegramClient } from '@mtcute/core/client.js';
import { addPublicKey, BaseCryptoProvider } from '@mtcute/core/utils.js';
import { ige256Decrypt, ige256Encrypt, initSync } from '@mtcute/wasm';
import type { ServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';

const require = createRequire(import.meta.url);

/** What @mtcute/node's NodeCryptoProvider does: node:crypto, and AES-IGE from mtcute's WebAssembly module. */
class NodeCrypto extends BaseCryptoProvider {
  createAesCtr(key: Uint8Array, iv: Uint8Array): { process(data: Uint8Array): Uint8Array } {
    const cipher = createCipheriv(`aes-${key.length * 8}-ctr`, key, iv);
    return { process: (data) => cipher.update(data) };
  }
  pbkdf2(password: Uint8Array, salt: Uint8Array, iterations: number, keylen = 64, algo = 'sha512'): Promise<Uint8Array> {
    return new Promise((resolve, reject) => pbkdf2(password, salt, iterations, keylen, algo, (err, buf) => (err !== null ? reject(err) : resolve(buf))));
  }
  sha1(data: Uint8Array): Uint8Array { return createHash('sha1').update(data).digest(); }
  sha256(data: Uint8Array): Uint8Array { return createHash('sha256').update(data).digest(); }
  hmacSha256(data: Uint8Array, key: Uint8Array): Uint8Array { return createHmac('sha256', key).update(data).digest(); }
  gzip(data: Uint8Array, maxSize: number): Uint8Array | null {
    try {
      return deflateSync(data, { maxOutputLength: maxSize });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return null;
      throw e;
    }
  }
  gunzip(data: Uint8Array): Uint8Array { return gunzipSync(data); }
  randomFill(buf: Uint8Array): void { randomFillSync(buf); }
  async initialize(): Promise<void> {
    initSync(readFileSync(require.resolve('@mtcute/wasm/mtcute.wasm')));
  }
  createAesIge(key: Uint8Array, iv: Uint8Array): { encrypt(d: Uint8Array): Uint8Array; decrypt(d: Uint8Array): Uint8Array } {
    return { encrypt: (d) => ige256Encrypt(d, key, iv), decrypt: (d) => ige256Decrypt(d, key, iv) };
  }
}

class TcpTransport {
  async connect(dc: { ipAddress: string; port: number }): Promise<unknown> {
    const conn = await connectTcp({ address: dc.ipAddress, port: dc.port });
    conn.setNoDelay(true);
    return conn;
  }
  packetCodec(): IntermediatePacketCodec { return new IntermediatePacketCodec(); }
}

const platform = {
  beforeExit: () => () => {},
  log: (_c: number, level: number, tag: string, fmt: string, args: unknown[]) => {
    if (process.env['MTCUTE_TEST_LOG']) console.error(`[mtcute ${level} ${tag}] ${fmt}`, ...args);
  },
  getDefaultLogLevel: () => (process.env['MTCUTE_TEST_LOG'] ? 5 : 1),
  getDeviceModel: () => `Node.js/${process.version}`,
};

/** The server's key into mtcute's own key table (what a user of mtcute does for a private server). */
function pinKey(key: Pick<ServerRsaKey, 'publicKeyPem'>): void {
  addPublicKey(new NodeCrypto(), key.publicKeyPem);
}

export type MtcuteClient = TelegramClient;

/**
 * A stock mtcute client for the bridge on 127.0.0.1:`port` (its DC 2), with an in-memory session
 * (`storage`: one kept by the test, so that a new client takes up where an old one stopped, as an
 * app started again does with its stored session).
 * `catchUp`: mtcute's own option to ask for what was missed (updates.getDifference) each time its
 * updates loop starts, as apps set it; without it mtcute learns of a gap from the next update.
 */
export function mtcuteClient(port: number, key: Pick<ServerRsaKey, 'publicKeyPem'>, opts: { catchUp?: boolean; storage?: MemoryStorage; usePfs?: boolean } = {}): TelegramClient {
  pinKey(key);
  const dc = { id: 2, ipAddress: '127.0.0.1', port };
  const base = new BaseTelegramClient({
    apiId: 12345,
    apiHash: '0123456789abcdef0123456789abcdef',
    storage: opts.storage ?? new MemoryStorage(),
    crypto: new NodeCrypto(),
    transport: new TcpTransport() as never,
    platform,
    defaultDcs: { main: dc, media: { ...dc, mediaOnly: true } },
    updates: { catchUp: opts.catchUp ?? false },
    ...(opts.usePfs === true ? { network: { usePfs: true } } : {}),
  });
  return new TelegramClient({ client: base });
}
