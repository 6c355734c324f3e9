import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { BusOptions } from '../options.ts';
import type { Stoppable } from '../types.ts';
import { Lease } from './lease.ts';
import { HandBack, retryInline, sleepUnlessStopped } from './retry.ts';
import type { BusKeys } from './keys.ts';

/**
 * Processes a run of consecutive jobs (oldest first) as one batch. Throws HandBack (only) when
 * `signal` aborted mid-way: the jobs then go back to the head of the queue, in order, untouched.
 */
export type BatchProcessor = (jobs: readonly Job[], signal: AbortSignal) => Promise<void>;

export interface OrderedConsumerOptions {
  readonly keys: BusKeys;
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
}

/** More jobs than this are never taken at once, however small they are. */
const MAX_JOBS_PER_BATCH = 64;

const sizeOf = (job: Job): number => (Array.isArray(job.data) ? job.data.length : 1);

/**
 * One ordered consumer of one BullMQ queue across the whole cluster: whoever holds the queue's lease
 * runs a BullMQ Worker in manual mode, one batch at a time (concurrency 1); the others wait for the
 * lease.
 *
 * Batching: the worker takes the next job (blocking) and then, without blocking, the jobs behind it
 * until they hold `maxEvents` events, and processes them as one batch. Under load the per-job cost
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
      logger.info({ queue: queueName, instance: this.opts.instanceId }, 'lease acquired: consuming');
      const worker = new Worker(queueName, null, {
        connection: this.opts.workerRedis,
        prefix: this.opts.keys.prefix,
        concurrency: 1,
        lockDuration: this.opts.lockDurationMs,
        skipStalledCheck: true,
      });
      worker.on('error', (err) => logger.warn({ err, queue: queueName }, 'worker error'));
      try {
        await this.takeOverOrphans(term.signal);
        await this.consume(worker, term.signal);
      } catch (err) {
        if (!(err instanceof HandBack)) logger.error({ err, queue: queueName }, 'consumer failed; starting over');
      } finally {
        term.abort();
        await worker.close(true).catch((err: unknown) => logger.warn({ err }, 'worker close failed'));
        await lease.release();
      }
      if (!this.closed) await sleepUnlessStopped(100, this.closing.signal).catch(() => undefined);
    }
  }

  private async consume(worker: Worker, signal: AbortSignal): Promise<void> {
    const token = `${this.opts.instanceId}:${randomUUID()}`;
    // A blocked fetch only returns when a job arrives or the worker closes: closing it on abort frees
    // the fetch, but only while idle; a batch in hand finishes (or is handed back) first.
    let idle = false;
    const onAbort = () => { if (idle) void worker.close(true).catch(() => undefined); };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        let first: Job | undefined;
        try {
          idle = true;
          first = await worker.getNextJob(token, { block: true });
        } catch (err) {
          if (signal.aborted) return;
          this.opts.logger.warn({ err, queue: this.opts.queueName }, 'fetching the next job failed; retrying');
          await sleepUnlessStopped(200, signal);
          continue;
        } finally {
          idle = false;
        }
        if (!first) continue;
        await this.runBatch(await this.takeMore(worker, token, first), token, signal);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The jobs waiting right behind `first`, taken together until they hold about maxEvents events.
   * Fetches are sent together (one round trip for many): sized by the wait list's length and the
   * first job's size, since a job's size is only known once it is taken.
   */
  private async takeMore(worker: Worker, token: string, first: Job): Promise<Job[]> {
    const jobs = [first];
    let size = sizeOf(first);
    const perJob = Math.max(1, size);
    for (let round = 0; round < 3 && size < this.opts.maxEvents && jobs.length < MAX_JOBS_PER_BATCH; round++) {
      const waiting = await this.opts.redis.llen(this.opts.keys.waitList(this.opts.queueName)).catch(() => 0);
      const want = Math.min(waiting, MAX_JOBS_PER_BATCH - jobs.length, Math.ceil((this.opts.maxEvents - size) / perJob));
      if (want <= 0) break;
      // Sent in this order on one connection, so the jobs come back oldest first.
      const more = await Promise.all(Array.from({ length: want }, () => worker.getNextJob(token, { block: false }).catch(() => undefined)));
      let got = 0;
      for (const job of more) {
        if (!job) continue;
        jobs.push(job);
        size += sizeOf(job);
        got++;
      }
      if (got < want) break;
    }
    return jobs;
  }

  /** Processes, then completes the jobs; hands them back to the head of the queue when stopped mid-way. */
  private async runBatch(jobs: readonly Job[], token: string, signal: AbortSignal): Promise<void> {
    const { lockDurationMs, logger, queueName } = this.opts;
    const renew = setInterval(() => {
      for (const job of jobs) void job.extendLock(token, lockDurationMs).catch(() => undefined);
    }, Math.floor(lockDurationMs / 3));
    try {
      await this.opts.process(jobs, signal);
    } catch (err) {
      clearInterval(renew);
      if (!(err instanceof HandBack)) logger.error({ err, queue: queueName }, 'batch processing failed unexpectedly; handing it back');
      // moveToWait RPUSHes to the end the next fetch pops: push the newest first so the oldest ends up next.
      for (const job of [...jobs].reverse()) {
        await job.moveToWait(token).catch((e: unknown) => logger.warn({ err: e, jobId: job.id }, 'hand-back failed; the job stays active for takeover'));
      }
      throw err instanceof HandBack ? err : new HandBack();
    }
    try {
      // Completed jobs are kept a while (removeOnComplete by age): their ids make a re-add a no-op.
      // Not cut short by a close (the work is done); if Redis stays away longer than a lock, the jobs
      // stay active and the next lease holder takes them over (at least once, still in order).
      await retryInline('complete jobs', () => Promise.all(jobs.map((job) => job.moveToCompleted('done', token, false))),
        this.opts.delivery, AbortSignal.timeout(lockDurationMs), logger).catch((err: unknown) => {
        if (!(err instanceof HandBack)) throw err;
        logger.error({ queue: queueName, jobIds: jobs.map((j) => j.id) }, 'could not complete processed jobs; left for takeover');
      });
    } finally {
      clearInterval(renew);
    }
  }

  private async takeOverOrphans(signal: AbortSignal): Promise<void> {
    const { keys, queueName, redis, logger } = this.opts;
    // The active list is pushed on the left: the oldest job is at the right end.
    const ids = (await redis.lrange(keys.activeList(queueName), 0, -1)).reverse();
    if (ids.length === 0) return;
    const token = `${this.opts.instanceId}:takeover:${randomUUID()}`;
    const queue = new Queue(queueName, { connection: redis, prefix: keys.prefix });
    try {
      const jobs: Job[] = [];
      for (const id of ids) {
        // The lock is the dead owner's: replace it with ours so that completing the job is allowed.
        await redis.set(keys.jobLock(queueName, id), token, 'PX', this.opts.lockDurationMs);
        const job = await Job.fromId(queue, id);
        if (job) jobs.push(job);
        else await redis.lrem(keys.activeList(queueName), 1, id);
      }
      if (jobs.length === 0) return;
      logger.warn({ queue: queueName, jobIds: jobs.map((j) => j.id) }, 'taking over orphaned active jobs first');
      await this.runBatch(jobs, token, signal);
    } finally {
      await queue.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.term?.abort();
    await this.running;
  }
}
