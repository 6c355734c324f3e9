import type { Logger } from '../../core/logger.ts';
import type { Delivery, Fanout, Stoppable } from '../../bus/types.ts';
import { CONNECTOR } from './inbound.ts';
import type { Outbound } from './outbound.ts';
import type { WsMetrics } from './metrics.ts';

/**
 * Live delivery on every instance. The egress queue of 'websocket' has one consumer in the cluster
 * (a lease), but clients join rooms on any instance: the consumer delivers a batch to its own
 * sockets, then publishes it on the bus's fan-out, and every other instance delivers it to its
 * sockets. Fan-out is lossy (pub/sub keeps nothing for a disconnected subscriber); whenever the
 * bus says something may have been lost, every membership here catches up from its room's stream
 * (Outbound.resyncAll). Each membership drops what is at or before its last cursor, so a batch that
 * arrives twice (a takeover, a resync racing a message) is sent once.
 *
 * Local and fanned-in batches go through one chain: whichever instance consumes egress, the
 * batches reach Outbound in publish order, one at a time.
 */
export class FanoutDelivery {
  private chain: Promise<void> = Promise.resolve();
  private subscription: Stoppable | undefined;

  constructor(private readonly fanout: Fanout | undefined, private readonly outbound: Outbound,
    private readonly metrics: WsMetrics, private readonly logger: Logger) {}

  /** Follows the other instances' batches. The first subscription also triggers a resync (cheap when nobody joined yet). */
  start(): void {
    if (!this.fanout || this.subscription) return;
    this.subscription = this.fanout.subscribe(CONNECTOR, (deliveries) => {
      this.metrics.fanoutReceived.inc(deliveries.length);
      void this.serialized(() => this.outbound.deliver(deliveries));
    }, () => {
      this.metrics.fanoutResyncs.inc();
      this.outbound.resyncAll();
    });
  }

  /**
   * The egress handler: delivers here, then to the other instances, before the next batch. A failed
   * publish does not fail the batch (the clients here have it; retrying would not reach the others
   * sooner): it is logged and counted, and the bus marks its next message so the others resync.
   */
  readonly deliver = async (deliveries: readonly Delivery[]): Promise<void> => {
    await this.serialized(() => this.outbound.deliver(deliveries));
    if (!this.fanout) return;
    try {
      await this.fanout.publish(CONNECTOR, deliveries);
    } catch (err) {
      this.metrics.fanoutPublishFailures.inc();
      this.logger.warn({ err, deliveries: deliveries.length }, 'fan-out publish failed: clients on other instances catch up at their next resync');
    }
  };

  /** Stops following; batches already received are still delivered. */
  async close(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
    await this.chain;
  }

  private serialized(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work).catch((err: unknown) => {
      this.logger.error({ err }, 'websocket delivery failed'); // Outbound.deliver never throws; this is a bug
    });
    this.chain = run;
    return run;
  }
}
