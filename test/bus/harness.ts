import type { CanonicalEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import type { Bus, Delivery, DeliveryHandler, Stoppable } from '../../src/bus/types.ts';
import { Router } from '../../src/router/router.ts';

/** Shared pieces of the bus tests: options, events, a router over one room, collectors, polling. */

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

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Consumes one connector's egress, keeping every delivery and every handler call (batch). */
export class Collector {
  readonly deliveries: Delivery[] = [];
  readonly calls: (readonly Delivery[])[] = [];
  private consumer: Stoppable | undefined;

  constructor(bus: Bus, connector: string, private readonly decide: (batch: readonly Delivery[], call: number) => void = () => undefined) {
    const handler: DeliveryHandler = async (batch) => {
      this.calls.push(batch);
      this.decide(batch, this.calls.length); // throws to fail this call
      this.deliveries.push(...batch);
    };
    this.consumer = bus.consumeEgress(connector, handler);
  }

  texts(): string[] {
    return this.deliveries.map((d) => (d.event.kind === 'message' ? d.event.text : d.event.kind));
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
  }
}
