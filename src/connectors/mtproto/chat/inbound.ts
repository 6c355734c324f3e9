// MTProto calls -> canonical events: who sent them (the account as a `mtproto` actor), where
// from (the chat's endpoint and the calling session, which then gets its answer instead of an
// echo), and publishing with the wait for the bus to deliver the event back into the chat's log
// (which gives it its message id and the account's pts).
import type { Actor, CanonicalEvent, Origin } from '../../../core/event.ts';
import { validateEvent } from '../../../core/event.ts';
import type { ApiCallContext } from '../api/context.ts';
import { RpcError } from '../session/rpc.ts';
import type { ChatLog, LogEntry } from './chat-log.ts';
import { displayName, type Account, type ChatInfo } from './directory.ts';
import type { ChatDeps } from './methods/common.ts';

export const CONNECTOR = 'mtproto';

export function senderOf(account: Account): Actor {
  const name = displayName(account);
  return { network: CONNECTOR, id: String(account.id), ...(name !== '' ? { name: name.slice(0, 256) } : {}) };
}

/**
 * Where an event of a call comes from: the chat's endpoint and the calling session. No nativeId:
 * a message gets its id only when the bus delivers it back (outbound.ts links it in the id map).
 */
export function originOf(chat: ChatInfo, ctx: ApiCallContext): Origin {
  return { connector: CONNECTOR, endpoint: chat.address, ...(ctx.channel !== undefined ? { session: ctx.channel.key } : {}) };
}

/** Validates an event built from a call; a refusal is the client's input: 400 with the field. */
export function checked(event: unknown): CanonicalEvent {
  const result = validateEvent(event);
  if (!result.ok) throw new RpcError(400, 'INPUT_REQUEST_INVALID');
  return result.event;
}

export interface Published {
  readonly log: ChatLog;
  readonly entry: LogEntry;
  /** The canonical id (the first publish's, for a resend). */
  readonly id: string;
  readonly duplicate: boolean;
}

/**
 * Publishes (once per `txn` of this account, when given) and waits until the bus delivered the
 * event into the chat's log. A bus that refuses is a 500 (nothing was published); a delivery that
 * does not come in time is 500 MSG_WAIT_TIMEOUT: the event is on the bus, and a resend with the
 * same random_id is recognised.
 */
export async function publishAndWait(deps: ChatDeps, account: Account, chat: ChatInfo, event: CanonicalEvent, txn?: string): Promise<Published> {
  let result: { id: string; duplicate: boolean };
  try {
    if (txn !== undefined) {
      result = await deps.bus.publishOnce(event, { scope: `${CONNECTOR}:${account.id}`, id: txn });
    } else {
      await deps.bus.publish([event]);
      result = { id: event.id, duplicate: false };
    }
  } catch (err) {
    deps.logger.warn({ err, user: String(account.id), kind: event.kind }, 'mtproto: the bus did not accept an event');
    throw new RpcError(500, 'INTERNAL');
  }
  const found = await deps.box.waitFor(chat.address, result.id, deps.publishWaitMs);
  if (found === undefined) {
    deps.logger.warn({ user: String(account.id), event: result.id, waitMs: deps.publishWaitMs }, 'mtproto: a published event was not delivered back in time');
    throw new RpcError(500, 'MSG_WAIT_TIMEOUT');
  }
  return { ...found, ...result };
}
