import { LIMITS, PRESENCE_STATES, SPAN_TYPES, validateEvent, type CanonicalEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import type { Capabilities } from '../../src/core/capabilities.ts';
import type { Endpoint } from '../../src/core/endpoint.ts';
import type { Delivery, IdMap } from '../../src/bus/types.ts';
import { ManualClock } from '../../src/mapper/clock.ts';
import { Mapper } from '../../src/mapper/mapper.ts';
import { EMPTY_TABLES, type MapperTables } from '../../src/mapper/tables.ts';
import type { TargetMapper } from '../../src/mapper/target-mapper.ts';
import type { MappedDelivery } from '../../src/mapper/types.ts';

/** Shared pieces of the mapper tests: capability sets, events, a mapper on a manual clock with a recording handler. */

export const ROOM = 'lobby';
export const WS: Endpoint = { connector: 'websocket', address: 'lobby' };
export const XMPP: Endpoint = { connector: 'xmpp', address: 'lobby@muc.example.org' };
export const MT: Endpoint = { connector: 'mtproto', address: '100' };

/** Everything, like the WebSocket protocol. */
export const FULL: Capabilities = {
  edits: true, retractions: true, reactions: 'any', replies: true, threads: true, presence: PRESENCE_STATES, typing: true,
  receipts: ['delivered', 'displayed'], attachments: { delivery: 'reference', maxBytes: Number.MAX_SAFE_INTEGER },
  formatting: SPAN_TYPES, maxTextLength: LIMITS.textChars, topics: true,
};

/** A network that can express almost nothing: every fallback shows. */
export const BARE: Capabilities = {
  edits: false, retractions: false, reactions: false, replies: false, threads: false, presence: ['available', 'offline'], typing: false,
  receipts: [], attachments: { delivery: 'link', maxBytes: 1_000_000 }, formatting: [], maxTextLength: 100,
};

export const TABLES: MapperTables = {
  ...EMPTY_TABLES,
  identities: [
    { canonical: 'alice', displayName: 'Alice', accounts: { websocket: 'demo-alice', xmpp: 'alice@example.org' } },
    { canonical: 'bob', accounts: { xmpp: 'bob@example.org', mtproto: '777000123' } },
  ],
  presenceStates: {
    xmpp: { chat: 'available', available: 'available', away: 'away', dnd: 'dnd', xa: 'xa', unavailable: 'offline' },
    mtproto: { online: 'available', recently: 'away', offline: 'offline' },
  },
  coalesceMs: 2_000,
};

let cursorSeq = 0;
/** Stream cursors in increasing order, like one room's stream. */
export function nextCursor(): string {
  return `1700000000000-${++cursorSeq}`;
}

type Fields = Record<string, unknown>;

/** A valid canonical event of `kind` from `from` (an endpoint) by sender `sender` (network:id from the endpoint's network). */
export function event(kind: CanonicalEvent['kind'], fields: Fields = {}, from: Endpoint = XMPP, sender = 'someone@example.org', name?: string): CanonicalEvent {
  const r = validateEvent({
    v: 1, id: newEventId(), ts: Date.now(), kind, room: ROOM,
    sender: { network: from.connector, id: sender, ...(name !== undefined ? { name } : {}) },
    origin: { connector: from.connector, endpoint: from.address },
    ...fields,
  });
  if (!r.ok) throw new Error(`bad test event: ${r.error}`);
  return r.event;
}

export function delivery(e: CanonicalEvent, target: Endpoint, cursor = nextCursor()): Delivery {
  return { event: e, target, cursor };
}

/** An id map in memory (the bus's own is tested in test/bus; here only its answers matter). */
export class TestIdMap implements IdMap {
  readonly links = new Map<string, string>();
  async link(id: string, endpoint: Endpoint, nativeId: string): Promise<void> { this.links.set(`${endpoint.connector}:${endpoint.address}\0${id}`, nativeId); }
  async nativeOf(id: string, endpoint: Endpoint): Promise<string | undefined> { return this.links.get(`${endpoint.connector}:${endpoint.address}\0${id}`); }
  async canonicalOf(): Promise<undefined> { return undefined; }
}

/** A mapper on a manual clock, one target, and a handler that records every call (and can be told to fail). */
export class Rig {
  readonly clock = new ManualClock(1_000_000);
  readonly registry: Registry = createRegistry(false);
  readonly idMap = new TestIdMap();
  readonly mapper: Mapper;
  readonly target: TargetMapper;
  readonly calls: MappedDelivery[][] = [];
  failNext = 0;
  readonly handler: (deliveries: readonly Delivery[]) => Promise<void>;

  constructor(readonly network: string, caps: Capabilities, tables: MapperTables = TABLES) {
    this.mapper = new Mapper(tables, { registry: this.registry, logger: silentLogger, idMap: this.idMap, clock: this.clock });
    this.target = this.mapper.target(network, caps);
    this.handler = this.target.wrap(async (deliveries) => {
      if (this.failNext > 0) { this.failNext--; throw new Error('connector refused the batch'); }
      this.calls.push(deliveries as MappedDelivery[]);
    });
  }

  get delivered(): MappedDelivery[] {
    return this.calls.flat();
  }

  /** Hands one batch through the mapper, as the bus would. */
  async batch(...deliveries: Delivery[]): Promise<MappedDelivery[]> {
    const before = this.delivered.length;
    await this.handler(deliveries);
    return this.delivered.slice(before);
  }

  /** Moves time and lets the window flushes it triggers finish. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.target.idle();
    await this.target.idle();
  }

  /** The value of switchboard_mapper_degraded_total for these labels. */
  async degraded(kind: string, how: string): Promise<number> {
    const metric = await this.registry.getSingleMetric('switchboard_mapper_degraded_total')?.get();
    return metric?.values.find((v) => v.labels['target'] === this.network && v.labels['kind'] === kind && v.labels['how'] === how)?.value ?? 0;
  }
}
