import type { CanonicalEvent } from '../core/event.ts';

/** A linked place on one network: the connector that owns it and its native address there. */
export interface Endpoint {
  readonly connector: string;
  /** Native room address: a WS room name, a MUC JID, an MTProto chat id. */
  readonly address: string;
}

/**
 * A position in a room's canonical stream. Opaque to clients; `<ms>-<seq>` like a Redis Stream
 * id in both drivers, so cursors compare the same way everywhere (see compareCursors).
 */
export type Cursor = string;

/** One event routed to one target endpoint, with its place in the room's canonical stream. */
export interface Delivery {
  readonly event: CanonicalEvent;
  readonly target: Endpoint;
  readonly cursor: Cursor;
}

/** One entry of the canonical stream. */
export interface StreamEntry {
  readonly cursor: Cursor;
  readonly event: CanonicalEvent;
}

/** Decides where an event goes: the router, given to the bus so routing runs inside its ingress loop. */
export type RouteFn = (event: CanonicalEvent) => readonly Endpoint[];

/** Processes a batch of deliveries for one connector, in order. Throwing means: retry this batch later, in place. */
export type DeliveryHandler = (deliveries: readonly Delivery[]) => Promise<void>;

export interface EgressOptions {
  /**
   * The handler is quick and local (it hands deliveries to in-process buffers and never waits on a
   * slow peer), so the router may call it directly when this consumer is idle and nothing of its
   * connector is queued, instead of adding an egress job the consumer would fetch at once. Order,
   * retries and durability are the queue's (see docs/bus.md, "Direct delivery"); only latency and
   * cost change. Default false: a slow handler called directly would hold up routing for everyone.
   */
  readonly direct?: boolean;
}

export interface Stoppable {
  /** Stops taking new work, finishes (or hands back) the batch in hand, then resolves. */
  close(): Promise<void>;
}

export interface StreamRead {
  readonly entries: readonly StreamEntry[];
  /** True when `since` is older than the retained window: some events between it and the first entry are gone. */
  readonly truncated: boolean;
}

export interface StreamSubscription extends Stoppable {}

export interface BusStats {
  ingressWaiting: number;
  egressWaiting: Record<string, number>;
  deadLettered: number;
}

export interface DeadLetter {
  readonly reason: string;
  readonly stage: 'ingress' | 'egress';
  readonly connector?: string;
  readonly event?: CanonicalEvent;
  readonly raw?: unknown;
  readonly at: number;
}

/**
 * Cross-instance fan-out of deliveries (optional capability of a driver shared by several
 * instances). An egress queue has one consumer in the cluster, but a hosted connector's clients
 * may be connected to any instance: the consumer hands each batch to its own clients, then
 * publishes it here, and every other instance hands it to its own.
 *
 * It is best effort and says so: messages published while a subscriber is disconnected, or
 * whose publish failed, are gone. Whenever that may have happened, `onResync` runs, and the
 * subscriber catches up from the canonical stream (which is complete). Receivers must therefore
 * drop what they already have (cursors make that exact).
 */
export interface Fanout {
  /** Sends a batch to every other instance subscribed to `channel`. Rejects when it could not be sent. */
  publish(channel: string, deliveries: readonly Delivery[]): Promise<void>;
  /**
   * Receives the batches other instances publish on `channel`, in publish order (never this
   * instance's own). `onResync` runs once the subscription is in place, the first time and after
   * every reconnect, and whenever a batch may have been lost: anything published before it may be missing.
   */
  subscribe(channel: string, onDeliveries: (deliveries: readonly Delivery[], fromInstance: string) => void, onResync: () => void): Stoppable;
}

/**
 * The bus: carries canonical events from connectors through the router to each target connector,
 * and keeps the canonical stream. Two drivers implement it with the same semantics:
 * `redis` (BullMQ + Redis Streams, durable, shared by several instances) and `memory`
 * (in-process, NOT durable: for `npm start` on defaults and for unit tests).
 *
 * Guarantees every driver keeps (tested against both by test/bus/bus-contract.test.ts):
 * - publish resolves only when the events are accepted by the driver (durably, for redis);
 * - an event id published twice is routed and appended once;
 * - per room, each target receives deliveries in acceptance order, also across its absence;
 * - a failing delivery handler is retried in place (later events wait), then dead-lettered.
 */
export interface Bus {
  readonly driver: 'memory' | 'redis';
  readonly durable: boolean;

  /** Accepts events onto the ingress queue. Resolves once they are durably on the bus. Validates each. */
  publish(events: readonly CanonicalEvent[]): Promise<void>;

  /** Runs the router over the ingress queue: appends each event to its room stream and enqueues deliveries. */
  startRouting(route: RouteFn): Stoppable;

  /** Consumes the egress queue of one connector, in order. One consumer per connector at a time. */
  consumeEgress(connector: string, handler: DeliveryHandler, options?: EgressOptions): Stoppable;

  /**
   * Fan-out to the other instances sharing this bus (redis). Undefined when there are none to
   * reach (memory: one process, the egress consumer already holds every client).
   */
  readonly fanout?: Fanout;

  /** Reads a room's stream after `since` (exclusive; undefined = from the oldest retained), at most `limit`. */
  readStream(room: string, since: Cursor | undefined, limit: number): Promise<StreamRead>;

  /** The newest cursor of a room's stream, or undefined when it is empty. */
  latestCursor(room: string): Promise<Cursor | undefined>;

  /**
   * Follows a room's stream live from `since` (exclusive; undefined = only new events):
   * replays what is retained, then every new entry, in order, once.
   */
  subscribeStream(room: string, since: Cursor | undefined, onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void): StreamSubscription;

  /** Recent dead letters, newest last. */
  deadLetters(limit: number): Promise<DeadLetter[]>;

  stats(): Promise<BusStats>;

  /** Whether the backing store is reachable (for /healthz). */
  healthy(): Promise<boolean>;

  close(): Promise<void>;
}

const CURSOR_PATTERN = /^(\d{1,16})-(\d{1,16})$/;

export function isCursor(value: unknown): value is Cursor {
  return typeof value === 'string' && CURSOR_PATTERN.test(value);
}

/** Orders two cursors (negative: a before b). Both must satisfy isCursor. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const ma = CURSOR_PATTERN.exec(a);
  const mb = CURSOR_PATTERN.exec(b);
  if (!ma || !mb) throw new Error(`not a cursor: ${ma ? b : a}`);
  const ta = BigInt(ma[1] ?? '0'); const tb = BigInt(mb[1] ?? '0');
  if (ta !== tb) return ta < tb ? -1 : 1;
  const sa = BigInt(ma[2] ?? '0'); const sb = BigInt(mb[2] ?? '0');
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

export function endpointKey(e: Endpoint): string {
  return `${e.connector}:${e.address}`;
}
