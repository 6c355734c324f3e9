import { parseEvent, type CanonicalEvent } from '../../core/event.ts';
import { backoffDelay, type BusOptions } from '../options.ts';
import { busMetrics, type BusMetrics } from '../bus-metrics.ts';
import { MAX_DEAD_LETTERS } from '../retention.ts';
import { RoomMarks } from './room-marks.ts';
import { START_CURSOR } from '../../core/endpoint.ts';
import { checkCursor } from '../check-cursor.ts';
import { compareCursors, type Bus, type BusStats, type Cursor, type DeadLetter, type Delivery, type DeliveryHandler, type LeaseCallbacks, type LeaseHandle,
  type PublishOnceResult, type RouteFn, type StateStore, type Stoppable, type StreamEntry, type StreamRead, type StreamSubscription, type Transaction } from '../types.ts';
import { publishOnce } from '../services/publish-once.ts';
import { MemoryIdMap, MemoryTransactionLog, memoryLease } from './memory-services.ts';
import { LocalState } from './state-store.ts';

/** Upper bound of deliveries waiting for one connector before new ones are dead-lettered. */
const MAX_EGRESS_BACKLOG = 1_000_000;

/**
 * Where the bus notes, in the state file, the cursor time (ms) its cursors may reach: written ahead
 * of the cursors it hands out, RESERVE_MS at a time, so the next run starts its cursors after every
 * cursor of this one, even after a crash or with a clock set back meanwhile.
 */
const RESERVE_NAMESPACE = 'memory-bus';
const RESERVE_KEY = 'cursors-reserved-through';
const RESERVE_MS = 10_000;

interface RoomStream {
  entries: StreamEntry[];
  /** The newest cursor trimmed away by retention, if any: a reader behind it has missed events. */
  trimmedThrough?: Cursor;
  listeners: Set<() => void>;
}

/**
 * In-process bus driver. Same semantics as the redis driver, but NOT DURABLE: everything is lost
 * when the process exits (room streams, queues, transaction ids, the id map; only StateStore is
 * kept, in the state file). A cursor of an earlier run reads as expired (see `origin`). It exists for `npm start` on the embedded defaults and for unit tests;
 * the app logs a warning when it runs.
 */
export class MemoryBus implements Bus {
  readonly driver = 'memory' as const;
  readonly durable = false;
  // No `fanout`: one process, so the egress consumer already holds every client.

  private readonly ingress: CanonicalEvent[] = [];
  private readonly egress = new Map<string, Delivery[]>();
  private readonly streams = new Map<string, RoomStream>();
  private readonly marks: RoomMarks;
  private readonly dead: DeadLetter[] = [];
  private readonly wakeRouter = new Set<() => void>();
  private readonly wakeEgress = new Map<string, () => void>();
  /**
   * Every cursor of this run comes after this one. The streams live in memory only, so a cursor
   * before it was handed out by an earlier run (or another bus) and whatever followed it there is
   * gone: readStream says so (`truncated`, which clients see as cursor_expired) instead of serving
   * only this run's events as if nothing had been missed.
   */
  readonly origin: Cursor;
  private lastCursorMs: number;
  private lastCursorSeq = 0;
  private reservedThroughMs: number;
  private closed = false;
  private readonly metrics: BusMetrics;
  private readonly transactions: MemoryTransactionLog;
  private readonly localState: LocalState;
  private readonly leases = new Set<LeaseHandle>();
  readonly idMap: MemoryIdMap;

  constructor(private readonly opts: BusOptions) {
    this.metrics = busMetrics(opts.registry);
    this.marks = new RoomMarks(opts.retention);
    this.transactions = new MemoryTransactionLog(opts.retention.transactionsPerRoom, opts.retention.transactionSeconds * 1000);
    this.idMap = new MemoryIdMap(opts.retention.idMapPerEndpoint);
    this.localState = new LocalState(opts.stateFile);
    const reserved = Number(this.localState.peek(RESERVE_NAMESPACE, RESERVE_KEY));
    const originMs = Math.max(Date.now(), Number.isSafeInteger(reserved) ? reserved + 1 : 0);
    this.origin = `${originMs}-0`;
    // The first cursor is `${originMs}-1` or later: strictly after the origin.
    this.lastCursorMs = originMs;
    this.reservedThroughMs = originMs - 1;
  }

  publishOnce(event: CanonicalEvent, transaction: Transaction): Promise<PublishOnceResult> {
    return publishOnce((events) => this.publish(events), this.transactions, event, transaction);
  }

  state(namespace: string): StateStore {
    return this.localState.store(namespace);
  }

  holdLease(_name: string, callbacks: LeaseCallbacks): LeaseHandle {
    const lease = memoryLease(callbacks);
    this.leases.add(lease);
    return lease;
  }

  async publish(events: readonly CanonicalEvent[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const valid = events.map((e) => parseEvent(e)); // all or nothing: validate before accepting any
    this.ingress.push(...valid);
    this.metrics.published.inc(valid.length);
    for (const wake of this.wakeRouter) wake();
  }

  startRouting(route: RouteFn): Stoppable {
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    const loop = async (): Promise<void> => {
      while (!stopped && this.ingress.length > 0) {
        const batch = this.ingress.splice(0, this.opts.batch.maxEvents);
        this.metrics.batchSize.observe({ stage: 'ingress' }, batch.length);
        for (const event of batch) this.routeOne(event, route);
        await Promise.resolve();
      }
    };
    const wake = () => { running = running.then(loop); };
    this.wakeRouter.add(wake);
    wake();
    return {
      close: async () => {
        stopped = true;
        this.wakeRouter.delete(wake);
        await running;
      },
    };
  }

  private routeOne(event: CanonicalEvent, route: RouteFn): void {
    const now = Date.now();
    if (this.marks.has(event.room, event.id, now)) {
      this.metrics.duplicates.inc();
      return;
    }
    this.marks.add(event.room, event.id, now);

    const cursor = this.nextCursor(now);
    const room = this.room(event.room);
    room.entries.push({ cursor, event });
    if (room.entries.length > this.opts.retention.maxEventsPerRoom) {
      const dropped = room.entries.splice(0, room.entries.length - this.opts.retention.maxEventsPerRoom);
      room.trimmedThrough = dropped[dropped.length - 1]?.cursor ?? room.trimmedThrough;
    }
    this.metrics.routed.inc();
    for (const listener of room.listeners) listener();

    for (const target of route(event)) {
      const queue = this.egressQueue(target.connector);
      if (queue.length >= MAX_EGRESS_BACKLOG) {
        this.deadLetter({ reason: 'egress backlog full', stage: 'egress', connector: target.connector, event, at: now });
        continue;
      }
      queue.push({ event, target, cursor });
      this.wakeEgress.get(target.connector)?.();
    }
  }

  private nextCursor(now: number): Cursor {
    if (now > this.lastCursorMs) {
      this.lastCursorMs = now;
      this.lastCursorSeq = 0;
    } else {
      this.lastCursorSeq++;
    }
    if (this.lastCursorMs > this.reservedThroughMs) this.reserveCursors();
    return `${this.lastCursorMs}-${this.lastCursorSeq}`;
  }

  /** Notes in the state file that cursors of this run may reach RESERVE_MS past the current one (see RESERVE_KEY). */
  private reserveCursors(): void {
    this.reservedThroughMs = this.lastCursorMs + RESERVE_MS;
    try {
      this.localState.put(RESERVE_NAMESPACE, RESERVE_KEY, String(this.reservedThroughMs));
    } catch (err) {
      // Only a clock set back before the next start could then make an old cursor look like a new one.
      this.opts.logger.warn({ err }, 'memory bus: could not note its cursor reservation in the state file');
    }
  }

  private room(name: string): RoomStream {
    let room = this.streams.get(name);
    if (!room) {
      room = { entries: [], listeners: new Set() };
      this.streams.set(name, room);
    }
    return room;
  }

  private egressQueue(connector: string): Delivery[] {
    let q = this.egress.get(connector);
    if (!q) {
      q = [];
      this.egress.set(connector, q);
    }
    return q;
  }

  private deadLetter(letter: DeadLetter): void {
    this.dead.push(letter);
    if (this.dead.length > MAX_DEAD_LETTERS) this.dead.shift();
    this.metrics.deadLettered.inc({ stage: letter.stage, connector: letter.connector ?? '' });
    this.opts.logger.warn({ stage: letter.stage, connector: letter.connector, eventId: letter.event?.id, reason: letter.reason }, 'dead-lettered');
  }

  consumeEgress(connector: string, handler: DeliveryHandler): Stoppable {
    if (this.wakeEgress.has(connector)) throw new Error(`egress of ${connector} already has a consumer`);
    const queue = this.egressQueue(connector);
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    let cancelSleep: (() => void) | undefined;
    const sleep = (ms: number) => new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      cancelSleep = () => { clearTimeout(t); resolve(); };
    });
    const loop = async (): Promise<void> => {
      while (!stopped && queue.length > 0) {
        // The batch stays at the head of the queue until handled, so a retry keeps its place.
        const batch = queue.slice(0, this.opts.batch.maxEvents);
        let attempt = 0;
        for (;;) {
          attempt++;
          try {
            await handler(batch);
            this.metrics.delivered.inc({ connector }, batch.length);
            break;
          } catch (err) {
            if (stopped) return; // handed back: the batch is still at the head for the next consumer
            if (attempt >= this.opts.delivery.maxAttempts) {
              for (const d of batch) this.deadLetter({ reason: `delivery failed ${attempt} times: ${(err as Error).message}`, stage: 'egress', connector, event: d.event, at: Date.now() });
              break;
            }
            this.metrics.retries.inc({ connector });
            await sleep(backoffDelay(attempt, this.opts.delivery));
            if (stopped) return;
          }
        }
        queue.splice(0, batch.length);
        this.metrics.batchSize.observe({ stage: 'egress' }, batch.length);
      }
    };
    const wake = () => { running = running.then(loop); };
    this.wakeEgress.set(connector, wake);
    wake();
    return {
      close: async () => {
        stopped = true;
        cancelSleep?.();
        if (this.wakeEgress.get(connector) === wake) this.wakeEgress.delete(connector);
        await running;
      },
    };
  }

  async readStream(room: string, since: Cursor | undefined, limit: number): Promise<StreamRead> {
    const stream = this.streams.get(room);
    const read = readAfter(stream?.entries ?? [], since, limit, stream?.trimmedThrough);
    // `since: null` (START_CURSOR) names no position, so nothing is known to be missed: no notice.
    const beforeThisRun = since !== undefined && since !== START_CURSOR && compareCursors(since, this.origin) < 0;
    return beforeThisRun ? { entries: read.entries, truncated: true } : read;
  }

  async readStreamBefore(room: string, before: Cursor | undefined, limit: number): Promise<readonly StreamEntry[]> {
    checkCursor(before);
    const entries = this.streams.get(room)?.entries ?? [];
    if (limit <= 0) return [];
    const end = before === undefined ? entries.length : firstAtOrAfter(entries, before);
    return entries.slice(Math.max(0, end - limit), end);
  }

  async *rooms(): AsyncIterable<string> {
    for (const [room, stream] of this.streams) if (stream.entries.length > 0) yield room;
  }

  async latestCursor(room: string): Promise<Cursor | undefined> {
    const entries = this.streams.get(room)?.entries;
    return entries && entries.length > 0 ? entries[entries.length - 1]?.cursor : undefined;
  }

  subscribeStream(room: string, since: Cursor | undefined, onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void): StreamSubscription {
    const stream = this.room(room);
    let position: Cursor | undefined = since ?? stream.entries[stream.entries.length - 1]?.cursor;
    let fromStart = since === undefined && position === undefined;
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    const pump = async (): Promise<void> => {
      while (!stopped) {
        const { entries } = readAfter(stream.entries, fromStart ? undefined : position, 1_000);
        if (entries.length === 0) return;
        fromStart = false;
        position = entries[entries.length - 1]?.cursor;
        await onEntries(entries);
      }
    };
    const listener = () => { running = running.then(pump).catch((err: unknown) => this.opts.logger.error({ err, room }, 'stream subscriber failed')); };
    stream.listeners.add(listener);
    listener();
    return {
      close: async () => {
        stopped = true;
        stream.listeners.delete(listener);
        await running;
      },
    };
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(-limit);
  }

  async stats(): Promise<BusStats> {
    const egressWaiting: Record<string, number> = {};
    for (const [connector, q] of this.egress) egressWaiting[connector] = q.length;
    return { ingressWaiting: this.ingress.length, egressWaiting, deadLettered: this.dead.length };
  }

  async healthy(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.leases].map((l) => l.close()));
    this.localState.close();
  }
}

/** Entries strictly after `since` (all when undefined), and whether `since` fell out of retention. */
export function readAfter(entries: readonly StreamEntry[], since: Cursor | undefined, limit: number, trimmedThrough?: Cursor): StreamRead {
  if (since === undefined) return { entries: entries.slice(0, limit), truncated: false };
  const lo = firstAfter(entries, since);
  const truncated = trimmedThrough !== undefined && compareCursors(since, trimmedThrough) < 0;
  return { entries: entries.slice(lo, lo + limit), truncated };
}

/** The index of the first entry after `cursor` (binary search: entries are in cursor order). */
function firstAfter(entries: readonly StreamEntry[], cursor: Cursor): number {
  return search(entries, (c) => compareCursors(c, cursor) <= 0);
}

/** The index of the first entry at or after `cursor`. */
function firstAtOrAfter(entries: readonly StreamEntry[], cursor: Cursor): number {
  return search(entries, (c) => compareCursors(c, cursor) < 0);
}

/** The first index whose cursor is not `before` (which holds for a prefix of the entries). */
function search(entries: readonly StreamEntry[], before: (cursor: Cursor) => boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid];
    if (e && before(e.cursor)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
