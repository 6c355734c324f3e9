import { registerTempKeyMethods } from './api/methods/temp-keys.ts';
import { createServer, type Server, type Socket } from 'node:net';
import type { AheadOfGuard } from './session/ahead-of-guard.ts';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/metrics.ts';
import { fingerprintLosesLeadingZero, type ServerRsaKey } from './crypto/rsa.ts';
import type { AuthKeyStore } from './store/auth-key-store.ts';
import { localReplayGuard, type ReplayGuard } from './session/replay-guard.ts';
import { createMtprotoMetrics } from './metrics.ts';
import { MtprotoConnection, type ConnectionDeps, type TransportFactory } from './connection.ts';
import { ServerMsgIdGenerator } from './session/msg-id.ts';
import { SaltSchedule } from './session/salts.ts';
import { SessionRegistry } from './session/session-state.ts';
import { KeyCache } from './session/key-cache.ts';
import { FailedMsgKeys } from './session/failed-msg-keys.ts';
import type { RpcHandler } from './session/rpc.ts';
import { withTempKeys } from './session/temp-keys.ts';
import { createApiRpc, type ApiOptions } from './api/index.ts';
import type { ClientInfoStore } from './api/client-info.ts';
import { createServiceCodec } from './session/service-codec.ts';
import { ServerTransport } from './transport/server-transport.ts';
import { TokenBucket, TokenBuckets } from '../../core/token-bucket.ts';
import { DEFAULT_GZIP_RESULTS_FROM } from './session/gzip-results.ts';

/** Remote addresses whose handshake budget is remembered at most (the least recently used are forgotten: a forgotten one starts full). */
const MAX_HANDSHAKE_ADDRESSES = 100_000;

export interface MtprotoServerOptions {
  /** Default 127.0.0.1: exposing the port is an explicit decision. */
  host?: string;
  /** 0 = ephemeral (tests). */
  port: number;
  rsaKey: ServerRsaKey;
  keyStore: AuthKeyStore;
  logger: Logger;
  registry: Registry;
  maxConnections?: number;
  maxFrameBytes?: number;
  handshakeTimeoutMs?: number;
  /** The API layer; default: api/'s dispatcher (help.*, plus what `api` adds; rpc_errors for the rest). */
  rpc?: RpcHandler;
  /** What the default dispatcher serves beyond help.* (the chat layer's methods and logins). */
  api?: Pick<ApiOptions, 'extend' | 'authorizations' | 'codec'>;
  /** The DC id this server is in the config it hands out (default 2). */
  dcId?: number;
  /**
   * Host and port the config tells clients to connect to (default: host, or 127.0.0.1 for a
   * wildcard bind, and the bound port). Set them when clients reach the server through NAT or a
   * proxy, or when host is 0.0.0.0 / ::.
   */
  advertiseHost?: string;
  advertisePort?: number;
  /** Salt derivation secret; share between instances behind one address (random if absent). */
  saltSecret?: Uint8Array;
  /**
   * Seen client msg_ids shared by the instances that share keyStore and saltSecret (otherwise a
   * frame replayed to another instance is processed again), kept across restarts. Default: this
   * process only, with the restart floor below.
   */
  replayGuard?: ReplayGuard;
  /**
   * ms since the epoch: client msg_ids from before it are refused with bad_msg_notification 16
   * (the client re-syncs its clock and re-sends). Default: the server's creation time when no
   * replayGuard is given, so a frame captured before a restart cannot be replayed after it
   * (this process never saw it); 0 (off) with a shared replayGuard, which remembers them.
   */
  acceptMsgIdsFrom?: number;
  /** The announced layer and app info per auth key (default: process memory); given to the default rpc. */
  clientInfo?: ClientInfoStore;
  framesPerSecond?: number;
  frameBurst?: number;
  /** API results of at least this many bytes are sent as gzip_packed when smaller (DEFAULT_GZIP_RESULTS_FROM); 0: never. */
  gzipResultsFrom?: number;
  /** Calls a frame may process before the shared replay guard answers (session/ahead-of-guard.ts); undefined: every frame waits. */
  aheadOfGuard?: AheadOfGuard;
  maxPendingHandshakes?: number;
  /**
   * Auth keys one remote address may start making (req_DH_params, the RSA step), per minute
   * sustained and in a burst; past them -429 and close. Default 60 and 120.
   */
  handshakesPerMinute?: number;
  handshakeBurst?: number;
  /** WebSocket path for handleUpgrade; Telegram clients use /apiws. */
  wsPath?: string;
  /** Framing layer; defaults to transport/'s ServerTransport (tests may inject another). */
  createTransport?: TransportFactory;
}

export interface MtprotoServer {
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  /** Shutdown: the TCP listener closes and /apiws upgrades get 503; open connections are untouched until stop(). */
  stopAccepting(): void;
  /** MTProto over WebSocket (path /apiws, subprotocol "binary"), called by the app's HTTP server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  readonly connections: number;
}

const defaultTransport: TransportFactory = (o) => new ServerTransport(o);

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export function createMtprotoServer(opts: MtprotoServerOptions): MtprotoServer {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.logger.child({ component: 'mtproto' });
  const metrics = createMtprotoMetrics(opts.registry);
  const maxConnections = opts.maxConnections ?? 10_000;
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const wsPath = opts.wsPath ?? '/apiws';
  let boundPort = opts.port;
  const wildcard = host === '0.0.0.0' || host === '::';
  const dc = { id: opts.dcId ?? 2, host: opts.advertiseHost ?? (wildcard ? '127.0.0.1' : host) };
  const keyCache = new KeyCache();
  // Temporary keys: auth.bindTempAuthKey, and calls on a bound key act for its permanent key.
  const rpc = withTempKeys(opts.rpc ?? createApiRpc({
    dc: () => ({ ...dc, port: opts.advertisePort ?? boundPort }),
    registry: opts.registry,
    logger: log,
    maxInflatedBytes: maxFrameBytes * 8,
    ...opts.api,
    // The keys' own calls (auth.dropTempAuthKeys), beside what the chat layer serves.
    extend: (methods) => {
      registerTempKeyMethods(methods, { keyStore: opts.keyStore, keyCache });
      opts.api?.extend?.(methods);
    },
    ...(opts.clientInfo ? { clients: opts.clientInfo } : {}),
  }), { keyStore: opts.keyStore, keyCache });
  const deps: ConnectionDeps = {
    // Inflated gzip_packed (at any depth) is capped like the frames it arrives in.
    codec: createServiceCodec({ maxInflatedBytes: maxFrameBytes * 8 }),
    keyStore: opts.keyStore,
    keyCache,
    rsaKey: opts.rsaKey,
    salts: new SaltSchedule(opts.saltSecret ? { secret: opts.saltSecret } : {}),
    sessions: new SessionRegistry(),
    msgIds: new ServerMsgIdGenerator(),
    rpc,
    logger: log,
    metrics,
    replayGuard: opts.replayGuard ?? localReplayGuard,
    msgIdFloorMs: opts.acceptMsgIdsFrom ?? (opts.replayGuard === undefined ? Date.now() : 0),
    failedMsgKeys: new FailedMsgKeys(),
    gzipResultsFrom: opts.gzipResultsFrom ?? DEFAULT_GZIP_RESULTS_FROM,
    ...(opts.aheadOfGuard !== undefined ? { aheadOfGuard: opts.aheadOfGuard } : {}),
    now: Date.now,
    limits: {
      maxFrameBytes,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 30_000,
      framesPerSecond: opts.framesPerSecond ?? 200,
      frameBurst: opts.frameBurst ?? 400,
      maxPendingHandshakes: opts.maxPendingHandshakes ?? 512,
    },
    pendingHandshakes: { count: 0 },
    handshakeBuckets: new TokenBuckets(MAX_HANDSHAKE_ADDRESSES, () => new TokenBucket((opts.handshakesPerMinute ?? 60) / 60, opts.handshakeBurst ?? 120)),
    createTransport: opts.createTransport ?? defaultTransport,
  };

  const live = new Set<{ conn: MtprotoConnection; kill(): void }>();
  let server: Server | undefined;
  let accepting = true;
  let listenerClosed: Promise<void> | undefined;
  // net.Server.close() calls back once, when the last connection ended: one promise for every caller.
  const closeListener = (srv: Server): Promise<void> => (listenerClosed ??= new Promise<void>((resolve) => srv.close(() => resolve())));
  let nextId = 0;
  // maxPayload bounds one WS message; framing inside is still checked by the transport.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes + 64, perMessageDeflate: false });

  function admit(kind: 'tcp' | 'websocket'): boolean {
    if (live.size >= maxConnections) {
      metrics.connectionsRejected.inc({ reason: 'max-connections' });
      return false;
    }
    metrics.connectionsTotal.inc({ transport: kind });
    metrics.connections.inc({ transport: kind });
    return true;
  }

  function onTcp(socket: Socket): void {
    if (!admit('tcp')) { socket.destroy(); return; }
    socket.setNoDelay(true);
    const connLog = log.child({ conn: ++nextId, transport: 'tcp', peer: socket.remoteAddress });
    let entry: { conn: MtprotoConnection; kill(): void } | undefined;
    const conn = new MtprotoConnection(deps, {
      peer: socket.remoteAddress ?? '?',
      write: (bytes) => { if (!socket.destroyed) socket.write(bytes); },
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      end: () => {
        socket.end();
        // A peer that never reads must not keep the socket: destroy shortly after end().
        setTimeout(() => socket.destroy(), 2000).unref();
      },
    }, 'tcp', connLog, () => {
      if (entry && live.delete(entry)) metrics.connections.dec({ transport: 'tcp' });
    });
    entry = { conn, kill: () => socket.destroy() };
    live.add(entry);
    socket.on('data', (chunk: Buffer) => conn.feed(chunk));
    socket.on('error', (err) => connLog.debug({ err }, 'mtproto socket error'));
    socket.on('close', () => conn.close('peer-closed'));
  }

  function onWebSocket(ws: WebSocket, req: IncomingMessage): void {
    if (!admit('websocket')) { ws.terminate(); return; }
    const connLog = log.child({ conn: ++nextId, transport: 'websocket', peer: req.socket.remoteAddress });
    let entry: { conn: MtprotoConnection; kill(): void } | undefined;
    const conn = new MtprotoConnection(deps, {
      peer: req.socket.remoteAddress ?? '?',
      write: (bytes) => { if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true }); },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
      end: () => {
        ws.close();
        setTimeout(() => ws.terminate(), 2000).unref();
      },
    }, 'websocket', connLog, () => {
      if (entry && live.delete(entry)) metrics.connections.dec({ transport: 'websocket' });
    });
    entry = { conn, kill: () => ws.terminate() };
    live.add(entry);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (!isBinary) { conn.close('text-frame'); return; }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      conn.feed(chunk);
    });
    ws.on('error', (err) => connLog.debug({ err }, 'mtproto websocket error'));
    ws.on('close', () => conn.close('peer-closed'));
  }

  function reject(socket: Duplex, status: string): void {
    try {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } catch { /* already closed */ }
    socket.destroy();
  }

  return {
    get connections() {
      return live.size;
    },

    async start() {
      if (server) throw new Error('mtproto server already started');
      const srv = createServer({ noDelay: true }, onTcp);
      srv.on('error', (err) => log.error({ err }, 'mtproto listener error'));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(opts.port, host, () => { srv.off('error', reject); resolve(); });
      });
      server = srv;
      const addr = srv.address();
      const port = addr !== null && typeof addr === 'object' ? addr.port : opts.port;
      boundPort = port;
      if (wildcard && opts.advertiseHost === undefined && opts.rpc === undefined) {
        log.warn({ host }, 'mtproto bound to a wildcard address without advertiseHost: the config sends clients to 127.0.0.1');
      }
      log.info({ host, port, fingerprint: opts.rsaKey.fingerprintHex }, 'mtproto server listening');
      if (fingerprintLosesLeadingZero(opts.rsaKey.fingerprintHex)) {
        log.warn({ fingerprint: opts.rsaKey.fingerprintHex }, 'mtproto: this key\'s fingerprint begins with 0, which mtcute 0.30 clients cannot find (they retry the handshake forever); `switchboard keygen` makes keys without one');
      }
      return { port };
    },

    stopAccepting() {
      accepting = false;
      if (server) void closeListener(server);
    },

    async stop() {
      accepting = false;
      const srv = server;
      server = undefined;
      for (const entry of [...live]) {
        entry.conn.close('server-stop');
        entry.kill();
      }
      for (const ws of wss.clients) ws.terminate();
      if (srv) await closeListener(srv);
      else await listenerClosed;
    },

    handleUpgrade(req, socket, head) {
      try {
        const path = (req.url ?? '').split('?')[0];
        if (path !== wsPath) { reject(socket, '404 Not Found'); return; }
        if (!accepting) { reject(socket, '503 Service Unavailable'); return; }
        const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
        if (!protocols.includes('binary')) { reject(socket, '400 Bad Request'); return; }
        wss.handleUpgrade(req, socket, head, (ws) => onWebSocket(ws, req));
      } catch (err) {
        log.warn({ err }, 'mtproto websocket upgrade failed');
        reject(socket, '400 Bad Request');
      }
    },
  };
}
