import type { Logger } from '../../core/logger.ts';
import { backoffDelay, type BusOptions } from '../options.ts';

/**
 * Thrown inside a job's processing when the consumer is stopping (closed, or its lease lost) in the
 * middle of a retry: the job must go back to the head of its queue untouched, not complete or fail.
 */
export class HandBack extends Error {
  constructor() {
    super('consumer stopping: job handed back');
    this.name = 'HandBack';
  }
}

/** Waits `ms`, or less if `signal` aborts (then throws HandBack). */
export async function sleepUnlessStopped(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw new HandBack();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
  if (signal.aborted) throw new HandBack();
}

/**
 * Runs a Redis step until it succeeds, backing off between attempts. Used for transient errors
 * inside a job: failing the job instead would let BullMQ move it aside and later jobs overtake it.
 */
export async function retryInline<T>(what: string, step: () => Promise<T>, delivery: BusOptions['delivery'], signal: AbortSignal, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new HandBack();
    try {
      return await step();
    } catch (err) {
      if (err instanceof HandBack) throw err;
      logger.warn({ err, attempt, what }, 'bus step failed, retrying in place');
      await sleepUnlessStopped(backoffDelay(attempt, delivery), signal);
    }
  }
}

/**
 * retryInline bounded in time: gives up (throws HandBack) once `deadlineMs` has passed since the
 * first attempt. The timer exists only once an attempt has failed: the usual first-time success
 * costs no timer at all (one per batch showed in profiles).
 */
export async function retryInlineFor<T>(what: string, step: () => Promise<T>, delivery: BusOptions['delivery'], deadlineMs: number, logger: Logger): Promise<T> {
  const startedAt = performance.now();
  try {
    return await step();
  } catch (err) {
    if (err instanceof HandBack) throw err;
    logger.warn({ err, attempt: 1, what }, 'bus step failed, retrying in place');
  }
  const left = deadlineMs - (performance.now() - startedAt);
  if (left <= 0) throw new HandBack();
  const signal = AbortSignal.timeout(Math.ceil(left));
  await sleepUnlessStopped(backoffDelay(1, delivery), signal);
  return await retryInline(what, step, delivery, signal, logger);
}
