import { createHash, randomBytes } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { validateEvent, type CanonicalEvent } from '../../core/event.ts';
import { backoffDelay, type BusOptions } from '../options.ts';
import { busMetrics, type BusMetrics } from '../bus-metrics.ts';
import { type Bus, type BusStats, type Fanout, type Cursor, type DeadLetter, type Delivery, type DeliveryHandler, type EgressOptions, type IdMap,
  type LeaseCallbacks, type LeaseHandle, type PublishOnceResult, type RouteFn, type StateStore, type Stoppable, type StreamEntry, type StreamRead,
  type StreamSubscription, type Transaction } from '../types.ts';
import { publishOnce } from '../services/publish-once.ts';
import { defineServiceScripts, holdRedisLease, RedisIdMap, RedisTransactionLog, redisStateStore } from './services.ts';
import { appendBatch, defineAppendScript, type AppendResult } from './append-script.ts';
import { queueOptions } from './bullmq-adapter.ts';
import { DeadLetterStream } from './dead-letters.ts';
import { busKeys, type BusKeys } from './keys.ts';
import { DirectDelivery, TRIED_ONCE } from './direct-delivery.ts';
import { fastPaths, type FastPaths } from './fast-paths.ts';
import { ClaimBatcher } from './claim-batcher.ts';
import { corkWritesPerTick } from './corked-writes.ts';
import { RedisFanout } from './fanout.ts';
import { RedisNotes } from './notes.ts';
import { OrderedConsumer, type BatchProcessor } from './ordered-consumer.ts';
import { parseDelivery } from './parse-delivery.ts';
import { PublishBatcher } from './publish-batcher.ts';
import { RouteAtPublish } from './route-at-publish.ts';
import { HandBack, retryInline, sleepUnlessStopped } from './retry.ts';
import { latestCursor, readStream, readStreamBefore, StreamFollower } from './stream-reads.ts';

export interface RedisBusOptions extends BusOptions {
  readonly url: string;
  /** Prefix of every key and queue (also BullMQ's `prefix`), so deployments can share one Redis. */
  readonly prefix: string;
  /** Names this instance in leases. Unique per process. */
  readonly instanceId: string;
  /** Lease ttl of the router and of each egress consumer (renewed every third of it). Default 10 s. */
  readonly leaseMs?: number;
  /** BullMQ job lock of an active job (renewed by the worker). Default 15 s. */
  readonly lockDurationMs?: number;
  /** Shortcuts to switch off (each is on unless set to false): see fast-paths.ts and docs/bus.md. */
  readonly fastPaths?: Partial<FastPaths>;
}

/**
 * The newest completed jobs of each queue are kept (at most this many, for at most an hour) so that
 * adding one again with the same id is a no-op: an add that ioredis resent after a reconnect, or the
 * egress jobs of a routing pass re-run after a crash. Bounded by count, not only by age: each holds
 * up to batch.maxEvents events (docs/bus.md, "Sizing").
 */
export const KEEP_COMPLETED_JOBS = 100;
const KEEP_COMPLETED = { age: 3600, count: KEEP_COMPLETED_JOBS };

/** Options of every bus job (the queues' defaults, repeated where jobs are built by hand). Jobs never fail in BullMQ's sense (retries are in place). */
const JOB_OPTIONS = { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_COMPLETED };

/** Shows a Redis URL in an error without its password. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * A new ingress job's id: unique per write, not derived from the events, so that the same events
 * published again later are a new job whose events the dedupe marks recognise as duplicates (a
 * re-run of the SAME job, after a crash, reuses their cursors instead). The same add resent by
 * ioredis carries the same id, and is a no-op while the job is kept.
 */
function newIngressJobId(): string {
  return `i-${randomBytes(12).toString('base64url')}`;
}

/**
 * The durable bus: BullMQ queues for ingress/egress/dead letters, Redis Streams for the canonical
 * stream. See docs/bus.md for the keys, the leases and what durable means here.
 */
export class RedisBus implements Bus {
  readonly driver = 'redis' as const;
  readonly durable = true;
  /** Redis pub/sub on `<prefix>:fanout:<channel>`, on its own subscriber connection (opened at the first subscribe). */
  readonly fanout: Fanout;

  private readonly keys: BusKeys;
  private readonly metrics: BusMetrics;
  private readonly ingress: Queue;
  private readonly dead: DeadLetterStream;
  private readonly egress = new Map<string, Queue>();
  private readonly batcher: PublishBatcher;
  private readonly redisFanout: RedisFanout;
  /** Redis pub/sub on `<prefix>:notes:<channel>`, on a subscriber connection of its own (opened at the first subscribe). */
  readonly notes: RedisNotes;
  private readonly consumers = new Set<Stoppable>();
  private readonly localEgress = new Set<string>();
  /** The fast path `directDelivery`, when on. */
  private readonly direct: DirectDelivery | undefined;
  /** The router's consumer while this instance runs it. */
  private router: OrderedConsumer | undefined;
  /** The routing function while this instance runs the router (for routing at publish). */
  private routeFn: RouteFn | undefined;
  /** The fast path `routeAtPublish`, when on. */
  private readonly atPublish: RouteAtPublish | undefined;
  /** What the last append under the router lease held since `leaseSince` found about fan-out followers. */
  private lastAppend: { readonly leaseSince: number; readonly alone: boolean } | undefined;
  /** Connectors already recorded in the connectors set (for stats), so routing skips the SADD. */
  private readonly knownConnectors = new Set<string>();
  private routing = false;
  private closed = false;
  private readonly fast: FastPaths;
  private readonly transactions: RedisTransactionLog;
  private readonly leases = new Set<LeaseHandle>();
  readonly idMap: IdMap;

  private constructor(private readonly opts: RedisBusOptions, private readonly redis: Redis, private readonly workerRedis: Redis) {
    this.fast = fastPaths(opts.fastPaths);
    if (this.fast.corkWrites) corkWritesPerTick(redis);
    this.keys = busKeys(opts.prefix);
    this.metrics = busMetrics(opts.registry);
    this.direct = this.fast.directDelivery ? new DirectDelivery(this.metrics, opts.logger) : undefined;
    defineAppendScript(redis);
    defineServiceScripts(redis);
    const txnWindowMs = opts.retention.transactionSeconds * 1000;
    this.transactions = new RedisTransactionLog(redis, opts.prefix, opts.retention.transactionsPerRoom, txnWindowMs,
      this.fast.batchClaims ? new ClaimBatcher(redis, txnWindowMs, opts.retention.transactionsPerRoom) : undefined);
    this.idMap = new RedisIdMap(redis, opts.prefix, opts.retention.idMapPerEndpoint);
    this.ingress = this.queue(this.keys.ingressQueue);
    this.atPublish = this.fast.routeAtPublish ? new RouteAtPublish({
      redis, keys: this.keys, ingress: this.ingress, jobOptions: JOB_OPTIONS, prefix: opts.prefix, instanceId: opts.instanceId, retention: opts.retention,
      delivery: opts.delivery, logger: opts.logger,
      dispatch: (jobId, events, appended, route, letters, step) => this.dispatch(jobId, events, appended, route, letters, step),
      deadLetter: (letters, signal) => this.deadLetter(letters, signal),
      onRouted: () => this.metrics.routedAtPublish.inc(),
    }) : undefined;
    this.redisFanout = new RedisFanout(opts.url, this.keys, opts.instanceId, redis, opts.logger,
      () => this.nobodyElseFollows(), (outcome) => this.metrics.fanoutPublishes.inc({ outcome }));
    this.fanout = this.redisFanout;
    this.notes = new RedisNotes(opts.url, this.keys, opts.instanceId, redis, opts.logger);
    this.dead = new DeadLetterStream(redis, this.keys.dead, opts.logger);
    this.batcher = new PublishBatcher(opts.batch.maxEvents, opts.batch.maxWaitMs, (batches) => this.writeIngress(batches));
  }

  /** Connects to Redis; fails with an error naming the URL when it is unreachable. */
  static async connect(opts: RedisBusOptions): Promise<RedisBus> {
    const probe = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5_000, enableOfflineQueue: false });
    probe.on('error', () => undefined); // reported below
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      throw new Error(`cannot reach Redis at ${safeUrl(opts.url)}: ${(err as Error).message}`);
    } finally {
      probe.disconnect();
    }
    // No auto-pipelining: each flush of it builds an ioredis Pipeline, which copies every script
    // defined on the connection (BullMQ defines dozens); our commands are few per batch and already
    // grouped, so it cost more CPU than the writes it saved (measured: bench/RESULTS.md).
    const redis = new Redis(opts.url, { maxRetriesPerRequest: 3 });
    const workerRedis = new Redis(opts.url, { maxRetriesPerRequest: null });
    for (const conn of [redis, workerRedis]) conn.on('error', (err) => opts.logger.warn({ err }, 'redis connection error'));
    return new RedisBus(opts, redis, workerRedis);
  }

  private queue(name: string): Queue {
    return new Queue(name, queueOptions(this.redis, this.opts.prefix, JOB_OPTIONS));
  }

  private egressQueue(connector: string): Queue {
    let q = this.egress.get(connector);
    if (!q) {
      q = this.queue(this.keys.egressQueue(connector));
      this.egress.set(connector, q);
    }
    return q;
  }

  // --- publish -------------------------------------------------------------------------------

  publish(events: readonly CanonicalEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    return this.batcher.publish(events);
  }

  private async writeIngress(batches: CanonicalEvent[][]): Promise<void> {
    const ids = batches.map(() => newIngressJobId());
    const [only] = batches;
    const [onlyId] = ids;
    if (this.atPublish?.ready() && batches.length === 1 && only && onlyId !== undefined && this.routeFn && this.router?.leaseHeldSince !== undefined) {
      await this.atPublish.publish(only, onlyId, this.routeFn);
    } else if (batches.length === 1 && only) {
      // One batch (the usual case below saturation) is a plain add: no MULTI, and no pipeline object for ioredis to build.
      await this.ingress.add('events', only, { jobId: onlyId });
    } else {
      // addBulk is one MULTI: all these batches land in one round trip, in this order.
      await this.ingress.addBulk(batches.map((events, i) => ({ name: 'events', data: events, opts: { jobId: ids[i] } })));
    }
    let count = 0;
    for (const b of batches) {
      count += b.length;
      this.metrics.batchSize.observe({ stage: 'publish' }, b.length);
    }
    this.metrics.published.inc(count);
  }

  // --- routing -------------------------------------------------------------------------------

  startRouting(route: RouteFn): Stoppable {
    if (this.closed) throw new Error('bus is closed');
    if (this.routing) throw new Error('this bus already runs the router');
    this.routing = true;
    const consumer = this.consumer(this.keys.ingressQueue, this.keys.routerLease, (jobs, signal) => this.routeJobs(jobs, route, signal));
    this.router = consumer;
    this.routeFn = route;
    return {
      close: async () => {
        this.routeFn = undefined;
        await consumer.close();
        this.consumers.delete(consumer);
        this.router = undefined;
        this.routing = false;
      },
    };
  }

  private consumer(queueName: string, leaseKey: string, process: BatchProcessor, onTaken?: (jobs: readonly Job[]) => void): OrderedConsumer {
    const consumer = new OrderedConsumer({
      prefix: this.opts.prefix, queueName, leaseKey, instanceId: this.opts.instanceId, redis: this.redis, workerRedis: this.workerRedis,
      leaseMs: this.opts.leaseMs ?? 10_000, lockDurationMs: this.opts.lockDurationMs ?? 15_000,
      maxEvents: this.opts.batch.maxEvents, delivery: this.opts.delivery, logger: this.opts.logger, process,
      ...(onTaken ? { onTaken } : {}),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Routes a run of ingress jobs as one batch, in chunks of at most maxEvents events. Each event's
   * dedupe mark is owned by its ingress job, so a re-run of these jobs (a takeover after a crash,
   * whatever jobs it finds together) reuses the cursors of what was appended, and appends nothing twice.
   */
  private async routeJobs(jobs: readonly Job[], route: RouteFn, signal: AbortSignal): Promise<void> {
    const batchId = groupId(jobs);
    const events: CanonicalEvent[] = [];
    const ingressJobIds: string[] = [];
    const letters: DeadLetter[] = [];
    for (const job of jobs) {
      const id = job.id ?? '';
      // Routed by this process when it was published: done, nothing left to do. Not done (a failure
      // after the append): route it here; its events were appended by this job, so the script
      // reuses their cursors.
      if (await this.atPublish?.settled(id)) continue;
      for (const item of jobItems([job])) {
        const r = validateEvent(item);
        if (r.ok) {
          events.push(r.event);
          ingressJobIds.push(id);
        } else {
          letters.push({ reason: `invalid event on ingress: ${r.error}`, stage: 'ingress', raw: item, at: Date.now() });
        }
      }
    }
    // One script call and one egress job per connector per maxEvents events, even when several
    // waiting jobs were taken together. The chunking depends only on the jobs, so a re-run of the same jobs matches.
    const size = this.opts.batch.maxEvents;
    for (let start = 0; start < events.length; start += size) {
      const chunkId = start === 0 ? batchId : `${batchId}.${start / size}`;
      await this.routeChunk(chunkId, events.slice(start, start + size), ingressJobIds.slice(start, start + size), route, letters, signal);
    }
    if (letters.length > 0) await this.deadLetter(letters, signal);
  }

  /** Appends a chunk, then dispatches it; `chunkId` names its egress jobs. */
  private async routeChunk(chunkId: string, events: readonly CanonicalEvent[], ingressJobIds: readonly string[],
    route: RouteFn, letters: DeadLetter[], signal: AbortSignal): Promise<void> {
    const appended = await this.step('append to streams', () => appendBatch(this.redis, this.keys,
      { events, ingressJobIds, instanceId: this.opts.instanceId, retention: this.opts.retention }), signal);
    await this.dispatch(chunkId, events, appended, route, letters, (what, fn) => this.step(what, fn, signal));
  }

  /**
   * Delivers appended events: to each target connector, straight to its consumer when it can take
   * them (handOff), else as one egress job per connector named after the chunk (a re-run after a
   * crash adds nothing twice).
   */
  /** Also called by routing at publish (route-at-publish.ts). */
  private async dispatch(chunkId: string, events: readonly CanonicalEvent[], appended: AppendResult,
    route: RouteFn, letters: DeadLetter[], step: <T>(what: string, fn: () => Promise<T>) => Promise<T>): Promise<void> {
    this.metrics.batchSize.observe({ stage: 'ingress' }, events.length);
    const outcomes = appended.outcomes;
    const leaseSince = this.router?.leaseHeldSince;
    if (leaseSince !== undefined) this.lastAppend = { leaseSince, alone: appended.otherFollowers === 0 };

    const byConnector = new Map<string, Delivery[]>();
    let routed = 0;
    let duplicates = 0;
    events.forEach((event, i) => {
      const outcome = outcomes[i];
      if (!outcome || outcome.status === 'duplicate') {
        duplicates++;
        return;
      }
      if (outcome.status === 'new') routed++;
      let targets;
      try {
        targets = route(event);
      } catch (err) {
        letters.push({ reason: `route failed: ${(err as Error).message}`, stage: 'ingress', event, at: Date.now() });
        return;
      }
      for (const target of targets) {
        let list = byConnector.get(target.connector);
        if (!list) byConnector.set(target.connector, list = []);
        list.push({ event, target, cursor: outcome.cursor });
      }
    });

    const triedOnce = new Set<string>();
    // Side by side: each connector's handler runs under its own consumer, and a slow one (an
    // MTProto chat log's writes) must not hold back another (a WebSocket room) listed after it.
    // Each keeps its order: the next chunk is dispatched only once all of these are over.
    const direct = this.direct;
    const handOffs = direct === undefined ? [] : await Promise.all([...byConnector].map(async ([connector, deliveries]) =>
      [connector, await direct.handOff(connector, deliveries, this.router?.leaseHeldSince)] as const));
    for (const [connector, outcome] of handOffs) {
      if (outcome === 'delivered') byConnector.delete(connector);
      else if (outcome === 'failed') triedOnce.add(connector);
    }
    if (byConnector.size > 0) {
      const unknown = [...byConnector.keys()].filter((c) => !this.knownConnectors.has(c));
      const added = [...byConnector.keys()].map((connector) => ({ connector, jobId: `${chunkId}.${connector}` }));
      for (const { connector, jobId: id } of added) this.direct?.adding(connector, id);
      try {
        await step('enqueue deliveries', () => Promise.all([
          unknown.length > 0 ? this.redis.sadd(this.keys.connectors, ...unknown) : undefined,
          ...[...byConnector].map(([connector, deliveries]) =>
            // Named after what happened: a batch whose direct delivery failed has used one attempt.
            this.egressQueue(connector).add(triedOnce.has(connector) ? TRIED_ONCE : 'deliveries', deliveries, { jobId: `${chunkId}.${connector}` })),
        ]));
      } catch (err) {
        // Whether those jobs exist is unknown now: no hand-off to these connectors until their
        // consumer has seen its queue empty again.
        for (const { connector, jobId: id } of added) this.direct?.addFailed(connector, id);
        throw err;
      }
    }
    for (const c of byConnector.keys()) this.knownConnectors.add(c);
    this.metrics.routed.inc(routed);
    this.metrics.duplicates.inc(duplicates);
  }

  private step<T>(what: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    return retryInline(what, fn, this.opts.delivery, signal, this.opts.logger);
  }

  /** Also called by routing at publish (route-at-publish.ts). */
  private async deadLetter(letters: readonly DeadLetter[], signal: AbortSignal): Promise<void> {
    await this.step('dead-letter', () => this.dead.add(letters), signal);
    for (const letter of letters) {
      this.metrics.deadLettered.inc({ stage: letter.stage, connector: letter.connector ?? '' });
      this.opts.logger.warn({ stage: letter.stage, connector: letter.connector, eventId: letter.event?.id, reason: letter.reason }, 'dead-lettered');
    }
  }

  // --- egress --------------------------------------------------------------------------------

  consumeEgress(connector: string, handler: DeliveryHandler, options: EgressOptions = {}): Stoppable {
    if (this.closed) throw new Error('bus is closed');
    if (this.localEgress.has(connector)) throw new Error(`egress of ${connector} already has a consumer`);
    this.localEgress.add(connector);
    void this.redis.sadd(this.keys.connectors, connector).catch(() => undefined);
    const direct = options.direct ? this.direct : undefined;
    const consumer = this.consumer(this.keys.egressQueue(connector), this.keys.egressLease(connector),
      (jobs, signal) => this.deliverJobs(connector, jobs, handler, signal), direct ? (jobs) => direct.taken(connector, jobs) : undefined);
    direct?.register(connector, handler, consumer);
    return {
      close: async () => {
        this.direct?.unregister(connector);
        await consumer.close();
        this.consumers.delete(consumer);
        this.localEgress.delete(connector);
      },
    };
  }

  /**
   * Whether a fan-out publish can reach nobody who needs it: this instance routes, and its latest
   * append (later than the append of anything it delivers now) found no other instance registered
   * as a follower. One registering after that append reads the stream after it (append-script.ts).
   */
  private nobodyElseFollows(): boolean {
    if (!this.fast.skipLonelyFanout) return false;
    const since = this.router?.leaseHeldSince;
    return since !== undefined && this.lastAppend?.leaseSince === since && this.lastAppend.alone;
  }

  private async deliverJobs(connector: string, jobs: readonly Job[], handler: DeliveryHandler, signal: AbortSignal): Promise<void> {
    const items = jobItems(jobs);
    const deliveries: Delivery[] = [];
    const letters: DeadLetter[] = [];
    for (const item of items) {
      const d = parseDelivery(item);
      if (typeof d !== 'string') deliveries.push(d);
      else letters.push({ reason: `unreadable delivery: ${d}`, stage: 'egress', connector, raw: item, at: Date.now() });
    }
    // Handler calls never exceed maxEvents, even when several waiting jobs were taken together.
    const size = this.opts.batch.maxEvents;
    // A batch whose direct delivery failed comes first (its queue was empty): its first chunk has used an attempt.
    const priorAttempts = jobs[0]?.name === TRIED_ONCE ? 1 : 0;
    for (let start = 0; start < deliveries.length; start += size) {
      const chunk = deliveries.slice(start, start + size);
      const failure = await this.deliverInPlace(connector, chunk, handler, signal, start === 0 ? priorAttempts : 0);
      if (failure !== undefined) {
        const reason = `delivery failed ${this.opts.delivery.maxAttempts} times: ${failure}`;
        for (const d of chunk) letters.push({ reason, stage: 'egress', connector, event: d.event, at: Date.now() });
      }
      this.metrics.batchSize.observe({ stage: 'egress' }, chunk.length);
    }
    if (letters.length > 0) await this.deadLetter(letters, signal);
  }

  /** Calls the handler until it succeeds (undefined) or maxAttempts ran out (the last error's message). */
  private async deliverInPlace(connector: string, deliveries: readonly Delivery[], handler: DeliveryHandler, signal: AbortSignal,
    priorAttempts = 0): Promise<string | undefined> {
    // The attempt after a failed direct delivery goes at once (like a first retry after a hand-back),
    // but it counts: maxAttempts is the same whichever way the batch went.
    if (priorAttempts > 0) this.metrics.retries.inc({ connector });
    for (let attempt = priorAttempts + 1; ; attempt++) {
      if (signal.aborted) throw new HandBack();
      try {
        await handler(deliveries);
        this.metrics.delivered.inc({ connector }, deliveries.length);
        return undefined;
      } catch (err) {
        if (signal.aborted) throw new HandBack();
        if (attempt >= this.opts.delivery.maxAttempts) return err instanceof Error ? err.message : String(err);
        this.metrics.retries.inc({ connector });
        await sleepUnlessStopped(backoffDelay(attempt, this.opts.delivery), signal);
      }
    }
  }

  // --- canonical stream ----------------------------------------------------------------------

  readStream(room: string, since: Cursor | undefined, limit: number): Promise<StreamRead> {
    return readStream(this.redis, this.keys, room, since, limit, this.opts.logger);
  }

  readStreamBefore(room: string, before: Cursor | undefined, limit: number): Promise<readonly StreamEntry[]> {
    return readStreamBefore(this.redis, this.keys, room, before, limit, this.opts.logger);
  }

  latestCursor(room: string): Promise<Cursor | undefined> {
    return latestCursor(this.redis, this.keys, room);
  }

  /** SCAN over the stream keys: a sweep's cost, not a hot path (keys.ts puts room names last). */
  async *rooms(): AsyncIterable<string> {
    const prefix = this.keys.stream('');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000, 'TYPE', 'stream');
      cursor = next;
      for (const key of keys) yield key.slice(prefix.length);
    } while (cursor !== '0');
  }

  subscribeStream(room: string, since: Cursor | undefined, onEntries: (entries: readonly StreamEntry[]) => Promise<void> | void): StreamSubscription {
    if (this.closed) throw new Error('bus is closed');
    const follower = new StreamFollower(this.redis, this.keys, room, since, onEntries, this.opts.logger);
    this.consumers.add(follower);
    return {
      close: async () => {
        await follower.close();
        this.consumers.delete(follower);
      },
    };
  }

  // --- operations ----------------------------------------------------------------------------

  deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.newest(limit);
  }

  async stats(): Promise<BusStats> {
    const connectors = await this.redis.smembers(this.keys.connectors);
    const [ingressWaiting, deadLettered, ...egressCounts] = await Promise.all([
      this.ingress.getWaitingCount(),
      this.dead.count(),
      ...connectors.map((c) => this.egressQueue(c).getWaitingCount()),
    ]);
    const egressWaiting: Record<string, number> = {};
    connectors.forEach((c, i) => { egressWaiting[c] = egressCounts[i] ?? 0; });
    return { ingressWaiting: ingressWaiting ?? 0, egressWaiting, deadLettered: deadLettered ?? 0 };
  }

  /** One PING; how long to wait for it is the caller's to bound (/healthz does: src/http/health.ts). */
  async healthy(): Promise<boolean> {
    if (this.closed) return false;
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Writes every accepted publish, stops consumers after their current job, then disconnects. */
  // --- services beside the queues (docs/bus.md: transactions, id map, state, leases) ----------

  publishOnce(event: CanonicalEvent, transaction: Transaction): Promise<PublishOnceResult> {
    return publishOnce((events) => this.publish(events), this.transactions, event, transaction);
  }

  state(namespace: string): StateStore {
    return redisStateStore(this.redis, this.opts.prefix, namespace);
  }

  isUnavailable(err: unknown): boolean {
    return isRedisUnreachable(err);
  }

  holdLease(name: string, callbacks: LeaseCallbacks): LeaseHandle {
    const lease = holdRedisLease(this.redis, `${this.opts.prefix}:lease:named:${name}`, this.opts.instanceId, this.opts.leaseMs ?? 10_000, callbacks,
      (err) => this.opts.logger.warn({ err, lease: name }, 'lease: could not reach Redis'));
    this.leases.add(lease);
    return lease;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.leases].map((l) => l.close()));
    await Promise.all([this.batcher.close(), ...[...this.consumers].map((c) => c.close())]);
    await this.atPublish?.drain();
    await this.redisFanout.close();
    await this.notes.close();
    await Promise.all([this.ingress.close(), ...[...this.egress.values()].map((q) => q.close())]);
    await Promise.all([this.redis.quit().catch(() => undefined), this.workerRedis.quit().catch(() => undefined)]);
  }
}

/** The id of a run of jobs: the job's own id when alone, else a hash of all their ids. */
function groupId(jobs: readonly Job[]): string {
  if (jobs.length === 1) return jobs[0]?.id ?? 'unknown';
  const hash = createHash('sha256');
  for (const job of jobs) hash.update(job.id ?? '').update('\n');
  return `g-${hash.digest('hex').slice(0, 40)}`;
}

/** The items (events or deliveries) of a run of jobs, in order. */
function jobItems(jobs: readonly Job[]): unknown[] {
  const items: unknown[] = [];
  for (const job of jobs) {
    const data: unknown = job.data;
    if (Array.isArray(data)) items.push(...(data as unknown[]));
    else items.push(data);
  }
  return items;
}

/**
 * What ioredis throws when Redis cannot be reached: a command given up after its retries
 * (MaxRetriesPerRequestError), a connection closed or refused, a timeout. Everything else (a
 * script's error, a wrong type) is not an outage.
 */
export function isRedisUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE') return true;
  return /^(Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Command timed out)/.test(err.message);
}
