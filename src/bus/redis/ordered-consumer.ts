import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { BusOptions } from '../options.ts';
import type { Stoppable } from '../types.ts';
import { Lease } from './lease.ts';
import { HandBack, retryInlineFor, sleepUnlessStopped } from './retry.ts';
import { closeWorker, fetchWaiting, handBackToHead, manualWorker, takeOverActiveJobs } from './bullmq-adapter.ts';

/**
 * Processes a run of consecutive jobs (oldest first) as one batch. Throws HandBack (only) when
 * `signal` aborted mid-way: the jobs then go back to the head of the queue, in order, untouched.
 */
export type BatchProcessor = (jobs: readonly Job[], signal: AbortSignal) => Promise<void>;

export interface OrderedConsumerOptions {
  /** The deployment's prefix (BullMQ's `prefix` too). */
  readonly prefix: string;
  readonly queueName: string;
  readonly leaseKey: string;
  readonly instanceId: string;
  /** For leases, takeover and completing jobs. */
  readonly redis: Redis;
  /** For the BullMQ Worker (maxRetriesPerRequest: null); it duplicates it for its blocking reads. */
  readonly workerRedis: Redis;
  readonly leaseMs: number;
  readonly lockDurationMs: number;
  /** Jobs are taken together until they hold this many events (a job's size = its array length). */
  readonly maxEvents: number;
  readonly delivery: BusOptions['delivery'];
  readonly logger: Logger;
  readonly process: BatchProcessor;
  /** Told of every job this consumer takes (fetched, fetched ahead or taken over), before it is processed. */
  readonly onTaken?: (jobs: readonly Job[]) => void;
}

/** More jobs than this are never taken at once, however small they are. */
const MAX_JOBS_PER_BATCH = 64;

const sizeOf = (job: Job): number => (Array.isArray(job.data) ? job.data.length : 1);

/**
 * One ordered consumer of one BullMQ queue across the whole cluster: whoever holds the queue's lease
 * runs a BullMQ Worker in manual mode, one batch at a time (concurrency 1); the others wait for the
 * lease.
 *
 * Batching: while a batch is processed, the jobs waiting behind it are fetched (without blocking)
 * until they hold about `maxEvents` events; they are the next batch. Under load the per-job cost
 * (fetch, complete, one script per stage) is then paid per batch, so small jobs don't cap throughput.
 *
 * Crash takeover: a consumer SIGKILLed mid-batch leaves its jobs 'active' with its lock, and BullMQ's
 * stalled checker would later put them back *behind* newer jobs: a reorder. So the stalled checker is
 * off, and whoever acquires the lease first finishes the orphaned 'active' jobs (oldest first, as one
 * batch: the same batch the dead owner had; the lease proves it is gone), by taking over their lock
 * and completing them, and only then starts taking new jobs. Completing (not removing) keeps their
 * ids, so re-adding one is a no-op.
 */
export class OrderedConsumer implements Stoppable {
  private closed = false;
  private readonly closing = new AbortController();
  private term: AbortController | undefined;
  private readonly running: Promise<void>;
  /** How many jobs the next fetch-ahead asks for (learnt; see fetchAhead). */
  private aheadWant = 1;
  /** The chain of completions in flight (see runBatch). */
  private completing: Promise<void> = Promise.resolve();
  /** performance.now() when the lease in hand was acquired; undefined while not holding it. */
  private heldSince: number | undefined;
  /**
   * Start time (performance.now()) of the last fetch under the current lease that found the wait
   * list empty: every job added before that moment had been taken by then.
   */
  private emptySeenAt = Number.NEGATIVE_INFINITY;
  /** True only while blocked waiting for a job with nothing in hand (no batch, nothing fetched ahead). */
  private waitingIdle = false;
  /** Work run in place of this consumer (runExclusive); a batch taken meanwhile waits for it. */
  private exclusive: Promise<unknown> = Promise.resolve();
  /** The lease in hand, while holding one. */
  private lease: Lease | undefined;

  constructor(private readonly opts: OrderedConsumerOptions) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    const { logger, queueName } = this.opts;
    while (!this.closed) {
      const term = new AbortController();
      this.term = term;
      const lease = new Lease(this.opts.redis, this.opts.leaseKey, this.opts.instanceId, this.opts.leaseMs, () => {
        logger.warn({ queue: queueName }, 'lease lost: stopping consumer');
        term.abort();
      });
      let acquired = false;
      try {
        acquired = !this.closed && await lease.tryAcquire();
      } catch (err) {
        logger.warn({ err, queue: queueName }, 'lease acquisition failed');
      }
      if (!acquired) {
        await sleepUnlessStopped(Math.max(50, Math.floor(this.opts.leaseMs / 3)), this.closing.signal).catch(() => undefined);
        continue;
      }
      if (this.closed) term.abort();
      this.lease = lease;
      this.heldSince = performance.now();
      this.emptySeenAt = Number.NEGATIVE_INFINITY;
      logger.info({ queue: queueName, instance: this.opts.instanceId }, 'lease acquired: consuming');
      const worker = manualWorker(queueName, this.opts.workerRedis, this.opts.prefix, this.opts.lockDurationMs);
      worker.on('error', (err) => logger.warn({ err, queue: queueName }, 'worker error'));
      try {
        await this.takeOverOrphans(term.signal);
        await this.consume(worker, lease, term.signal);
      } catch (err) {
        if (!(err instanceof HandBack)) logger.error({ err, queue: queueName }, 'consumer failed; starting over');
      } finally {
        this.heldSince = undefined;
        this.lease = undefined;
        term.abort();
        await this.settled();
        await closeWorker(worker, logger);
        await lease.release();
      }
      if (!this.closed) await sleepUnlessStopped(100, this.closing.signal).catch(() => undefined);
    }
  }

  private async consume(worker: Worker, lease: Lease, signal: AbortSignal): Promise<void> {
    const token = `${this.opts.instanceId}:${randomUUID()}`;
    // A blocked fetch only returns when a job arrives or the worker closes: closing it on abort frees
    // the fetch, but only while idle; a batch in hand finishes (or is handed back) first.
    let idle = false;
    const onAbort = () => { if (idle) void closeWorker(worker, this.opts.logger); };
    signal.addEventListener('abort', onAbort, { once: true });
    let batch: Job[] = [];
    try {
      // Checked before every fetch and every batch: after a stall longer than the lease, another
      // instance may have taken these jobs over already (surelyHeld aborts `signal` then).
      while (lease.surelyHeld() && !signal.aborted) {
        if (batch.length === 0) {
          let first: Job | undefined;
          const startedAt = performance.now();
          try {
            idle = true;
            this.waitingIdle = true;
            first = await untilAborted(worker.getNextJob(token, { block: true }), this.closing.signal);
          } catch (err) {
            if (signal.aborted) return;
            this.opts.logger.warn({ err, queue: this.opts.queueName }, 'fetching the next job failed; retrying');
            await sleepUnlessStopped(200, signal);
            continue;
          } finally {
            idle = false;
            this.waitingIdle = false;
          }
          if (!first) {
            // Not blocked long enough to see a job: the non-blocking try found the list empty.
            if (!signal.aborted) this.emptySeenAt = startedAt;
            continue;
          }
          batch = [first];
          this.opts.onTaken?.(batch);
        }
        await this.exclusive;
        if (!lease.surelyHeld()) break;
        // Fetch-ahead: the jobs waiting behind this batch are taken while it is processed, so the
        // fetch round trips are off the critical path (at low rates a batch is one job, and every
        // sequential round trip is latency). They are held (locked) and go next, in order.
        const current = batch;
        batch = []; // runBatch hands back what it holds if it fails
        const ahead = this.fetchAhead(worker, token, current);
        await this.runBatch(current, token, signal, ahead);
        batch = await ahead;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (batch.length > 0 && signal.aborted) await this.handBack(batch, token);
    }
  }

  /**
   * The jobs waiting right behind `current`, taken together until they hold about maxEvents
   * events. Fetches are sent together (one round trip for many); how many is learnt from the last
   * fetch (all found: ask for twice as many next time; some missing: as many as were found, plus
   * one), since the wait list's length would cost a round trip of its own. Never rejects.
   */
  private async fetchAhead(worker: Worker, token: string, current: readonly Job[]): Promise<Job[]> {
    const size = current.reduce((n, j) => n + sizeOf(j), 0);
    const perJob = Math.max(1, Math.ceil(size / current.length));
    const want = Math.min(this.aheadWant, MAX_JOBS_PER_BATCH, Math.ceil(this.opts.maxEvents / perJob));
    const startedAt = performance.now();
    const { jobs, failed } = await fetchWaiting(worker, token, want);
    this.aheadWant = jobs.length === want ? Math.min(MAX_JOBS_PER_BATCH, want * 2) : jobs.length + 1;
    if (jobs.length < want && !failed) this.emptySeenAt = startedAt;
    if (jobs.length > 0) this.opts.onTaken?.(jobs);
    return jobs;
  }

  /** Puts held jobs back at the head of the wait list, oldest next. */
  private async handBack(jobs: readonly Job[], token: string): Promise<void> {
    await handBackToHead(jobs, token, this.opts.logger);
  }

  /**
   * Processes, then completes the jobs; hands them back to the head of the queue (with the jobs
   * fetched ahead behind them) when stopped mid-way.
   */
  private async runBatch(jobs: readonly Job[], token: string, signal: AbortSignal, ahead: Promise<Job[]> = Promise.resolve([])): Promise<void> {
    const { lockDurationMs, logger, queueName } = this.opts;
    let held: readonly Job[] = jobs;
    void ahead.then((more) => { held = [...jobs, ...more]; });
    const renew = setInterval(() => {
      for (const job of held) void job.extendLock(token, lockDurationMs).catch(() => undefined);
    }, Math.floor(lockDurationMs / 3));
    try {
      // Let the fetch-ahead commands go out first (they are sent a few promise hops after the call):
      // if this process then stalls in the batch (a long GC, SIGSTOP), the jobs they take are active
      // already and whoever takes the lease over finishes them first, in order. Sent only after the
      // stall, they would take jobs from under the new holder (test/bus/stall-order.test.ts).
      await new Promise<void>((resolve) => setImmediate(resolve));
      await this.opts.process(jobs, signal);
    } catch (err) {
      clearInterval(renew);
      if (!(err instanceof HandBack)) logger.error({ err, queue: queueName }, 'batch processing failed unexpectedly; handing it back');
      await this.handBack([...jobs, ...await ahead], token);
      throw err instanceof HandBack ? err : new HandBack();
    }
    // Completing is chained, not awaited: the next batch is processed while this one's completion
    // is in flight (one round trip less per batch on the critical path). Safe because a batch
    // that is processed but not yet completed is still 'active': after a crash the takeover re-runs
    // it, oldest first, and every processor is idempotent per job id.
    // Completed jobs are kept a while (removeOnComplete by age): their ids make a re-add a no-op.
    // Not cut short by a close (the work is done); if Redis stays away longer than a lock, the jobs
    // stay active and the next lease holder takes them over (at least once, still in order).
    this.completing = this.completing.then(() => retryInlineFor('complete jobs',
      () => Promise.all(jobs.map((job) => job.moveToCompleted('done', token, false))),
      this.opts.delivery, lockDurationMs, logger).then(() => undefined, (err: unknown) => {
      logger.error({ err, queue: queueName, jobIds: jobs.map((j) => j.id) }, 'could not complete processed jobs; left for takeover');
    })).finally(() => clearInterval(renew));
    await ahead;
  }

  /** Resolves when every processed batch's completion has settled. */
  private async settled(): Promise<void> {
    await this.completing;
  }

  private async takeOverOrphans(signal: AbortSignal): Promise<void> {
    const { prefix, queueName, redis, logger } = this.opts;
    const token = `${this.opts.instanceId}:takeover:${randomUUID()}`;
    const jobs = await takeOverActiveJobs(redis, prefix, queueName, token, this.opts.lockDurationMs);
    if (jobs.length === 0) return;
    this.opts.onTaken?.(jobs);
    logger.warn({ queue: queueName, jobIds: jobs.map((j) => j.id) }, 'taking over orphaned active jobs first');
    await this.runBatch(jobs, token, signal);
  }

  /**
   * Whether this consumer holds its lease and sits waiting with nothing in hand, and its queue was
   * seen empty after `since` (performance.now()): then every job ever added to it before now, by
   * someone who only adds after `since`, has been taken and processed by this consumer.
   */
  idleAndDrainedSince(since: number): boolean {
    const heldSince = this.leaseHeldSince;
    return heldSince !== undefined && this.waitingIdle && !this.closed
      && this.emptySeenAt > since && this.emptySeenAt > heldSince;
  }

  /** performance.now() when the lease in hand was acquired (undefined: not holding it, or not surely). */
  get leaseHeldSince(): number | undefined {
    return this.lease?.surelyHeld() ? this.heldSince : undefined;
  }

  /**
   * Runs `work` as if it were this consumer's next batch: a job taken while it runs waits until it
   * has settled, so nothing this consumer processes overtakes it.
   */
  runExclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.term?.abort();
    await this.running;
  }
}

/**
 * A blocked fetch, given up when the consumer closes (it then rejects). Closing the worker frees a
 * fetch blocked on a live Redis, but not one whose blocking connection is reconnecting to a Redis
 * that is gone: BullMQ's worker connection retries without limit, and closeWorker does not close
 * a worker that is not ready, so the fetch, and the bus's close() that waited for it, never ended.
 * Only on close: a consumer that lost its lease waits for its fetch as before, and hands back what
 * it took. Given up, the fetch may still take a job if Redis comes back while this process lives
 * on: that job stays active under this token, and the lease's next holder takes it over first
 * (takeOverActiveJobs), as after a crash.
 */
function untilAborted<T>(fetch: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    fetch.catch(() => undefined);
    return Promise.reject(new Error('aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    fetch.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
