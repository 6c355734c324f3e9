import { createHash } from 'node:crypto';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { validateEvent, type CanonicalEvent } from '../../core/event.ts';
import { backoffDelay, type BusOptions } from '../options.ts';
import { busMetrics, type BusMetrics } from '../bus-metrics.ts';
import { type Bus, type BusStats, type Fanout, type Cursor, type DeadLetter, type Delivery, type DeliveryHandler, type EgressOptions, type IdMap,
  type LeaseCallbacks, type LeaseHandle, type PublishOnceResult, type RouteFn, type StateStore, type Stoppable, type StreamEntry, type StreamRead,
  type StreamSubscription, type Transaction } from '../types.ts';
import { publishOnce } from '../services/publish-once.ts';
import { defineServiceScripts, holdRedisLease, RedisIdMap, RedisTransactionLog, redisStateStore } from './services.ts';
import { appendArgs, appendBatch, defineAppendScript, parseAppendReply, type AppendResult } from './append-script.ts';
import { busKeys, type BusKeys } from './keys.ts';
import { DirectEgress, TRIED_ONCE } from './direct-egress.ts';
import { LocalPublishes } from './local-publishes.ts';
import { RedisFanout } from './fanout.ts';
import { OrderedConsumer, type BatchProcessor } from './ordered-consumer.ts';
import { parseDelivery } from './parse-delivery.ts';
import { PublishBatcher } from './publish-batcher.ts';
import { HandBack, retryInline, retryInlineFor, sleepUnlessStopped } from './retry.ts';
import { latestCursor, readStream, StreamFollower } from './stream-reads.ts';

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
}

/** How long routing at publish may retry its Redis steps before leaving the job to the router. */
const PUBLISH_ROUTING_DEADLINE_MS = 2_000;
/** After a deferred routing at publish, publishes go the usual way for this long. */
const ROUTE_AT_PUBLISH_PAUSE_MS = 2;
/** Jobs routed at publish that are remembered until the router takes them, at most. */
const MAX_ROUTED_AT_PUBLISH = 4_096;

/** Events of ingress batches remembered for the local router at most (see LocalPublishes). */
const MAX_REMEMBERED_EVENTS = 16_384;

/** Completed bus jobs are kept this long so that re-adding one after a crash (same job id) is a no-op. */
const KEEP_COMPLETED = { age: 3600, count: 100_000 };

/** Options of every ingress job (the queue's defaults, repeated where jobs are built by hand). */
const INGRESS_JOB_OPTIONS = { removeOnComplete: KEEP_COMPLETED, removeOnFail: { age: 7 * 86_400 } };

/** Shows a Redis URL in an error without its password. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** A job id that is the same when the same batch is added again, so a retried add is idempotent. */
function batchJobId(events: readonly CanonicalEvent[]): string {
  const hash = createHash('sha256');
  for (const e of events) hash.update(e.id).update('\n');
  return `b-${hash.digest('hex').slice(0, 40)}`;
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
  private readonly dead: Queue;
  private readonly egress = new Map<string, Queue>();
  private readonly batcher: PublishBatcher;
  private readonly redisFanout: RedisFanout;
  private readonly consumers = new Set<Stoppable>();
  private readonly localEgress = new Set<string>();
  /** Egress consumers in this process whose handler may be called by the router directly (see handOff). */
  private readonly direct = new Map<string, DirectEgress>();
  /** The router's consumer while this instance runs it. */
  private router: OrderedConsumer | undefined;
  /** The routing function while this instance runs the router (for routing at publish). */
  private routeFn: RouteFn | undefined;
  /** Ingress jobs this process routed when publishing them: resolves true once done (see publishAndRoute). */
  private readonly routedAtPublish = new Map<string, Promise<boolean>>();
  /** performance.now() before which publishes are not routed at publish (the last try was deferred). */
  private routeAtPublishAfter = 0;
  /** What the last append under the router lease held since `leaseSince` found about fan-out followers. */
  private lastAppend: { readonly leaseSince: number; readonly alone: boolean } | undefined;
  /** Events of the ingress jobs this process wrote, until its router takes them. */
  private readonly publishedHere = new LocalPublishes(MAX_REMEMBERED_EVENTS);
  /** Connectors already recorded in the connectors set (for stats), so routing skips the SADD. */
  private readonly knownConnectors = new Set<string>();
  private routing = false;
  private closed = false;
  private readonly transactions: RedisTransactionLog;
  private readonly leases = new Set<LeaseHandle>();
  readonly idMap: IdMap;

  private constructor(private readonly opts: RedisBusOptions, private readonly redis: Redis, private readonly workerRedis: Redis) {
    this.keys = busKeys(opts.prefix);
    this.metrics = busMetrics(opts.registry);
    defineAppendScript(redis);
    defineServiceScripts(redis);
    this.transactions = new RedisTransactionLog(redis, opts.prefix, opts.retention.transactionsPerRoom, opts.retention.transactionSeconds * 1000);
    this.idMap = new RedisIdMap(redis, opts.prefix, opts.retention.idMapPerEndpoint);
    this.ingress = this.queue(this.keys.ingressQueue);
    this.redisFanout = new RedisFanout(opts.url, this.keys, opts.instanceId, redis, opts.logger,
      () => this.nobodyElseFollows(), (outcome) => this.metrics.fanoutPublishes.inc({ outcome }));
    this.fanout = this.redisFanout;
    this.dead = new Queue(this.keys.deadQueue, { connection: redis, prefix: opts.prefix });
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
    return new Queue(name, {
      connection: this.redis,
      prefix: this.opts.prefix,
      defaultJobOptions: INGRESS_JOB_OPTIONS,
    });
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
    const ids = batches.map(batchJobId);
    const [only] = batches;
    const [onlyId] = ids;
    if (batches.length === 1 && only && onlyId !== undefined && this.routeFn && this.router?.leaseHeldSince !== undefined
      && performance.now() >= this.routeAtPublishAfter) {
      await this.publishAndRoute(only, onlyId, this.routeFn);
    } else {
      // addBulk is one MULTI: all these batches land in one round trip, in this order. One batch (the
      // usual case below saturation) is a plain add: no MULTI, and no pipeline object for ioredis to build.
      if (batches.length === 1 && only) await this.ingress.add('events', only, { jobId: onlyId });
      else await this.ingress.addBulk(batches.map((events, i) => ({ name: 'events', data: events, opts: { jobId: ids[i] } })));
      if (this.router?.leaseHeldSince !== undefined) ids.forEach((id, i) => { const b = batches[i]; if (b) this.publishedHere.remember(id, b); });
    }
    let count = 0;
    for (const b of batches) {
      count += b.length;
      this.metrics.batchSize.observe({ stage: 'publish' }, b.length);
    }
    this.metrics.published.inc(count);
  }

  /**
   * Routing at publish: when this process routes and its router has nothing to do, the publish
   * is routed right here instead of waiting for the router to be woken and to fetch it (two round
   * trips less for every message of a quiet room). The ingress job is added, and right behind it
   * on the same connection the append script runs in "if free" mode: it appends only when every
   * other ingress job waiting or active was itself appended at publish, so every earlier event is
   * in the stream already and the router is appending nothing. The router, taking this job in the
   * meantime, waits for this to end before it decides anything (the map below).
   * The events are then dispatched as the router would (handOff or egress jobs, under this job's
   * id), and only then does the next publish flush start, so publishes keep their order too.
   *
   * The ingress job stays the record: the router takes it later and, seeing it routed here (the
   * map), completes it without routing it again; if dispatching failed half way, it routes it itself
   * (the script reuses the cursors the job appended). After a crash the next router re-routes it:
   * at least once, like any batch in flight. When the script defers, the router routes the job as
   * usual.
   */
  private async publishAndRoute(events: CanonicalEvent[], jobId: string, route: RouteFn): Promise<void> {
    let done: (routed: boolean) => void = () => undefined;
    this.routedAtPublish.set(jobId, new Promise<boolean>((resolve) => { done = resolve; }));
    this.boundRoutedAtPublish();
    let routed = false;
    try {
      // Two scripts sent back to back on one connection (no MULTI: building one costs more than it
      // saves): the add, then the append, which checks for itself what it needs (see append-script.ts).
      const client = await this.ingress.client;
      const job = new Job(this.ingress, 'events', events, { ...INGRESS_JOB_OPTIONS, jobId }, jobId);
      const added = job.addJob(client); // sent now, before the append below
      const [numKeys, ...args] = appendArgs(this.keys, {
        chunkId: jobId, events, ingressJobIds: events.map(() => jobId), instanceId: this.opts.instanceId, retention: this.opts.retention,
        ifFree: {
          waitList: this.keys.waitList(this.keys.ingressQueue), activeList: this.keys.activeList(this.keys.ingressQueue),
          jobKey: this.keys.job(this.keys.ingressQueue, jobId),
        },
      });
      const append = (this.redis as unknown as { sbAppendBatch(n: number, ...a: string[]): Promise<unknown> }).sbAppendBatch(numKeys, ...args)
        .then((raw) => ({ raw }), (err: unknown) => ({ err }));
      await added; // a failed add fails the publish (nothing was accepted)
      const reply = await append;
      let appended: AppendResult | 'deferred';
      try {
        if ('err' in reply) throw reply.err;
        appended = parseAppendReply(reply.raw, events.length);
      } catch (err) {
        // The job is in (accepted): the router routes it, from the events remembered here.
        this.opts.logger.warn({ err, jobId }, 'append at publish failed; the router routes the job');
        this.publishedHere.remember(jobId, events);
        return;
      }
      if (appended === 'deferred') {
        // The router has work of its own: let it route this one too, and don't try again at once.
        this.routeAtPublishAfter = performance.now() + ROUTE_AT_PUBLISH_PAUSE_MS;
        this.publishedHere.remember(jobId, events);
        return;
      }
      const letters: { id: string; letter: DeadLetter }[] = [];
      try {
        await this.dispatch(jobId, jobId, events, appended, 0, route, letters,
          (what, fn) => retryInlineFor(what, fn, this.opts.delivery, PUBLISH_ROUTING_DEADLINE_MS, this.opts.logger));
        if (letters.length > 0) await this.deadLetter(letters, AbortSignal.timeout(PUBLISH_ROUTING_DEADLINE_MS));
        routed = true;
        this.metrics.routedAtPublish.inc();
      } catch (err) {
        this.opts.logger.warn({ err, jobId }, 'routing at publish failed half way; the router routes the job again (at least once)');
        // Unmarked, the job stops later publishes from being routed before the router has re-routed it.
        await this.redis.del(this.keys.routedAtPublish(jobId)).catch(() => undefined);
        this.publishedHere.remember(jobId, events);
      }
    } finally {
      done(routed);
    }
  }

  /** Jobs routed at publish that the router never took here (another instance took the lease) must not pile up. */
  private boundRoutedAtPublish(): void {
    for (const id of this.routedAtPublish.keys()) {
      if (this.routedAtPublish.size <= MAX_ROUTED_AT_PUBLISH) break;
      this.routedAtPublish.delete(id);
    }
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
      keys: this.keys, queueName, leaseKey, instanceId: this.opts.instanceId, redis: this.redis, workerRedis: this.workerRedis,
      leaseMs: this.opts.leaseMs ?? 10_000, lockDurationMs: this.opts.lockDurationMs ?? 15_000,
      maxEvents: this.opts.batch.maxEvents, delivery: this.opts.delivery, logger: this.opts.logger, process,
      ...(onTaken ? { onTaken } : {}),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Routes a run of ingress jobs as one batch. The batch's id (the job id, or a hash of the job ids)
   * owns its events' dedupe marks and names its egress jobs: a takeover re-processes the same run of
   * orphaned jobs, so the same id comes out and nothing is appended or enqueued twice.
   */
  private async routeJobs(jobs: readonly Job[], route: RouteFn, signal: AbortSignal): Promise<void> {
    const jobId = groupId(jobs);
    const events: CanonicalEvent[] = [];
    const ingressJobIds: string[] = [];
    const letters: { id: string; letter: DeadLetter }[] = [];
    let i = 0;
    for (const job of jobs) {
      const id = job.id ?? '';
      const atPublish = this.routedAtPublish.get(id);
      if (atPublish) {
        // Routed by this process when it was published (publishAndRoute): wait for that to end.
        // Done: nothing left to do. Not done (a failure after the append): route it here; its
        // events were appended by this job, so the script reuses their cursors.
        this.routedAtPublish.delete(id);
        if (await atPublish) {
          // Its `routed-at-publish` mark is left to expire: deleting it would cost a write per message.
          this.publishedHere.take(id);
          i += Array.isArray(job.data) ? (job.data as unknown[]).length : 1;
          continue;
        }
      }
      const mine = this.publishedHere.take(id);
      if (mine) {
        // Written by this process a moment ago, from events validated then: the same events.
        events.push(...mine);
        for (let k = 0; k < mine.length; k++) ingressJobIds.push(id);
        i += mine.length;
        continue;
      }
      for (const item of jobItems([job])) {
        const r = validateEvent(item);
        if (r.ok) {
          events.push(r.event);
          ingressJobIds.push(id);
        } else {
          letters.push({ id: `${jobId}.in.${i}`, letter: { reason: `invalid event on ingress: ${r.error}`, stage: 'ingress', raw: item, at: Date.now() } });
        }
        i++;
      }
    }
    // One script call and one egress job per connector per maxEvents events, even when several
    // waiting jobs were taken together. The chunking depends only on the jobs, so a re-run matches.
    const size = this.opts.batch.maxEvents;
    for (let start = 0; start < events.length; start += size) {
      const chunkId = start === 0 ? jobId : `${jobId}.${start / size}`;
      await this.routeChunk(jobId, chunkId, events.slice(start, start + size), ingressJobIds.slice(start, start + size), start, route, letters, signal);
    }
    if (letters.length > 0) await this.deadLetter(letters, signal);
  }

  /** `chunkId` owns the dedupe marks of its events, so the same id in a later chunk is a duplicate, and a re-run of this chunk is not. */
  private async routeChunk(jobId: string, chunkId: string, events: readonly CanonicalEvent[], ingressJobIds: readonly string[], offset: number,
    route: RouteFn, letters: { id: string; letter: DeadLetter }[], signal: AbortSignal): Promise<void> {
    const appended = await this.step('append to streams', () => appendBatch(this.redis, this.keys,
      { chunkId, events, ingressJobIds, instanceId: this.opts.instanceId, retention: this.opts.retention }), signal);
    await this.dispatch(jobId, chunkId, events, appended, offset, route, letters, (what, fn) => this.step(what, fn, signal));
  }

  /**
   * Delivers appended events: to each target connector, straight to its consumer when it can take
   * them (handOff), else as one egress job per connector named after the chunk (a re-run after a
   * crash adds nothing twice).
   */
  private async dispatch(jobId: string, chunkId: string, events: readonly CanonicalEvent[], appended: AppendResult, offset: number,
    route: RouteFn, letters: { id: string; letter: DeadLetter }[], step: <T>(what: string, fn: () => Promise<T>) => Promise<T>): Promise<void> {
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
        letters.push({ id: `${jobId}.route.${offset + i}`, letter: { reason: `route failed: ${(err as Error).message}`, stage: 'ingress', event, at: Date.now() } });
        return;
      }
      for (const target of targets) {
        let list = byConnector.get(target.connector);
        if (!list) byConnector.set(target.connector, list = []);
        list.push({ event, target, cursor: outcome.cursor });
      }
    });

    const triedOnce = new Set<string>();
    for (const [connector, deliveries] of byConnector) {
      const outcome = await this.handOff(connector, deliveries);
      if (outcome === 'delivered') byConnector.delete(connector);
      else if (outcome === 'failed') triedOnce.add(connector);
    }
    if (byConnector.size > 0) {
      const unknown = [...byConnector.keys()].filter((c) => !this.knownConnectors.has(c));
      const added = [...byConnector.keys()].map((connector) => ({ connector, jobId: `${chunkId}.${connector}` }));
      for (const { connector, jobId: id } of added) this.direct.get(connector)?.pending.add(id);
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
        for (const { connector, jobId: id } of added) this.direct.get(connector)?.forget(id);
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

  private async deadLetter(letters: readonly { id: string; letter: DeadLetter }[], signal: AbortSignal): Promise<void> {
    await this.step('dead-letter', () => this.dead.addBulk(letters.map(({ id, letter }) => ({ name: letter.stage, data: letter, opts: { jobId: id } }))), signal);
    for (const { letter } of letters) {
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
    const direct = options.direct ? new DirectEgress(handler) : undefined;
    const consumer = this.consumer(this.keys.egressQueue(connector), this.keys.egressLease(connector),
      (jobs, signal) => this.deliverJobs(connector, jobs, handler, signal), direct ? (jobs) => direct.taken(jobs) : undefined);
    if (direct) {
      direct.consumer = consumer;
      this.direct.set(connector, direct);
    }
    return {
      close: async () => {
        this.direct.delete(connector);
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
    const since = this.router?.leaseHeldSince;
    return since !== undefined && this.lastAppend?.leaseSince === since && this.lastAppend.alone;
  }

  /**
   * The local hand-off: when this instance runs the router AND the consumer of `connector`, and that
   * consumer sits idle with an empty queue, the router calls its handler directly instead of adding
   * an egress job it would fetch at once: two BullMQ job round trips and a wake-up less per batch.
   *
   * Order holds because nothing of that connector can be queued: the consumer saw its queue empty
   * after both leases were taken and after the last failed enqueue, and every egress job this router
   * added since has been taken by it (`pending` is empty); only the router adds egress jobs, and it
   * routes one batch at a time. The delivery is as durable as through the queue: the ingress job is
   * completed only after the handler returned, so a crash before that re-runs the ingress job, which
   * enqueues the batch (at least once, like a crash after an egress handler). When the handler
   * throws, the batch is enqueued after all and the consumer retries it in place as usual.
   */
  private async handOff(connector: string, deliveries: readonly Delivery[]): Promise<'delivered' | 'failed' | 'not now'> {
    const direct = this.direct.get(connector);
    const consumer = direct?.consumer;
    const routerSince = this.router?.leaseHeldSince;
    if (!direct || !consumer || routerSince === undefined || direct.pending.size > 0) return 'not now';
    if (!consumer.idleAndDrainedSince(Math.max(routerSince, direct.unsureSince))) return 'not now';
    try {
      await consumer.runExclusive(() => direct.handler(deliveries));
    } catch (err) {
      this.metrics.handOffs.inc({ connector, outcome: 'failed' });
      this.opts.logger.debug({ err, connector, deliveries: deliveries.length }, 'direct delivery failed; queueing it for retries');
      return 'failed';
    }
    this.metrics.handOffs.inc({ connector, outcome: 'delivered' });
    this.metrics.delivered.inc({ connector }, deliveries.length);
    this.metrics.batchSize.observe({ stage: 'egress' }, deliveries.length);
    return 'delivered';
  }

  private async deliverJobs(connector: string, jobs: readonly Job[], handler: DeliveryHandler, signal: AbortSignal): Promise<void> {
    const jobId = groupId(jobs);
    const items = jobItems(jobs);
    const deliveries: Delivery[] = [];
    const letters: { id: string; letter: DeadLetter }[] = [];
    items.forEach((item, i) => {
      const d = parseDelivery(item);
      if (typeof d !== 'string') deliveries.push(d);
      else letters.push({ id: `${jobId}.bad.${i}`, letter: { reason: `unreadable delivery: ${d}`, stage: 'egress', connector, raw: item, at: Date.now() } });
    });
    // Handler calls never exceed maxEvents, even when several waiting jobs were taken together.
    const size = this.opts.batch.maxEvents;
    // A batch whose direct delivery failed comes first (its queue was empty): its first chunk has used an attempt.
    const priorAttempts = jobs[0]?.name === TRIED_ONCE ? 1 : 0;
    for (let start = 0; start < deliveries.length; start += size) {
      const chunk = deliveries.slice(start, start + size);
      const failure = await this.deliverInPlace(connector, chunk, handler, signal, start === 0 ? priorAttempts : 0);
      if (failure !== undefined) {
        const reason = `delivery failed ${this.opts.delivery.maxAttempts} times: ${failure}`;
        chunk.forEach((d, i) => letters.push({ id: `${jobId}.dead.${start + i}`, letter: { reason, stage: 'egress', connector, event: d.event, at: Date.now() } }));
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

  latestCursor(room: string): Promise<Cursor | undefined> {
    return latestCursor(this.redis, this.keys, room);
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

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    if (limit <= 0) return [];
    const jobs = await this.dead.getJobs(['waiting'], 0, limit - 1, false);
    // Newest last: by add time, then by insertion order within one bulk add.
    const ordered = jobs.filter((j): j is Job => j !== undefined && j !== null).sort((a, b) => a.timestamp - b.timestamp || compareIds(a.id, b.id));
    return ordered.map((j) => j.data as DeadLetter);
  }

  async stats(): Promise<BusStats> {
    const connectors = await this.redis.smembers(this.keys.connectors);
    const [ingressWaiting, deadLettered, ...egressCounts] = await Promise.all([
      this.ingress.getWaitingCount(),
      this.dead.getWaitingCount(),
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
    await this.redisFanout.close();
    await Promise.all([this.ingress.close(), this.dead.close(), ...[...this.egress.values()].map((q) => q.close())]);
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

function compareIds(a: string | undefined, b: string | undefined): number {
  return (a ?? '').localeCompare(b ?? '', 'en', { numeric: true });
}
