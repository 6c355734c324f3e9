import type { Job } from 'bullmq';
import type { DeliveryHandler } from '../types.ts';
import type { OrderedConsumer } from './ordered-consumer.ts';

/** Name of an egress job whose batch the router already tried to deliver directly, once, and failed. */
export const TRIED_ONCE = 'deliveries-tried-once';

/** What the router needs to hand batches of one connector straight to its local consumer (RedisBus.handOff). */
export class DirectEgress {
  consumer: OrderedConsumer | undefined;
  /** Egress jobs this router added that the consumer has not taken yet. */
  readonly pending = new Set<string>();
  /** performance.now() of the last enqueue whose outcome is unknown (a failed add may have landed). */
  unsureSince = Number.NEGATIVE_INFINITY;

  constructor(readonly handler: DeliveryHandler) {}

  taken(jobs: readonly Job[]): void {
    for (const job of jobs) if (job.id !== undefined) this.pending.delete(job.id);
  }

  forget(jobId: string): void {
    this.pending.delete(jobId);
    this.unsureSince = performance.now();
  }
}
