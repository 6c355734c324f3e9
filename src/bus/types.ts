import type { CanonicalEvent } from '../core/event.ts';
import type { EventId } from '../core/ids.ts';
import type { Cursor, Endpoint } from '../core/endpoint.ts';

// The shared vocabulary lives in core; re-exported for the bus's own files.
export { compareCursors, endpointKey, isCursor, type Cursor, type Endpoint } from '../core/endpoint.ts';

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
 * Short notes between the instances of one deployment, best effort: a note reaches the instances
 * subscribed at the moment it is published, once, and none is kept (a note is a hint to act
 * sooner on something the state already holds, never the only copy of anything).
 */
export interface Notes {
  /** Sends a note (at most MAX_NOTE_BYTES of UTF-8) to every other instance subscribed to `channel`. */
  publish(channel: string, note: string): Promise<void>;
  /** Receives the notes other instances publish on `channel` (never this instance's own). */
  subscribe(channel: string, onNote: (note: string) => void): Stoppable;
}

/** The largest note (its bytes of UTF-8); a larger one is refused by publish. */
export const MAX_NOTE_BYTES = 4_096;

/**
 * A sender's transaction id: what recognises a retry of the same send (a WS `txn`, an XMPP
 * origin-id of that JID, an MTProto random_id of that user). `scope` names the authenticated
 * sender (`<connector>:<sender>`), so one sender can never collide with another's ids.
 */
export interface Transaction {
  readonly scope: string;
  readonly id: string;
}

export interface PublishOnceResult {
  /** The canonical id of the event: the first publish's, also for a retry. */
  readonly id: EventId;
  /** True when this transaction had been published before: nothing new was published. */
  readonly duplicate: boolean;
}

/**
 * Which native message a canonical event is on each network it reached, and back: what resolves
 * the target of an edit, reply, reaction, receipt or retraction across networks. Shared by every
 * instance (it lives where the bus lives). Bounded per endpoint (docs/bus.md, "Id map").
 */
export interface IdMap {
  /** Records that canonical event `id` is native message `nativeId` at `endpoint`. Idempotent; a later link of the same pair wins. */
  link(id: EventId, endpoint: Endpoint, nativeId: string): Promise<void>;
  /** The native id of a canonical event at an endpoint, if it was linked there. */
  nativeOf(id: EventId, endpoint: Endpoint): Promise<string | undefined>;
  /** The canonical event that a native id at an endpoint stands for. */
  canonicalOf(endpoint: Endpoint, nativeId: string): Promise<EventId | undefined>;
}

/**
 * Small persistent state of one connector (MTProto auth keys and update state, the XMPP
 * connector's archive positions): strings by key, optionally expiring. Lives where the bus lives
 * (Redis, shared by every instance; on the memory driver a local file when `bus.stateDir` is set),
 * so it survives a restart.
 */
/**
 * Small shared state (keys, positions, logs of a connector). Calls are applied in the order they
 * are made, also when they are not awaited one by one (the redis driver sends them on one
 * connection, the memory driver applies them at once): a caller may issue writes that depend on
 * each other back to back and await them together, one round trip instead of several.
 */
export interface StateStore {
  get(key: string): Promise<string | undefined>;
  /** Sets a value; `ttlMs` makes it expire. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key is absent: true when it was set (atomic across instances). */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Gives an existing key a new ttl, its value untouched; false when there is none. Never creates
   * or brings back a key: extending a record's life cannot undo a delete made meanwhile.
   */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Sets a value only while the key still holds `expected` (atomic across instances); false, and
   * nothing written, when it was deleted, expired or changed meanwhile. For rewriting a record
   * read earlier (a new encoding of the same thing) without undoing what another instance did since.
   */
  replace(key: string, expected: string, value: string, ttlMs?: number): Promise<boolean>;
}

/** A named lease that one instance of the cluster holds at a time (see Bus.holdLease). */
export interface LeaseHandle extends Stoppable {
  /** Whether this instance holds it now. */
  readonly held: boolean;
}

export interface LeaseCallbacks {
  /** This instance now holds the lease: start the exclusive work. */
  onAcquired(): void;
  /** It no longer does (could not renew in time, or closing): stop the exclusive work at once. */
  onLost(): void;
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

  /**
   * Publishes one event under a sender's transaction id: the first call publishes it; a later call
   * with the same transaction within `retention.transactionSeconds` (docs/bus.md) publishes
   * nothing new and answers the first event's id, on any instance. A retry after a failed or
   * unanswered publish is safe: it republishes the first call's event id, which routing drops if
   * it had landed after all.
   */
  publishOnce(event: CanonicalEvent, transaction: Transaction): Promise<PublishOnceResult>;

  /** The id map between canonical event ids and native message ids (see IdMap). */
  readonly idMap: IdMap;

  /** The persistent state of one namespace (a connector's name). */
  state(namespace: string): StateStore;

  /**
   * Holds a cluster-wide lease `name` whenever it can: at most one instance holds it at a time;
   * when its holder dies another takes it over within the lease ttl (about 10 s). The memory
   * driver grants it at once. Closing the handle releases it.
   */
  holdLease(name: string, callbacks: LeaseCallbacks): LeaseHandle;

  /** Runs the router over the ingress queue: appends each event to its room stream and enqueues deliveries. */
  startRouting(route: RouteFn): Stoppable;

  /** Consumes the egress queue of one connector, in order. One consumer per connector at a time. */
  consumeEgress(connector: string, handler: DeliveryHandler, options?: EgressOptions): Stoppable;

  /**
   * Fan-out to the other instances sharing this bus (redis). Undefined when there are none to
   * reach (memory: one process, the egress consumer already holds every client).
   */
  readonly fanout?: Fanout;

  /**
   * Optional: whether `err`, thrown by one of this bus's calls, means the bus cannot be reached now
   * (a later try may work: clients get `unavailable`), not a bug. The memory driver has none.
   */
  isUnavailable?(err: unknown): boolean;

  /**
   * Best-effort notes to the other instances sharing this bus (redis): what a connector changed
   * that they may want to tell their own clients at once (they find it in the state anyway).
   * Undefined when there are none (memory: one process).
   */
  readonly notes?: Notes;

  /** Reads a room's stream after `since` (exclusive; undefined = from the oldest retained), at most `limit`. */
  readStream(room: string, since: Cursor | undefined, limit: number): Promise<StreamRead>;

  /**
   * Reads a room's stream backwards: the newest `limit` entries before `before` (exclusive;
   * undefined = up to the newest), returned oldest first. Fewer than `limit` means the oldest
   * retained entry was reached. For history pages ("show the last 50").
   */
  readStreamBefore(room: string, before: Cursor | undefined, limit: number): Promise<readonly StreamEntry[]>;

  /** The newest cursor of a room's stream, or undefined when it is empty. */
  latestCursor(room: string): Promise<Cursor | undefined>;

  /**
   * Every room that has a canonical stream, bridged rooms and direct chats alike (for sweeps such
   * as the media store's garbage collection), in no particular order.
   */
  rooms(): AsyncIterable<string>;

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
