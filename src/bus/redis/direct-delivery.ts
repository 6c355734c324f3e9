import type { Job } from 'bullmq';
import type { Logger } from '../../core/logger.ts';
import type { BusMetrics } from '../bus-metrics.ts';
import type { Delivery, DeliveryHandler } from '../types.ts';
import type { OrderedConsumer } from './ordered-consumer.ts';

/** Name of an egress job whose batch the router already tried to deliver directly, once, and failed. */
export const TRIED_ONCE = 'deliveries-tried-once';

/** One local consumer the router may call directly. */
interface Target {
  readonly handler: DeliveryHandler;
  readonly consumer: OrderedConsumer;
  /** Egress jobs this router added that the consumer has not taken yet. */
  readonly pending: Set<string>;
  /** performance.now() of the last enqueue whose outcome is unknown (a failed add may have landed). */
  unsureSince: number;
}

/**
 * Direct delivery, the fast path `directDelivery` (docs/bus.md): when this instance runs the router
 * AND the consumer of a connector that asked for it (`direct: true`), and that consumer sits idle
 * with an empty queue, the router calls its handler itself instead of adding an egress job it would
 * fetch at once: two BullMQ job round trips and a wake-up less per batch.
 *
 * Order holds because nothing of that connector can be queued: the consumer saw its queue empty
 * after both leases were taken and after the last failed enqueue, and every egress job this router
 * added since has been taken by it (`pending` is empty); only the router adds egress jobs, and it
 * routes one batch at a time. The delivery is as durable as through the queue: the ingress job is
 * completed only after the handler returned, so a crash before that re-runs the ingress job, which
 * enqueues the batch (at least once, like a crash after an egress handler). When the handler
 * throws, the batch is enqueued after all (named TRIED_ONCE) and the consumer retries it in place.
 */
export class DirectDelivery {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly metrics: BusMetrics, private readonly logger: Logger) {}

  /** A local consumer that may be called directly (it must report the jobs it takes: `taken`). */
  register(connector: string, handler: DeliveryHandler, consumer: OrderedConsumer): void {
    this.targets.set(connector, { handler, consumer, pending: new Set(), unsureSince: Number.NEGATIVE_INFINITY });
  }

  unregister(connector: string): void {
    this.targets.delete(connector);
  }

  /** The consumer of `connector` took these jobs (fetched, fetched ahead or taken over). */
  taken(connector: string, jobs: readonly Job[]): void {
    const target = this.targets.get(connector);
    if (target) for (const job of jobs) if (job.id !== undefined) target.pending.delete(job.id);
  }

  /** The router is adding this egress job: no direct delivery to `connector` until its consumer took it. */
  adding(connector: string, jobId: string): void {
    this.targets.get(connector)?.pending.add(jobId);
  }

  /** Adding that job failed: whether it exists is unknown, so wait until the consumer has seen its queue empty again. */
  addFailed(connector: string, jobId: string): void {
    const target = this.targets.get(connector);
    if (!target) return;
    target.pending.delete(jobId);
    target.unsureSince = performance.now();
  }

  /**
   * Calls the handler of `connector` directly if it can take the batch now: 'delivered'; 'failed'
   * (it threw: queue the batch as TRIED_ONCE); 'not now' (queue it as usual). `routerSince`: when
   * this instance's router lease was taken (undefined: it does not surely hold it).
   */
  async handOff(connector: string, deliveries: readonly Delivery[], routerSince: number | undefined): Promise<'delivered' | 'failed' | 'not now'> {
    const target = this.targets.get(connector);
    if (!target || routerSince === undefined || target.pending.size > 0) return 'not now';
    if (!target.consumer.idleAndDrainedSince(Math.max(routerSince, target.unsureSince))) return 'not now';
    try {
      await target.consumer.runExclusive(() => target.handler(deliveries));
    } catch (err) {
      this.metrics.handOffs.inc({ connector, outcome: 'failed' });
      this.logger.debug({ err, connector, deliveries: deliveries.length }, 'direct delivery failed; queueing it for retries');
      return 'failed';
    }
    this.metrics.handOffs.inc({ connector, outcome: 'delivered' });
    this.metrics.delivered.inc({ connector }, deliveries.length);
    this.metrics.batchSize.observe({ stage: 'egress' }, deliveries.length);
    return 'delivered';
  }
}
