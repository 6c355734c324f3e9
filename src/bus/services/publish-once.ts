import { parseEvent, type CanonicalEvent } from '../../core/event.ts';
import type { EventId } from '../../core/ids.ts';
import type { PublishOnceResult, Transaction } from '../types.ts';

/** The first claim of a transaction: the event id and time it was published under. */
export interface TransactionClaim {
  readonly id: EventId;
  readonly ts: number;
}

/**
 * Where a driver remembers transactions (per room, bounded: docs/bus.md "Transactions").
 * `claim` is atomic across instances: of two concurrent claims of one transaction, one wins.
 */
export interface TransactionLog {
  /** Claims `transaction` for the event: undefined when this call claimed it, else the earlier claim. */
  claim(room: string, transaction: Transaction, first: TransactionClaim): Promise<TransactionClaim | undefined>;
}

/** Longest transaction id or scope: a client chooses them, so they are bounded like any input. */
export const MAX_TRANSACTION_CHARS = 256;

/**
 * publishOnce for every driver. The first claim publishes the event. A later claim within the
 * window publishes the SAME event id again (with the first call's time): if the first publish
 * landed, routing drops it as a duplicate; if it had failed or never got its answer (the client
 * saw no ack and retried), this is the publish that lands. Either way the room gets it once.
 */
export async function publishOnce(
  publish: (events: readonly CanonicalEvent[]) => Promise<void>,
  log: TransactionLog,
  event: CanonicalEvent,
  transaction: Transaction,
): Promise<PublishOnceResult> {
  if (transaction.id.length === 0 || transaction.id.length > MAX_TRANSACTION_CHARS || transaction.scope.length === 0 || transaction.scope.length > MAX_TRANSACTION_CHARS) {
    throw new RangeError(`a transaction id and scope have 1 to ${MAX_TRANSACTION_CHARS} characters`);
  }
  const valid = parseEvent(event);
  const earlier = await log.claim(valid.room, transaction, { id: valid.id, ts: valid.ts });
  if (earlier === undefined) {
    await publish([valid]);
    return { id: valid.id, duplicate: false };
  }
  await publish([parseEvent({ ...valid, id: earlier.id, ts: earlier.ts })]);
  return { id: earlier.id, duplicate: true };
}
