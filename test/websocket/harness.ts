import { ConfigSchema, type Config } from '../../src/config/schema.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import type { Bus, Stoppable } from '../../src/bus/types.ts';
import { Router } from '../../src/router/router.ts';
import type { Bridge } from '../../src/core/endpoint.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { WebSocketConnector } from '../../src/connectors/websocket/connector.ts';
import { startConnector } from '../helpers/connector-host.ts';
import { generateToken, hashToken } from '../../src/connectors/websocket/tokens.ts';
import { newEventId } from '../../src/core/ids.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import type { MediaService } from '../../src/media/index.ts';

/**
 * A bridge in one process for WebSocket tests: a bus (MemoryBus unless given), the router over
 * the bridges below, the connector, and a tiny HTTP server that hands it upgrades on /ws.
 */

export const BRIDGES: Bridge[] = [
  { room: 'lobby', source: 'test', endpoints: [{ connector: 'websocket', address: 'lobby' }, { connector: 'xmpp', address: 'lobby@conference.example.org' }] },
  { room: 'other', source: 'test', endpoints: [{ connector: 'websocket', address: 'other' }] },
  { room: 'pair', source: 'test', endpoints: [{ connector: 'websocket', address: 'a' }, { connector: 'websocket', address: 'b' }] },
  { room: 'secret', source: 'test', endpoints: [{ connector: 'websocket', address: 'secret' }] },
];

export interface TestTokens { alice: string; bob: string; carol: string; bot: string; limited: string; mod: string }

export interface TestBridge {
  readonly url: string;
  readonly bus: Bus;
  readonly router: Router;
  readonly connector: WebSocketConnector;
  readonly registry: Registry;
  readonly config: Config['websocket'];
  readonly tokens: TestTokens;
  stop(): Promise<void>;
}

export interface BridgeOptions {
  /** Overrides of the websocket config section (tokens are added by the harness). */
  readonly websocket?: Record<string, unknown>;
  /** A bus to use instead of a fresh MemoryBus; the harness does not close it. */
  readonly bus?: Bus;
  /** The networks the router may send direct chats to (default: every network). */
  readonly deliveringNetworks?: readonly string[];
  /** The media store the connector gets (ctx.media); none by default. */
  readonly media?: MediaService;
  /** The bridges the router links (default: BRIDGES). */
  readonly bridges?: readonly Bridge[];
}

export function busOptions(registry: Registry) {
  return {
    batch: { maxEvents: 256, maxWaitMs: 1 },
    retention: { maxEventsPerRoom: 100_000, dedupeSeconds: 3_600, transactionSeconds: 3_600, transactionsPerRoom: 10_000, idMapPerEndpoint: 100_000 },
    delivery: { maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100 },
    logger: silentLogger,
    registry,
  };
}

export async function startBridge(opts: BridgeOptions = {}): Promise<TestBridge> {
  const tokens: TestTokens = { alice: generateToken(), bob: generateToken(), carol: generateToken(), bot: generateToken(), limited: generateToken(), mod: generateToken() };
  const config = ConfigSchema.parse({
    websocket: {
      allowedOrigins: ['https://chat.example.org'],
      ...opts.websocket,
      tokens: [
        { name: 'alice', hash: hashToken(tokens.alice), displayName: 'Alice' },
        { name: 'bob', hash: hashToken(tokens.bob) },
        { name: 'carol', hash: hashToken(tokens.carol) },
        { name: 'bot', hash: hashToken(tokens.bot), scope: 'bot' },
        { name: 'limited', hash: hashToken(tokens.limited), rooms: ['lobby'] },
        { name: 'mod', hash: hashToken(tokens.mod), displayName: 'Mod', moderator: true },
      ],
    },
  }).websocket;
  const registry = createRegistry(false);
  const bus = opts.bus ?? new MemoryBus(busOptions(registry));
  const router = new Router(opts.bridges ?? BRIDGES, { hostedConnectors: ['websocket'], ...(opts.deliveringNetworks ? { deliveringNetworks: opts.deliveringNetworks } : {}) });
  const routing: Stoppable = bus.startRouting((e) => router.route(e));
  const connector = new WebSocketConnector(config);
  const host = await startConnector(connector, { bus, routing: router, registry, ...(opts.media ? { media: opts.media } : {}) });
  return {
    url: `${host.httpUrl.replace(/^http/, 'ws')}${config.path}`, bus, router, connector, registry, config, tokens,
    async stop() {
      await connector.close();
      await routing.close();
      await host.close();
      if (!opts.bus) await bus.close();
    },
  };
}

/** An event as another network (XMPP) would publish it into `lobby`: for load and resume tests. */
export function xmppMessage(text: string, room = 'lobby', endpoint = 'lobby@conference.example.org'): CanonicalEvent {
  return {
    v: 1, id: newEventId(), ts: Date.now(), room, kind: 'message', text,
    sender: { network: 'xmpp', id: 'romeo@example.org' }, origin: { connector: 'xmpp', endpoint },
  };
}

/** Everything in a room's stream (bounded read), to assert that bad input changed nothing. */
export async function streamOf(bus: Bus, room: string): Promise<string[]> {
  const read = await bus.readStream(room, undefined, 100_000);
  return read.entries.map((e) => e.event.id);
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const found = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}
