import { hostname } from 'node:os';
import type { ConfigIssue, LoadedConfig } from './config/load.ts';
import { resolveFromConfig } from './config/load.ts';
import { sharedIgnoreOf } from './config/bridges.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { counter, createRegistry, type Registry } from './core/metrics.ts';
import type { Bridge } from './core/endpoint.ts';
import type { IgnoredBy } from './core/ignore.ts';
import type { Bus, Stoppable } from './bus/types.ts';
import { createBus, type BusDriverOptions } from './bus/create.ts';
import { Router } from './router/router.ts';
import type { Connector, ConnectorListing } from './connectors/connector.ts';
import { CONNECTOR_MODULES } from './connectors/registry.ts';
import { MountTable, startHttpServer, type HttpServer } from './http/server.ts';
import { healthReport } from './http/health.ts';
import { connectorBus, createMapper, type ReloadOutcome } from './app/mapper-wiring.ts';
import { startMedia } from './app/media-wiring.ts';
import type { MediaService } from './media/index.ts';
import { within } from './core/within.ts';
import { LiveConfig, type BridgesReloadOutcome, type ConfigReloadOutcome } from './app/reload.ts';
import { answerReloadRequests } from './app/cluster-reload.ts';

export interface StartOptions {
  readonly logger?: Logger;
  /** Listen on this HTTP port instead of config.http.port (0 = any free port; tests). */
  readonly httpPortOverride?: number;
}

export interface App {
  readonly httpUrl: string;
  readonly httpPort: number;
  /** The running connectors, in start order. */
  readonly connectors: readonly Connector[];
  readonly bus: Bus;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly instanceId: string;
  /** The media store (docs/media.md), when config.yaml enables it. */
  readonly media: MediaService | undefined;
  /** What peers connect to, per connector (the start banner). */
  listings(): readonly ConnectorListing[];
  /**
   * SIGHUP: reads config.yaml, bridges/ and mappings/ again and puts in force, together, what can
   * change while running (rooms linked, unlinked, moved; the WebSocket tokens and MTProto
   * accounts; the mapper's tables), or refuses all of it (file:line:field) keeping what is in force. Settings that need a
   * restart are named in a warning (`needsRestart`).
   */
  reload(): Promise<ConfigReloadOutcome>;
  /** mappings/ alone again, or refused (file:line:field) keeping the tables in force. */
  reloadMappings(): Promise<ReloadOutcome>;
  /** bridges/ alone again, checked against the config.yaml in force, or refused keeping the rooms in force. */
  reloadBridges(): Promise<BridgesReloadOutcome>;
  /** Graceful shutdown: stop accepting, drain, close. Idempotent; resolves when everything is closed. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** How much before the connectors' drain deadline the app decides whether the drain finished (see close()). */
const DRAIN_JUDGE_MARGIN_MS = 10;

/** The bus section of config.yaml as the bus's own options (the bus knows nothing of config files). */
function busOptionsOf(loaded: LoadedConfig): BusDriverOptions {
  const { bus } = loaded.config;
  const common = { batch: bus.batch, retention: bus.retention, delivery: bus.delivery, stateFile: resolveFromConfig(loaded, bus.stateFile) };
  return bus.driver === 'redis' ? { ...common, driver: 'redis', redis: bus.redis, fastPaths: bus.fastPaths } : { ...common, driver: 'memory' };
}

/**
 * Starts one Switchboard instance from a loaded config: the bus, the router, the HTTP server and
 * every connector config.yaml enables (src/connectors/registry.ts). If any part fails to start,
 * what already started is closed again before the error is rethrown, so a failed start leaves no
 * listener or Redis connection behind.
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
  for (const warning of loaded.warnings) log.warn({ file: warning.file, line: warning.line, field: warning.path }, `config: ${warning.path}: ${warning.message}`);

  // Undo stack for a failed start.
  const started: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const close of started.reverse()) await close().catch((err: unknown) => log.error({ err }, 'cleanup after failed start'));
  };

  try {
    const bus = await createBus(busOptionsOf(loaded), { logger: log, registry, instanceId });
    started.push(() => bus.close());
    // createBus itself warns loudly when the driver is memory (not durable).

    const mounts = new MountTable();
    let httpUrl = '';
    // The media store (docs/media.md): mounted now, served once the HTTP server listens below.
    const connectors: Connector[] = [];
    let live: LiveConfig | undefined;
    const media = await startMedia(loaded, {
      bus, mounts, httpUrl: () => httpUrl, logger: log, registry, connectors: () => connectors,
      tokens: () => live?.tokens ?? config.websocket.tokens,
    });
    if (media) started.push(() => media.close());

    // Between the router and each connector: rewrites every delivery for the connector's capabilities (docs/mapper.md).
    const mapper = createMapper(loaded, bus, registry, log, media?.links);

    for (const module of CONNECTOR_MODULES) {
      if (module.enabled(config)) connectors.push(await module.create(loaded));
    }
    const served = (bridges: readonly Bridge[]): Bridge[] => servedBridges(bridges, connectors);
    const unserved = unservedEndpoints(loaded.bridges, connectors);
    if (unserved.length > 0) log.info({ endpoints: unserved }, 'endpoints of connectors that are not enabled (or do not deliver yet) are not served');
    const router = new Router(served(loaded.bridges), {
      hostedConnectors: connectors.filter((c) => c.hostsSessions).map((c) => c.network),
      directIgnore: sharedIgnoreOf(config),
      // Direct chats are routed without bridges/ files: only to networks that read their deliveries.
      deliveringNetworks: connectors.filter((c) => c.delivers && c.capabilities.directChats === true).map((c) => c.network),
    });
    live = new LiveConfig({ loaded, router, connectors, mapper, logger: log, registry, served });
    const liveConfig = live;
    const ignored = counter(registry, 'switchboard_router_ignored_total', 'Events a room\'s bridges/ `ignore:` rules kept from the other networks, by rule: sender, message', ['rule']);
    const countIgnored = (rule: IgnoredBy): void => { ignored.inc({ rule }); };
    const routing: Stoppable = bus.startRouting((event) => router.route(event, countIgnored));
    started.push(() => routing.close());

    let draining = false;
    const http: HttpServer = await startHttpServer({
      host: config.http.host,
      port: options.httpPortOverride ?? config.http.port,
      logger: log,
      ...(config.http.metrics ? { metrics: registry } : {}),
      mounts,
      health: () => healthReport({
        bus, instance: instanceId, startedAt, draining: () => draining,
        connectors: () => Object.fromEntries(connectors.map((c) => [c.network, c.health()])),
      }),
    });
    started.push(() => http.close());
    httpUrl = `http://${urlHost(config.http.host)}:${http.port}`;

    for (const connector of connectors) {
      await connector.start({
        bus: connectorBus(bus, mapper, connector), routing: router, instanceId, registry, http: mounts, httpUrl, media,
        endpoints: loaded.bridges.flatMap((b) => b.endpoints.filter((e) => e.connector === connector.network)),
        logger: log.child({ connector: connector.network }),
      });
      started.push(() => connector.close());
    }
    // A reload while shutting down would have connectors that are closing join rooms again.
    const reload = (): Promise<ConfigReloadOutcome> => draining ? Promise.resolve(shuttingDown(loaded)) : liveConfig.reload();
    // `switchboard reload`: the deployment's instances reload together (src/app/cluster-reload.ts;
    // a driver with notes only: on the memory driver SIGHUP reaches the one process).
    const reloadRequests = bus.notes !== undefined ? answerReloadRequests({ notes: bus.notes, instanceId, reload, logger: log }) : undefined;
    if (reloadRequests !== undefined) started.push(() => reloadRequests.close());
    log.info({ httpUrl, bus: bus.driver, rooms: router.rooms.length, connectors: connectors.map((c) => c.network) }, 'switchboard started');

    let closing: Promise<void> | undefined;
    const shutdown = async (): Promise<void> => {
      draining = true;
      const t0 = Date.now();
      // Not awaited: it stops taking requests at once, and its unsubscribe must not hold the drain
      // when Redis hangs (bus.close() below drops the connection anyway).
      void reloadRequests?.close().catch((err: unknown) => log.warn({ err }, 'could not stop following reload requests'));
      const { drainTimeoutMs } = config.shutdown;
      // The whole shutdown fits in drainTimeoutMs: the drain gets most of it, the closers the rest.
      const closeReserveMs = Math.min(3_000, Math.floor(drainTimeoutMs / 4));
      const deadline = t0 + drainTimeoutMs;
      log.info({ drainTimeoutMs }, 'shutting down: no new connections, draining');
      // 1. Stop accepting: nothing new comes in while what is in hand finishes. The HTTP listener
      //    stays open until the end, so /healthz answers 503 "draining" (a load balancer stops
      //    sending clients) and new WS upgrades get the connector's 503 instead of a refused connect.
      for (const c of connectors) c.stopAccepting();
      // Each closer runs once; a failure is logged and never keeps the others from running.
      const once = (name: string, close: () => Promise<void>) => {
        let run: Promise<boolean> | undefined;
        return () => (run ??= Promise.resolve().then(close).then(() => true, (err: unknown) => {
          log.error({ err, step: name }, 'shutdown step failed');
          return false;
        }));
      };
      const drainDeadline = deadline - closeReserveMs;
      const closeConnectors = connectors.map((c) => once(c.network, () => c.close(drainDeadline)));
      const closeRouting = once('routing', () => routing.close());
      // 2. Drain: connectors finish in-flight publishes (acks only follow durable publishes) and
      //    their delivery batch, tell their peers they are going and close; then the router
      //    finishes its batch (after the connectors, so it routes what they published last).
      const drain = Promise.all(closeConnectors.map((close) => close()))
        .then(async (ok) => (await closeRouting()) && ok.every(Boolean));
      // Judged a little before the deadline the connectors were given: one that had to cut a
      // client off at that deadline (a peer that never answered its close) must count as not
      // drained, and its cut-off and this timer would otherwise fire in the same millisecond.
      const inTime = await within(drain, drainDeadline - DRAIN_JUDGE_MARGIN_MS - Date.now());
      const drained = inTime && await drain;
      if (!inTime) {
        log.warn({ drainTimeoutMs }, bus.durable
          ? 'drain timed out: closing with work in flight (it stays queued in Redis for the next instance)'
          : 'drain timed out: closing with work in flight (memory driver: it is lost)');
      }
      // 3. Every closer runs, whether the drain finished, timed out or failed, within what is left
      //    of drainTimeoutMs: what the drain did not reach is stopped now, the bus is closed
      //    (flushes pending publishes), then the HTTP listener with whatever still holds a socket.
      const closers: [string, () => Promise<unknown>][] = [
        ...closeConnectors.map((close, i): [string, () => Promise<unknown>] => [connectors[i]?.network ?? '?', close]),
        ['routing', closeRouting],
        ['bus', () => bus.close()],
        ['http', () => http.close()],
      ];
      const left = Math.max(closeReserveMs, deadline - Date.now());
      await Promise.all(closers.map(async ([name, close]) => {
        if (!(await within(Promise.resolve().then(close), left))) log.warn({ step: name, ms: left }, 'shutdown step timed out');
      }));
      log.info({ ms: Date.now() - t0, drained }, 'shut down');
    };

    return {
      httpUrl, httpPort: http.port, connectors, bus, registry, logger: log, instanceId, media,
      listings: () => connectors.flatMap((c) => c.describe()),
      reload,
      reloadMappings: () => draining ? Promise.resolve(shuttingDown(loaded)) : liveConfig.reloadMappings(),
      reloadBridges: () => draining ? Promise.resolve(shuttingDown(loaded)) : liveConfig.reloadBridges(),
      close: () => (closing ??= shutdown()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

function shuttingDown(loaded: LoadedConfig): { ok: false; issues: ConfigIssue[] } {
  return { ok: false, issues: [{ file: loaded.configFile, line: 0, path: '', message: 'shutting down: nothing is reloaded' }] };
}

/**
 * The bridges restricted to endpoints whose connector runs here and consumes its deliveries. An
 * endpoint of a connector that is off (or does not deliver yet) would otherwise collect
 * deliveries nobody reads, without bound; its room's canonical stream still records everything.
 */
function servedBridges(bridges: readonly Bridge[], connectors: readonly Connector[]): Bridge[] {
  const served = new Set(connectors.filter((c) => c.delivers).map((c) => c.network));
  return bridges.map((b) => ({ ...b, endpoints: b.endpoints.filter((e) => served.has(e.connector)) }));
}

/** The endpoints servedBridges leaves out, for the start's log line. */
function unservedEndpoints(bridges: readonly Bridge[], connectors: readonly Connector[]): string[] {
  const served = new Set(connectors.filter((c) => c.delivers).map((c) => c.network));
  return bridges.flatMap((b) => b.endpoints.filter((e) => !served.has(e.connector)).map((e) => `${b.room}: ${e.connector} ${e.address}`));
}
