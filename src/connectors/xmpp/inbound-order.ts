import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';

/** Inbound stanzas of one room (or one XMPP user's direct chats) waiting for the bus at most (beyond: dropped, logged, counted as `flood`). */
const MAX_QUEUED_PER_ROOM = 10_000;

/**
 * Runs inbound work for one room (or sender) strictly in arrival order: the canonical order of
 * a room is the order its messages reached us, and a correction must find the message it
 * corrects already linked. Bounded: a sender flooding faster than the bus takes is cut off.
 */
export class InboundOrder {
  private readonly inbound = new Map<string, { tail: Promise<void>; length: number }>();

  /** `counter`: the connector's inbound outcomes (switchboard_xmpp_inbound_total), where a dropped stanza counts as `flood`. */
  constructor(private readonly logger: Logger, private readonly counter: Counter<string>) {}

  run(key: string, work: () => Promise<void>, opts: { essential?: boolean } = {}): void {
    const queue = this.inbound.get(key) ?? { tail: Promise.resolve(), length: 0 };
    // (Essential work, the forgetting of an unlinked room's state, is never cut: it is one per reload.)
    if (queue.length >= MAX_QUEUED_PER_ROOM && opts.essential !== true) {
      this.counter.inc({ outcome: 'flood' });
      this.logger.warn({ from: key }, 'inbound queue full for this room or sender; stanza dropped');
      return;
    }
    queue.length++;
    // One failed piece of work must not stop the ones queued behind it (a rejected tail would skip them).
    queue.tail = queue.tail.then(work).catch((err: unknown) => {
      this.logger.error({ err: (err as Error).message, key }, 'xmpp inbound work failed');
    }).finally(() => {
      queue.length--;
      if (queue.length === 0 && this.inbound.get(key) === queue) this.inbound.delete(key);
    });
    this.inbound.set(key, queue);
  }
}
