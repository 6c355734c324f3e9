import type { CanonicalEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import type { Bus, Delivery, DeliveryHandler, EgressOptions, Stoppable } from '../../src/bus/types.ts';
import type { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { Registry } from '../../src/core/metrics.ts';
import { Router } from '../../src/router/router.ts';
import type { Redis } from 'ioredis';
import { waitFor } from '../helpers/wait.ts';

/** Shared pieces of the bus tests: options, events, a router over one room, collectors, settling. */

export function busOptions(overrides: { batch?: Partial<BusOptions['batch']>; retention?: Partial<BusOptions['retention']>; delivery?: Partial<BusOptions['delivery']> } = {}): BusOptions {
  return {
    batch: { maxEvents: 64, maxWaitMs: 1, ...overrides.batch },
    retention: { maxEventsPerRoom: 100_000, dedupeSeconds: 3_600, transactionSeconds: 3_600, transactionsPerRoom: 10_000, idMapPerEndpoint: 100_000, ...overrides.retention },
    delivery: { maxAttempts: 5, backoffMs: 5, maxBackoffMs: 50, ...overrides.delivery },
    logger: silentLogger,
    registry: createRegistry(false),
  };
}

export const ROOM = 'lobby';
export const WS = { connector: 'websocket', address: 'lobby' } as const;
export const XMPP = { connector: 'xmpp', address: 'lobby@muc.example.org' } as const;
export const MT = { connector: 'mtproto', address: '100' } as const;

export function lobbyRouter(): Router {
  return new Router([{ room: ROOM, endpoints: [WS, XMPP, MT], source: 'test' }], { hostedConnectors: ['websocket'] });
}

export function message(text: string, from: { connector: string; address: string } = XMPP, room = ROOM): CanonicalEvent {
  return {
    v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room, text,
    sender: { network: from.connector, id: 'alice' },
    origin: { connector: from.connector, endpoint: from.address },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Consumes one connector's egress, keeping every delivery and every handler call (batch). */
export class Collector {
  readonly deliveries: Delivery[] = [];
  readonly calls: (readonly Delivery[])[] = [];
  private consumer: Stoppable | undefined;

  constructor(bus: Bus, readonly connector: string,
    /** Runs on every call before it counts as delivered: throws (or rejects) to fail the call, or waits to make a slow target. */
    private readonly decide: (batch: readonly Delivery[], call: number) => void | Promise<void> = () => undefined,
    options: EgressOptions = {}) {
    const handler: DeliveryHandler = async (batch) => {
      this.calls.push(batch);
      await this.decide(batch, this.calls.length);
      this.deliveries.push(...batch);
    };
    this.consumer = bus.consumeEgress(connector, handler, options);
  }

  ids(): string[] {
    return this.deliveries.map((d) => d.event.id);
  }

  events(): CanonicalEvent[] {
    return this.deliveries.map((d) => d.event);
  }

  texts(): string[] {
    return this.deliveries.map((d) => (d.event.kind === 'message' ? d.event.text : d.event.kind));
  }

  /** Drops one event from the records (settle's marker), and the calls that held only it. */
  forget(eventId: string): void {
    for (let i = this.deliveries.length - 1; i >= 0; i--) if (this.deliveries[i]?.event.id === eventId) this.deliveries.splice(i, 1);
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const call = this.calls[i] ?? [];
      if (!call.some((d) => d.event.id === eventId)) continue;
      const rest = call.filter((d) => d.event.id !== eventId);
      if (rest.length === 0) this.calls.splice(i, 1);
      else this.calls[i] = rest;
    }
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
  }
}

/**
 * Waits until the bus has delivered everything published so far, without a quiet window: publishes
 * a marker into `room` from the hosted WS endpoint (so that every endpoint of the room is a target)
 * and waits until each collector got it. Order per room means whatever the bus was going to deliver
 * before the marker has arrived by then. The marker is then dropped from the collectors' records.
 */
export async function settle(bus: Bus, collectors: readonly Collector[], room = ROOM): Promise<void> {
  const marker = message('~settle', { connector: 'websocket', address: room }, room);
  await bus.publish([marker]);
  await waitFor(() => collectors.every((c) => c.deliveries.some((d) => d.event.id === marker.id)),
    { what: `the settle marker at ${collectors.map((c) => c.connector).join(', ')}` });
  for (const c of collectors) c.forget(marker.id);
}

/** The instance id and prefix a RedisBus runs with (test access to its private options). */
function identity(bus: RedisBus): { prefix: string; instanceId: string; redis: Redis } {
  const inside = bus as unknown as { opts: { prefix: string; instanceId: string }; redis: Redis };
  return { prefix: inside.opts.prefix, instanceId: inside.opts.instanceId, redis: inside.redis };
}

/** Waits until `bus` holds a lease: 'router' or 'egress:<connector>'. */
export async function waitForLease(bus: RedisBus, lease: string): Promise<void> {
  const { prefix, instanceId, redis } = identity(bus);
  await waitFor(async () => (await redis.get(`${prefix}:lease:${lease}`)) === instanceId, { what: `${instanceId} to hold the ${lease} lease` });
}

/** Ingress batches routed by their publishing process itself (routing at publish). */
export async function routedAtPublish(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('switchboard_bus_routed_at_publish_batches_total')?.get())?.values[0]?.value ?? 0;
}

/** Batches handed straight to `connector`'s consumer, by outcome. */
export async function handOffs(registry: Registry, connector: string): Promise<{ delivered: number; failed: number }> {
  const metric = await registry.getSingleMetric('switchboard_bus_direct_deliveries_total')?.get();
  const count = (outcome: string) => metric?.values.find((v) => v.labels.connector === connector && v.labels.outcome === outcome)?.value ?? 0;
  return { delivered: count('delivered'), failed: count('failed') };
}

/**
 * Waits until the router hands batches straight to `collector` (its consumer holds its lease, sits
 * idle and has seen its queue empty): publishes probes until one of them went direct. The probes
 * reach every endpoint of the room: they are awaited at, and dropped from, `others` too.
 */
export async function waitForDirect(bus: Bus, registry: Registry, collector: Collector, others: readonly Collector[] = []): Promise<void> {
  const before = (await handOffs(registry, collector.connector)).delivered;
  const all = [collector, ...others];
  await waitFor(async () => {
    const probe = message('~probe', { connector: 'websocket', address: ROOM });
    await bus.publish([probe]);
    await waitFor(() => all.every((c) => c.deliveries.some((d) => d.event.id === probe.id)), { what: 'a probe' });
    for (const c of all) c.forget(probe.id);
    return (await handOffs(registry, collector.connector)).delivered > before;
  }, { what: `direct delivery to ${collector.connector}`, intervalMs: 5 });
}
