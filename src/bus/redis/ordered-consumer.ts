import { randomUUID } from 'node:crypto';
import { Job, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { Stoppable } from '../types.ts';
import { Lease } from './lease.ts';
import { HandBack, sleepUnlessStopped } from './retry.ts';
import type { BusKeys } from './keys.ts';

/** Processes one job. Throws HandBack (only) when `signal` aborted mid-job: the job then goes back to the head. */
export type JobProcessor = (job: Job, signal: AbortSignal) => Promise<void>;

export interface OrderedConsumerOptions {
  readonly keys: BusKeys;
  readonly queueName: string;
  readonly leaseKey: string;
  readonly instanceId: string;
  /** For leases, takeover and the queue handle. */
  readonly redis: Redis;
  /** For the BullMQ Worker (maxRetriesPerRequest: null); it duplicates it for its blocking reads. */
  readonly workerRedis: Redis;
  readonly leaseMs: number;
  readonly lockDurationMs: number;
  readonly keepCompleted: { age: number; count: number };
  readonly logger: Logger;
  readonly process: JobProcessor;
}

/**
 * One ordered consumer of one BullMQ queue across the whole cluster: whoever holds the queue's lease
 * runs a Worker with concurrency 1; the others wait for the lease.
 *
 * Crash takeover: a consumer SIGKILLed mid-job leaves that job 'active' with its lock, and BullMQ's
 * stalled checker would later put it back *behind* newer jobs: a reorder. So the stalled checker is
 * off, and whoever acquires the lease first finishes the orphaned 'active' jobs (oldest first; the
 * lease proves their owner is gone), by taking over their lock and completing them, and only then
 * starts its Worker. Completing (not removing) keeps their ids, so re-adding one is a no-op.
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
    const { logger } = this.opts;
    while (!this.closed) {
      const term = new AbortController();
      this.term = term;
      const lease = new Lease(this.opts.redis, this.opts.leaseKey, this.opts.instanceId, this.opts.leaseMs, () => {
        logger.warn({ queue: this.opts.queueName }, 'lease lost: stopping consumer');
        term.abort();
      });
      let acquired = false;
      try {
        acquired = await lease.tryAcquire();
      } catch (err) {
        logger.warn({ err, queue: this.opts.queueName }, 'lease acquisition failed');
      }
      if (!acquired) {
        await sleepUnlessStopped(Math.max(50, Math.floor(this.opts.leaseMs / 3)), this.closing.signal).catch(() => undefined);
        continue;
      }
      logger.info({ queue: this.opts.queueName, instance: this.opts.instanceId }, 'lease acquired: consuming');
      let worker: Worker | undefined;
      try {
        await this.takeOverOrphans(term.signal);
        if (!term.signal.aborted) {
          worker = this.startWorker(term.signal);
          await new Promise<void>((resolve) => {
            if (term.signal.aborted) resolve();
            else term.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
      } catch (err) {
        if (!(err instanceof HandBack)) logger.error({ err, queue: this.opts.queueName }, 'consumer failed; retrying');
        term.abort();
      } finally {
        // close() waits for the job in hand; a job in a retry loop sees the abort and is handed back.
        await worker?.close().catch((err: unknown) => logger.warn({ err }, 'worker close failed'));
        await lease.release();
      }
      if (!this.closed) await sleepUnlessStopped(50, this.closing.signal).catch(() => undefined);
    }
  }

  private startWorker(signal: AbortSignal): Worker {
    const { logger } = this.opts;
    const worker = new Worker(this.opts.queueName, async (job: Job, token?: string) => {
      try {
        await this.opts.process(job, signal);
      } catch (err) {
        if (err instanceof HandBack && token !== undefined) {
          // Back to the head of the wait list (BullMQ RPUSHes it to the end that is popped next).
          await job.moveToWait(token);
          throw new WaitingError();
        }
        throw err;
      }
    }, {
      connection: this.opts.workerRedis,
      prefix: this.opts.keys.prefix,
      concurrency: 1,
      lockDuration: this.opts.lockDurationMs,
      skipStalledCheck: true,
      removeOnComplete: this.opts.keepCompleted,
      removeOnFail: { age: 7 * 86_400 },
    });
    worker.on('error', (err) => logger.warn({ err, queue: this.opts.queueName }, 'worker error'));
    worker.on('failed', (job, err) => logger.error({ err, queue: this.opts.queueName, jobId: job?.id }, 'bus job failed'));
    return worker;
  }

  private async takeOverOrphans(signal: AbortSignal): Promise<void> {
    const { keys, queueName, redis, logger } = this.opts;
    // The active list is pushed on the left: the oldest job is at the right end.
    const ids = (await redis.lrange(keys.activeList(queueName), 0, -1)).reverse();
    if (ids.length === 0) return;
    const queue = new Queue(queueName, { connection: redis, prefix: keys.prefix });
    try {
      for (const id of ids) {
        if (signal.aborted) return;
        const token = `takeover-${this.opts.instanceId}-${randomUUID()}`;
        // The lock is the dead owner's: replace it with ours so completing it is allowed.
        await redis.set(keys.jobLock(queueName, id), token, 'PX', this.opts.lockDurationMs);
        const job = await Job.fromId(queue, id);
        if (!job) {
          await redis.lrem(keys.activeList(queueName), 1, id);
          continue;
        }
        logger.warn({ queue: queueName, jobId: id }, 'taking over an orphaned active job');
        const renew = setInterval(() => void redis.pexpire(keys.jobLock(queueName, id), this.opts.lockDurationMs).catch(() => undefined),
          Math.floor(this.opts.lockDurationMs / 3));
        try {
          await this.opts.process(job, signal);
          await job.moveToCompleted('taken over', token, false);
        } finally {
          clearInterval(renew);
        }
      }
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
