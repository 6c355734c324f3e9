/**
 * gramjs (telegram 2.26, CommonJS) as an independent MTProto client for the tests, loaded with
 * createRequire and narrowed to the few internals used: its connection classes, its own
 * authenticator (network/Authenticator.js doAuthentication), MTProtoSender and the RSA key table.
 */
import { createRequire } from 'node:module';
import type { ServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';

const require = createRequire(import.meta.url);

export interface BigIntegerLike {
  toString(): string;
  equals(other: BigIntegerLike | number | string): boolean;
}
type BigIntFactory = (v: string | number) => BigIntegerLike;

export interface GramAuthKey {
  getKey(): Buffer | undefined;
  keyId: BigIntegerLike | undefined;
  setKey(value: Buffer | GramAuthKey): Promise<void>;
}

export interface GramConnection {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  send(data: Buffer): Promise<void>;
  recv(): Promise<Buffer>;
}

interface ConnectionParams {
  ip: string;
  port: number;
  dcId: number;
  loggers: unknown;
  socket: unknown;
  testServers: boolean;
  proxy?: undefined;
}
type ConnectionClass = new (p: ConnectionParams) => GramConnection;

export interface GramRequest { className: string }
export interface GramPong { className: string; msgId: BigIntegerLike; pingId: BigIntegerLike }

export interface GramSender {
  connect(connection: GramConnection, force?: boolean): Promise<boolean>;
  disconnect(): Promise<void>;
  send(request: GramRequest): Promise<unknown>;
  authKey: GramAuthKey;
}
type SenderClass = new (authKey: GramAuthKey | undefined, opts: Record<string, unknown>) => GramSender;

const network = require('telegram/network') as {
  ConnectionTCPAbridged: ConnectionClass;
  ConnectionTCPFull: ConnectionClass;
  ConnectionTCPObfuscated: ConnectionClass;
  MTProtoSender: SenderClass;
  MTProtoPlainSender: new (connection: GramConnection, log: unknown) => unknown;
  doAuthentication(sender: unknown, log: unknown): Promise<{ authKey: GramAuthKey; timeOffset: number }>;
};
const { Logger, LogLevel } = require('telegram/extensions/Logger') as {
  Logger: new (level: string) => unknown;
  LogLevel: { NONE: string; ERROR: string; DEBUG: string };
};
const { PromisedNetSockets } = require('telegram/extensions/PromisedNetSockets') as { PromisedNetSockets: unknown };
const { PromisedWebSockets } = require('telegram/extensions/PromisedWebSockets') as { PromisedWebSockets: unknown };
const rsa = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: BigIntegerLike; e: number }> };
const { AuthKey } = require('telegram/crypto/AuthKey') as { AuthKey: new () => GramAuthKey };
const { Api } = require('telegram/tl') as { Api: { Ping: new (a: { pingId: BigIntegerLike }) => GramRequest } };
export const bigInt = require('big-integer') as BigIntFactory;

export const gramLogger = new Logger(process.env['GRAMJS_DEBUG'] ? LogLevel.DEBUG : LogLevel.NONE);

/** gramjs only talks to servers whose key is in its table, keyed by the signed fingerprint. */
export function pinServerKey(key: ServerRsaKey): void {
  rsa._serverKeys.set(BigInt.asIntN(64, key.fingerprint).toString(), { n: bigInt(key.n.toString()), e: Number(key.e) });
}

export type GramTransport = 'abridged' | 'full' | 'obfuscated' | 'websocket';

/** gramjs' Connection classes take ip/port directly, so no TelegramClient (ports 80/443) is needed. */
export function gramConnection(kind: GramTransport, port: number): GramConnection {
  const cls = kind === 'abridged' ? network.ConnectionTCPAbridged : kind === 'full' ? network.ConnectionTCPFull : network.ConnectionTCPObfuscated;
  // websocket: gramjs' browser path — obfuscated abridged over ws://ip:port/apiws, subprotocol "binary".
  const socket = kind === 'websocket' ? PromisedWebSockets : PromisedNetSockets;
  return new cls({ ip: '127.0.0.1', port, dcId: 2, loggers: gramLogger, socket, testServers: false });
}

/**
 * Creates an auth key with gramjs' own authenticator. gramjs 2.26 turns g_a^b into bytes with
 * getByteArray, which drops leading zero bytes: when the shared key starts with 0x00 (~1 in 256)
 * its key (and new_nonce_hash1 check) is wrong and it rejects our correct dh_gen_ok. That is a
 * client bug, so the handshake is retried a few times on a fresh connection.
 */
export async function gramAuthenticate(kind: GramTransport, port: number, attempts = 5): Promise<{ authKey: GramAuthKey; timeOffset: number; failures: number }> {
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const conn = gramConnection(kind, port);
    try {
      await conn.connect();
      const plain = new network.MTProtoPlainSender(conn, gramLogger);
      const res = await network.doAuthentication(plain, gramLogger);
      return { ...res, failures: i };
    } catch (err) {
      lastErr = err;
    } finally {
      await conn.disconnect().catch(() => undefined);
    }
  }
  throw new Error(`gramjs could not create an auth key in ${attempts} attempts: ${String(lastErr)}`);
}

export function newAuthKey(): GramAuthKey {
  return new AuthKey();
}

/** A gramjs MTProtoSender on an existing key: encrypted layer only, no reconnect games. */
export async function gramSender(kind: GramTransport, port: number, authKey: GramAuthKey, timeOffset = 0): Promise<GramSender> {
  const sender = new network.MTProtoSender(authKey, {
    logger: gramLogger, dcId: 2, retries: 1, delay: 100, autoReconnect: false, reconnectRetries: 0,
    client: { _errorHandler: undefined, networkSocket: kind === 'websocket' ? PromisedWebSockets : PromisedNetSockets },
    isMainSender: true, securityChecks: true,
  });
  (sender as unknown as { _state: { timeOffset: number } })._state.timeOffset = timeOffset;
  const ok = await sender.connect(gramConnection(kind, port));
  if (!ok) throw new Error('gramjs sender did not connect');
  return sender;
}

export function ping(id: number): GramRequest {
  return new Api.Ping({ pingId: bigInt(id) });
}

// ---- a stock TelegramClient ----------------------------------------------------------------

export interface GramRpcError extends Error { code?: number; errorMessage?: string }

export interface StockClient {
  connect(): Promise<boolean>;
  destroy(): Promise<void>;
  invoke(request: GramRequest): Promise<unknown>;
  getMe(): Promise<unknown>;
  isUserAuthorized(): Promise<boolean>;
  session: { dcId: number; getAuthKey(dcId?: number): GramAuthKey | undefined };
}

/** What a user may configure on a stock TelegramClient besides where it connects. */
export interface StockClientOptions {
  /** gramjs' default is true; the tests that do not restart the server turn it off. */
  autoReconnect?: boolean;
  connectionRetries?: number;
  retryDelay?: number;
  /** An auth key saved from an earlier run, as gramjs' sessions restore it (see stockClientWithKey). */
  authKey?: GramAuthKey;
}

const { TelegramClient } = require('telegram') as {
  TelegramClient: new (session: unknown, apiId: number, apiHash: string, opts: Record<string, unknown>) => StockClient;
};
const { MemorySession } = require('telegram/sessions') as {
  MemorySession: new () => { setDC(dcId: number, ip: string, port: number): void; setAuthKey(key: GramAuthKey, dcId?: number): void };
};
export const GramApi = (require('telegram/tl') as { Api: GramApiNamespace }).Api;

type Ctor<A = Record<string, unknown>> = new (args?: A) => GramRequest;
export interface GramApiNamespace {
  help: { GetNearestDc: Ctor; GetConfig: Ctor };
  updates: { GetState: Ctor };
  users: { GetUsers: Ctor };
  InputUserSelf: Ctor;
}

/**
 * gramjs' stock TelegramClient, unchanged but for what a user configures: a Connection subclass
 * that dials our host and port (TelegramClient takes no port of its own: it uses 80/443), the
 * pinned server key (pinServerKey) and a fresh MemorySession on DC 2 (StringSession.save packs
 * the port into 16 signed bits: ephemeral ports above 32767 throw). connectionRetries covers
 * gramjs' ~1-in-256 handshake bug (see gramAuthenticate).
 */
/** A stock client whose session holds a saved auth key (what a restarted bot or app does). */
export async function stockClientWithKey(port: number, key: Buffer, opts: Omit<StockClientOptions, 'authKey'> = {}): Promise<StockClient> {
  const authKey = new AuthKey();
  await authKey.setKey(key);
  return stockClient(port, 'full', { ...opts, authKey });
}

export function stockClient(port: number, kind: 'full' | 'abridged' | 'obfuscated' = 'full', opts: StockClientOptions = {}): StockClient {
  const base = kind === 'full' ? network.ConnectionTCPFull : kind === 'abridged' ? network.ConnectionTCPAbridged : network.ConnectionTCPObfuscated;
  class LocalConnection extends base {
    constructor(p: ConnectionParams) {
      super({ ...p, ip: '127.0.0.1', port });
    }
  }
  const session = new MemorySession();
  session.setDC(2, '127.0.0.1', port);
  if (opts.authKey !== undefined) session.setAuthKey(opts.authKey, 2);
  return new TelegramClient(session, 12345, '0123456789abcdef0123456789abcdef', {
    connection: LocalConnection,
    connectionRetries: opts.connectionRetries ?? 5,
    retryDelay: opts.retryDelay ?? 50,
    autoReconnect: opts.autoReconnect ?? false,
    requestRetries: 1,
    baseLogger: gramLogger,
  });
}
