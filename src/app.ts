import { hostname } from 'node:os';
import type { LoadedConfig } from './config/load.ts';
import { readMtprotoRsaKey } from './config/rsa-key.ts';
import { ConfigError } from './config/errors.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createRegistry, type Registry } from './core/metrics.ts';
import type { Bus, Stoppable } from './bus/types.ts';
import { createBus } from './bus/create.ts';
import { Router, type Bridge } from './router/router.ts';
import { WebSocketConnector } from './connectors/websocket/connector.ts';
import type { MtprotoServer } from './connectors/mtproto/server.ts';
import type { AuthKeyStore } from './connectors/mtproto/store/auth-key-store.ts';
import type { ReplayGuard } from './connectors/mtproto/session/replay-guard.ts';
import { startHttpServer, type HttpServer, type UpgradeHandler } from './http/server.ts';
import { healthReport } from './http/health.ts';

/** Connectors whose endpoints host many client sessions (see RouterOptions.hostedConnectors). */
const HOSTED_CONNECTORS = ['websocket', 'mtproto'];
const MTPROTO_WS_PATH = '/apiws';

export interface StartOptions {
  readonly logger?: Logger;
  /** Listen on this HTTP port instead of config.http.port (0 = any free port; tests). */
  readonly httpPortOverride?: number;
}

export interface App {
  readonly httpUrl: string;
  readonly httpPort: number;
  /** ws://host:port/path of the WebSocket connector, when enabled. */
  readonly wsUrl: string | undefined;
  readonly mtproto: { readonly port: number; readonly fingerprint: string } | undefined;
  readonly bus: Bus;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly instanceId: string;
  /** Graceful shutdown: stop accepting, drain, close. Idempotent; resolves when everything is closed. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Resolves after `ms`, or when `work` settles first: `true` when the work finished in time. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts one Switchboard instance from a loaded config: bus, router, connectors and the HTTP
 * server. If any part fails to start, what already started is closed again before the error
 * is rethrown, so a failed start leaves no listener or Redis connection behind.
 */
export async function startApp(loaded: LoadedConfig, options: StartOptions = {}): Promise<App> {
  const { config } = loaded;
  const logger = options.logger ?? createLogger(process.env['SWITCHBOARD_LOG_LEVEL'] ?? config.log.level);
  const registry = createRegistry();
  // The pid is always part of it: leases in Redis name their owner, and a restarted process must
  // never take the dead one's lease for its own (two owners) - it waits for it to expire instead.
  const instanceId = `${config.instance.id ?? hostname()}-${process.pid}`;
  const startedAt = Date.now();
  const log = logger.child({ instance: instanceId });

  // Undo stack for a failed start.
  const started: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const close of started.reverse()) await close().catch((err: unknown) => log.error({ err }, 'cleanup after failed start'));
  };

  try {
    const bus = await createBus(config.bus, { logger: log, registry, instanceId });
    started.push(() => bus.close());
    // createBus itself warns loudly when the driver is memory (not durable).

    const router = new Router(servedBridges(loaded, log), { hostedConnectors: HOSTED_CONNECTORS });
    const routing: Stoppable = bus.startRouting((event) => router.route(event));
    started.push(() => routing.close());

    const upgrades = new Map<string, UpgradeHandler>();
    let websocket: WebSocketConnector | undefined;
    if (config.websocket.enabled) {
      const connector = new WebSocketConnector({ config: config.websocket, bus, router, logger: log, registry, instanceId });
      await connector.start();
      started.push(() => connector.close());
      websocket = connector;
      upgrades.set(config.websocket.path, (req, socket, head) => connector.handleUpgrade(req, socket, head));
    }

    let mtproto: { server: MtprotoServer; port: number; fingerprint: string; closeStore: () => Promise<void> } | undefined;
    if (config.mtproto.enabled) {
      mtproto = await startMtproto(loaded, bus, log, registry);
      const { server, closeStore } = mtproto;
      started.push(async () => { await server.stop(); await closeStore(); });
      if (upgrades.has(MTPROTO_WS_PATH)) throw new Error(`websocket.path ${MTPROTO_WS_PATH} is reserved for MTProto over WebSocket`);
      upgrades.set(MTPROTO_WS_PATH, (req, socket, head) => server.handleUpgrade(req, socket, head));
    }

    let draining = false;
    const http: HttpServer = await startHttpServer({
      host: config.http.host,
      port: options.httpPortOverride ?? config.http.port,
      logger: log,
      ...(config.http.metrics ? { metrics: registry } : {}),
      upgrades,
      health: () => healthReport({
        bus, instance: instanceId, startedAt, draining: () => draining,
        ...(websocket ? { websocketConnections: () => websocket.connections } : {}),
      }),
    });
    started.push(() => http.close());

    const httpUrl = `http://${urlHost(config.http.host)}:${http.port}`;
    const wsUrl = websocket ? `ws://${urlHost(config.http.host)}:${http.port}${config.websocket.path}` : undefined;
    log.info({ httpUrl, wsUrl, bus: bus.driver, rooms: router.rooms.length, mtprotoPort: mtproto?.port }, 'switchboard started');

    let closing: Promise<void> | undefined;
    const shutdown = async (): Promise<void> => {
      draining = true;
      const t0 = Date.now();
      log.info({ drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'shutting down: no new connections, draining');
      // 1. Stop accepting: nothing new comes in while what is in hand finishes. The HTTP listener
      //    stays open until the end, so /healthz answers 503 "draining" (a load balancer stops
      //    sending clients) and new WS upgrades get the connector's 503 instead of a refused connect.
      websocket?.stopAccepting();
      mtproto?.server.stopAccepting();
      // Each closer runs once; a failure is logged and never keeps the others from running.
      const step = (name: string, close: () => Promise<void> | undefined) => {
        let run: Promise<boolean> | undefined;
        return () => (run ??= Promise.resolve().then(close).then(() => true, (err: unknown) => {
          log.error({ err, step: name }, 'shutdown step failed');
          return false;
        }));
      };
      const closeWebsocket = step('websocket', () => websocket?.close());
      const stopMtproto = step('mtproto', () => mtproto?.server.stop());
      const closeRouting = step('routing', () => routing.close());
      // 2. Drain, bounded by drainTimeoutMs: connectors finish in-flight publishes (acks only
      //    follow durable publishes) and their egress batch, then close their sockets; the router
      //    finishes its batch (after the WebSocket connector, so it routes what that published last).
      const drain = Promise.all([
        closeWebsocket().then(async (ok) => (await closeRouting()) && ok),
        stopMtproto(),
      ]).then((ok) => ok.every(Boolean));
      const inTime = await within(drain, config.shutdown.drainTimeoutMs);
      const drained = inTime && await drain;
      if (!inTime) {
        log.warn({ drainTimeoutMs: config.shutdown.drainTimeoutMs }, bus.durable
          ? 'drain timed out: closing with work in flight (it stays queued in Redis for the next instance)'
          : 'drain timed out: closing with work in flight (memory driver: it is lost)');
      }
      // 3. Every closer runs, whether the drain finished, timed out or failed: what the drain did
      //    not reach is stopped now, the bus is closed (flushes pending publishes), then the MTProto
      //    store and the HTTP listener with whatever still holds a socket. A WebSocket connector
      //    still closing ends its sockets on its own close timeout.
      const closers: [string, () => Promise<unknown>, number][] = [
        ['mtproto', stopMtproto, 2_000],
        ['routing', closeRouting, 5_000],
        ['bus', () => bus.close(), 5_000],
        ['mtproto store', async () => { await stopMtproto(); await mtproto?.closeStore(); }, 5_000],
        ['http', () => http.close(), 2_000],
      ];
      const results = await Promise.allSettled(closers.map(async ([name, close, ms]) => {
        if (!(await within(Promise.resolve().then(close), ms))) log.warn({ step: name, ms }, 'shutdown step timed out');
      }));
      for (const [i, r] of results.entries()) {
        if (r.status === 'rejected') log.error({ err: r.reason as unknown, step: closers[i]?.[0] }, 'shutdown step failed');
      }
      log.info({ ms: Date.now() - t0, drained }, 'shut down');
    };

    return {
      httpUrl, httpPort: http.port, wsUrl, bus, registry, logger: log, instanceId,
      mtproto: mtproto ? { port: mtproto.port, fingerprint: mtproto.fingerprint } : undefined,
      close: () => (closing ??= shutdown()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/**
 * The bridges restricted to endpoints whose connector this deployment runs. An endpoint of a
 * connector that is off (or not built yet, like XMPP) would otherwise collect deliveries nobody
 * consumes, without bound; its room's canonical stream still records everything.
 */
function servedBridges(loaded: LoadedConfig, logger: Logger): Bridge[] {
  const served = new Set<string>();
  if (loaded.config.websocket.enabled) served.add('websocket');
  // MTProto is not added even when enabled: createMtprotoServer has no bus side yet (it takes no
  // bus and consumes no egress), so deliveries to its chats would pile up unread. Add it here in
  // the change that passes the bus to the MTProto server.
  const unserved = loaded.bridges.flatMap((b) => b.endpoints.filter((e) => !served.has(e.connector)).map((e) => `${b.room}: ${e.connector} ${e.address}`));
  if (unserved.length > 0) logger.info({ endpoints: unserved }, 'endpoints of connectors that are not enabled are not served');
  return loaded.bridges.map((b) => ({ ...b, endpoints: b.endpoints.filter((e) => served.has(e.connector)) }));
}

/**
 * The MTProto server with its RSA key and an auth-key store that lives where the bus lives.
 * Imported lazily: an instance without MTProto never loads that code.
 */
async function startMtproto(loaded: LoadedConfig, bus: Bus, logger: Logger, registry: Registry) {
  const { config } = loaded;
  const { createMtprotoServer } = await import('./connectors/mtproto/server.ts');
  const key = await readMtprotoRsaKey(loaded);
  if (!key.ok) throw new ConfigError([key.issue]);
  let keyStore: AuthKeyStore;
  let replayGuard: ReplayGuard | undefined;
  let closeStore = async () => {};
  if (bus.driver === 'redis') {
    // Auth keys are shared by every instance, like everything else that matters (DESIGN: scale-out).
    const { Redis } = await import('ioredis');
    const { RedisAuthKeyStore } = await import('./connectors/mtproto/store/redis-auth-key-store.ts');
    const { RedisReplayGuard } = await import('./connectors/mtproto/store/redis-replay-guard.ts');
    const redis = new Redis(config.bus.redis.url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    // Without a listener ioredis prints "Unhandled error event" to stderr, outside the JSON logs.
    redis.on('error', (err) => logger.warn({ err }, 'mtproto store redis connection error'));
    keyStore = new RedisAuthKeyStore(redis, `${config.bus.redis.prefix}:mtproto:authkey:`);
    // Seen msg_ids too, so a frame captured on one instance is not accepted again by another.
    replayGuard = new RedisReplayGuard(redis, `${config.bus.redis.prefix}:mtproto:seen:`);
    closeStore = async () => { await redis.quit().catch(() => redis.disconnect()); };
  } else {
    const { MemoryAuthKeyStore } = await import('./connectors/mtproto/store/auth-key-store.ts');
    keyStore = new MemoryAuthKeyStore();
  }
  const server = createMtprotoServer({
    host: config.mtproto.host, port: config.mtproto.port, rsaKey: key.key, keyStore, logger, registry,
    maxConnections: config.mtproto.maxConnections, wsPath: MTPROTO_WS_PATH,
    ...(replayGuard ? { replayGuard } : {}),
    ...(config.mtproto.saltSecret ? { saltSecret: new Uint8Array(Buffer.from(config.mtproto.saltSecret, 'utf8')) } : {}),
  });
  try {
    const { port } = await server.start();
    return { server, port, fingerprint: key.key.fingerprintHex, closeStore };
  } catch (err) {
    await closeStore();
    throw err;
  }
}
