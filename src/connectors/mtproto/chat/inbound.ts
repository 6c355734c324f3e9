// MTProto calls -> canonical events: who sent them (the account as a `mtproto` actor), where
// from (the chat's endpoint and the calling session, which then gets its answer instead of an
// echo), and publishing with the wait for the bus to deliver the event back into the chat's log
// (which gives it its message id and the account's pts).
import type { Actor, CanonicalEvent, Origin } from '../../../core/event.ts';
import { validateEvent } from '../../../core/event.ts';
import { directReach } from '../../../core/direct.ts';
import type { ApiCallContext } from '../api/context.ts';
import { RpcError } from '../session/rpc.ts';
import type { ChatLog, LogEntry } from './chat-log.ts';
import { displayName, type Account, type ChatInfo } from './directory.ts';
import type { ChatDeps } from './methods/common.ts';
import type { Turn } from './publish-order.ts';
import { refuseReadOnly } from './group-direction.ts';

export const CONNECTOR = 'mtproto';

export function senderOf(account: Account, avatar?: string): Actor {
  const name = displayName(account);
  return { network: CONNECTOR, id: String(account.id), ...(name !== '' ? { name: name.slice(0, 256) } : {}), ...(avatar !== undefined ? { avatar } : {}) };
}

/** An account as the sender of what it does: with the name and the profile photo it set (the photo as a link of our store: account-avatars.ts). */
export function actorOf(deps: Pick<ChatDeps, 'avatars' | 'files' | 'profiles'>, account: Account): Actor {
  const photo = deps.avatars.of(account.id);
  return senderOf(deps.profiles.shown(account), photo === undefined ? undefined : deps.files.attachment(photo).url);
}

/**
 * Where an event of a call comes from: the chat's endpoint (in a private chat, the account's own
 * id: docs/connectors.md) and the calling session. No nativeId: a message gets its id only when
 * the bus delivers it back (outbound.ts links it in the id map).
 */
export function originOf(chat: ChatInfo, ctx: ApiCallContext): Origin {
  const endpoint = chat.direct !== undefined && ctx.user !== undefined ? String(ctx.user.userId) : chat.address;
  return { connector: CONNECTOR, endpoint, ...(ctx.channel !== undefined ? { session: ctx.channel.key } : {}) };
}

/**
 * A private chat's events must reach its other party: their network runs and takes direct chats
 * here (the router says where an event goes), and the chat is not one too many for an account
 * here. Otherwise the call fails before anything is published.
 */
async function checkReach(deps: ChatDeps, account: Account, chat: ChatInfo, event: CanonicalEvent): Promise<void> {
  if (chat.direct === undefined) return;
  // Blocked either way, nothing new is written (retracting one's own messages, or reading, still is).
  if (event.kind === 'message' || event.kind === 'edit' || event.kind === 'reaction') {
    const other = deps.directs.peerOf(chat, account.id);
    if (deps.blocked.blocks(account.id, other)) throw new RpcError(400, 'YOU_BLOCKED_USER');
    if (deps.directory.account(other) !== undefined && deps.blocked.blocks(other, account.id)) throw new RpcError(400, 'USER_IS_BLOCKED');
  }
  const peer = deps.directs.peerPartyOf(chat, account.id);
  const reach = directReach(deps.routing, event, peer);
  // config.yaml's `ignore:` names the account: its private chats stay on MTProto (Telegram's
  // "you can't write in this chat"), where PEER_ID_INVALID would say the person is unknown.
  if (reach === 'ignored') throw new RpcError(403, 'CHAT_WRITE_FORBIDDEN');
  if (reach === 'unreachable') throw new RpcError(400, 'PEER_ID_INVALID');
  if (await deps.directs.refuses(chat)) throw new RpcError(400, 'PEER_FLOOD');
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

export interface ToPublish {
  readonly chat: ChatInfo;
  readonly event: CanonicalEvent;
  /** The account's transaction id (a random_id): a resend publishes nothing new. */
  readonly txn?: string;
}

/**
 * Publishes events of one call in its session's turn (publish-order.ts), then waits until the bus
 * delivered each back into its chat's log (which gives it its message id and the account's pts).
 * A bus that refuses is a 500 (nothing of the call was published, or the bus says which part
 * was); a delivery that does not come back in time is 500 MSG_WAIT_TIMEOUT: the event is on the
 * bus, and a resend with the same random_id is recognised.
 */
export async function publishAll(deps: ChatDeps, account: Account, turn: Turn, items: readonly ToPublish[]): Promise<Published[]> {
  for (const { chat, event } of items) await checkReach(deps, account, chat, event);
  const results = await publishInTurn(deps, account, turn, items);
  return Promise.all(results.map(async (result, i) => {
    const { chat } = items[i]!;
    const found = await deps.box.waitFor(chat.address, result.id, deps.publishWaitMs);
    if (found === undefined) {
      deps.logger.warn({ user: String(account.id), event: result.id, waitMs: deps.publishWaitMs }, 'mtproto: a published event was not delivered back in time');
      throw new RpcError(500, 'MSG_WAIT_TIMEOUT');
    }
    return { ...found, ...result };
  }));
}

/**
 * Publishes events of one call in its session's turn, without waiting for their delivery (what
 * writes no log entry waits its own way: a group's description, methods/group-about.ts). A bus
 * that refuses is a 500.
 */
export async function publishInTurn(deps: ChatDeps, account: Account, turn: Turn, items: readonly ToPublish[]): Promise<{ id: string; duplicate: boolean }[]> {
  // Nothing from a read-only group enters the room's stream (group-direction.ts), whatever the call:
  // the net under chatOfPeer's refusal of posts (common.ts), and the refusal itself where no peer names
  // the group and nothing changes before the publish (messages.deleteMessages: the messages name it),
  // or where no call does (a scheduled message falling due after a reload made the group read-only).
  for (const { chat } of items) refuseReadOnly(deps.directory, chat);
  let pending: Promise<{ id: string; duplicate: boolean }>[];
  await turn.ready;
  try {
    // Issued back to back, in order: the bus keeps the order of publish calls.
    pending = items.map(({ event, txn }) => txn !== undefined
      ? deps.bus.publishOnce(event, { scope: `${CONNECTOR}:${account.id}`, id: txn })
      : deps.bus.publish([event]).then(() => ({ id: event.id, duplicate: false })));
  } finally {
    turn.release();
  }
  try {
    return await Promise.all(pending);
  } catch (err) {
    deps.logger.warn({ err, user: String(account.id) }, 'mtproto: the bus did not accept an event');
    throw new RpcError(500, 'INTERNAL');
  }
}

/** One event: publishAll of one. */
export async function publishAndWait(deps: ChatDeps, account: Account, turn: Turn, chat: ChatInfo, event: CanonicalEvent, txn?: string): Promise<Published> {
  const [published] = await publishAll(deps, account, turn, [{ chat, event, ...(txn !== undefined ? { txn } : {}) }]);
  return published!;
}
