import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CanonicalEvent } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import type { BusOptions } from '../options.ts';
import type { DeadLetter, RouteFn } from '../types.ts';
import { appendIfFree, type AppendResult } from './append-script.ts';
import { addHeldJob, queueKeys } from './bullmq-adapter.ts';
import type { BusKeys } from './keys.ts';
import { retryInlineFor } from './retry.ts';

/** How long routing at publish may retry its Redis steps before leaving the job to the router. */
const PUBLISH_ROUTING_DEADLINE_MS = 2_000;
/** After a deferred routing at publish, publishes go the usual way for this long. */
const PAUSE_AFTER_DEFERRED_MS = 2;
/** Jobs routed at publish that are remembered until removed or taken by the router, at most. */
const MAX_REMEMBERED = 4_096;
/**
 * How long an ingress job added here is held back from the router (see RouteAtPublish): long
 * enough that the router never takes a job this process is still routing, short enough that after
 * a crash the jobs it held reach the router soon. 10 s is also how long the "if free" check counts a
 * job routed at publish as done, so by the time a held job is due, a publish behind it defers to
 * the router instead of overtaking it.
 */
export const HOLD_MS = 10_000;

type Step = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export interface RouteAtPublishDeps {
  readonly redis: Redis;
  readonly keys: BusKeys;
  readonly ingress: Queue;
  /** Options of the ingress job (those of every bus job). */
  readonly jobOptions: JobsOptions;
  readonly prefix: string;
  readonly instanceId: string;
  readonly retention: BusOptions['retention'];
  readonly delivery: BusOptions['delivery'];
  readonly logger: Logger;
  /** Delivers appended events exactly as the router does (RedisBus.dispatch). */
  dispatch(jobId: string, events: readonly CanonicalEvent[], appended: AppendResult, route: RouteFn, letters: DeadLetter[], step: Step): Promise<void>;
  deadLetter(letters: readonly DeadLetter[], signal: AbortSignal): Promise<void>;
  onRouted(): void;
}

/**
 * Routing at publish, the fast path `routeAtPublish` (docs/bus.md): when this process routes and
 * its router has nothing to do, a publish is routed right here instead of waiting for the router to
 * be woken and to fetch it (two round trips less for every message of a quiet room). The ingress
 * job is added, and right behind it on the same connection the append script runs "if free": it
 * appends only when every other ingress job waiting or active was itself appended at publish, so
 * every earlier event is in the stream already and the router is appending nothing. The router,
 * taking this job in the meantime, waits for this to end before it decides anything (`settled`).
 * The events are then dispatched as the router would (direct delivery or egress jobs, under this
 * job's id), and only then does the next publish flush start, so publishes keep their order too.
 *
 * The ingress job stays the record until the events are dispatched, but it is added HELD (delayed
 * by HOLD_MS, bullmq-adapter.ts addHeldJob), so the router's worker is not woken to fetch it and
 * complete it afterwards: at low rates that was most of a message's Redis commands and of the
 * bridge's CPU (bench/RESULTS.md, 2026-12-04 14:24). Once dispatched, the job is removed, without
 * holding up the publish. When the script defers, the append fails, or dispatching fails half way,
 * the job is promoted to the wait list and the router routes it as usual (the script reuses the
 * cursors the job appended). If this process dies first, the job becomes due after its hold and
 * the next router routes it: at least once, like any batch in flight, up to HOLD_MS late. Should
 * the router meet a job of this process while it is still being routed here (its hold ran out),
 * it waits for that to end (`settled`).
 */
export class RouteAtPublish {
  /** Ingress jobs routed (or being routed) here: resolves true once done, false when the router must route it. */
  private readonly routed = new Map<string, Promise<boolean>>();
  /** performance.now() before which publishes are not routed at publish (the last try was deferred). */
  private pausedUntil = 0;
  /** Removals of routed jobs not answered yet: close() waits for them, or the jobs would be routed again after their hold. */
  private readonly removing = new Set<Promise<void>>();

  constructor(private readonly deps: RouteAtPublishDeps) {}

  /** Whether to try for the next publish (not right after a deferral). */
  ready(): boolean {
    return performance.now() >= this.pausedUntil;
  }

  /**
   * For the router, about an ingress job it took: undefined when it was not routed at publish
   * here; else resolves, once that is over, to whether it was (true: nothing left to do).
   */
  settled(jobId: string): Promise<boolean> | undefined {
    const routed = this.routed.get(jobId);
    // Its member of `routed-at-publish` is left to age out: removing it would cost a write per message.
    if (routed) this.routed.delete(jobId);
    return routed;
  }

  /** Waits until the removals of routed jobs are answered (before the bus closes its connection). */
  async drain(): Promise<void> {
    while (this.removing.size > 0) await Promise.all(this.removing);
  }

  /** Adds the ingress job and, when free, routes it. Rejects only when the add failed (nothing accepted). */
  async publish(events: CanonicalEvent[], jobId: string, route: RouteFn): Promise<void> {
    const { deps } = this;
    let done: (routed: boolean) => void = () => undefined;
    this.routed.set(jobId, new Promise<boolean>((resolve) => { done = resolve; }));
    this.forgetOldest();
    let routed = false;
    try {
      // Two scripts sent back to back on one connection (no MULTI: building one costs more than it
      // saves): the add, then the append, which checks for itself what it needs (append-script.ts).
      // The queue's client wraps deps.redis (its connection): the add and the append share one socket.
      const client = await deps.ingress.client;
      const { job, added } = addHeldJob(deps.ingress, client, 'events', events, { ...deps.jobOptions, jobId }, HOLD_MS); // sent now, before the append below
      const bull = queueKeys(deps.prefix, deps.keys.ingressQueue);
      const append = appendIfFree(deps.redis, deps.keys,
        { events, ingressJobIds: events.map(() => jobId), instanceId: deps.instanceId, retention: deps.retention },
        { jobId, waitList: bull.wait, activeList: bull.active, jobKey: bull.job(jobId) })
        .then((result) => ({ result }), (err: unknown) => ({ err }));
      await added; // a failed add fails the publish (nothing was accepted)
      const reply = await append;
      if ('err' in reply) {
        // The job is in (accepted): the router routes it.
        deps.logger.warn({ err: reply.err, jobId }, 'append at publish failed; the router routes the job');
        await this.toRouter(job);
        return;
      }
      if (reply.result === 'deferred') {
        // The router has work of its own: let it route this one too, and don't try again at once.
        this.pausedUntil = performance.now() + PAUSE_AFTER_DEFERRED_MS;
        await this.toRouter(job);
        return;
      }
      const letters: DeadLetter[] = [];
      try {
        await deps.dispatch(jobId, events, reply.result, route, letters,
          (what, fn) => retryInlineFor(what, fn, deps.delivery, PUBLISH_ROUTING_DEADLINE_MS, deps.logger));
        if (letters.length > 0) await deps.deadLetter(letters, AbortSignal.timeout(PUBLISH_ROUTING_DEADLINE_MS));
        routed = true;
        deps.onRouted();
        this.remove(job);
      } catch (err) {
        deps.logger.warn({ err, jobId }, 'routing at publish failed half way; the router routes the job again (at least once)');
        // Still listed, the job would let later publishes be routed before the router has re-routed it.
        await deps.redis.zrem(deps.keys.routedAtPublish, jobId).catch(() => undefined);
        await this.toRouter(job);
      }
    } finally {
      done(routed);
    }
  }

  /**
   * Hands a held job to the router now: promoted, it joins the wait list behind the jobs already
   * there, before the next publish is written (publishes keep their order). If even that fails,
   * the router gets it once its hold is over.
   */
  private async toRouter(job: Job): Promise<void> {
    try {
      await job.promote();
    } catch (err) {
      this.deps.logger.warn({ err, jobId: job.id }, 'could not hand a held ingress job to the router; it routes it once its hold is over');
    }
  }

  /** Removes a routed job (the router has nothing to do with it), in the background. */
  private remove(job: Job): void {
    const id = job.id ?? '';
    const removal = job.remove().then(
      // The router will never take it now: nothing to remember.
      () => { this.routed.delete(id); },
      (err: unknown) => this.deps.logger.warn({ err, jobId: id }, 'could not remove an ingress job routed at publish; the router takes it once its hold is over and completes it (or, on another instance, routes it again: at least once)'),
    ).finally(() => { this.removing.delete(removal); });
    this.removing.add(removal);
  }

  /** Jobs routed here that the router never took (another instance took the lease) must not pile up. */
  private forgetOldest(): void {
    for (const id of this.routed.keys()) {
      if (this.routed.size <= MAX_REMEMBERED) break;
      this.routed.delete(id);
    }
  }
}
