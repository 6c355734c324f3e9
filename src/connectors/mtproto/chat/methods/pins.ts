// Pinning a message (messages.updatePinnedMessage, unpinAllMessages). The canonical event has no
// pin, so a pin is told to everyone as a message of the account answering the pinned one
// ("📌 Pinned: …"), as Telegram shows its own service message to all members; MTProto clients
// also find the newest as the chat's pinned message (chatFull.pinned_msg_id) and all of them with
// messages.search's pinned filter. Several a chat, as on Telegram (pinned.ts).
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import type { ChatInfo } from '../directory.ts';
import type { MessageRecord } from '../message-box.ts';
import { actorOf, checked, originOf, publishAndWait } from '../inbound.ts';
import { accountsOfChat, badRequest, chatOfPeer, intField, liveMessage, objectField, register, updatesOf, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { tellAccount } from './own-news.ts';
import { newMessageUpdates } from './sent-updates.ts';
import { changePins } from '../pinned.ts';
import { RpcError } from '../../session/rpc.ts';

/** Characters of the pinned message's text the notice quotes. */
const PREVIEW_CHARS = 60;

function preview(record: MessageRecord): string {
  const text = record.text.replace(/\s+/g, ' ').trim();
  if (text === '') return record.media !== undefined ? 'a file' : 'a message';
  return [...text].length > PREVIEW_CHARS ? `«${[...text].slice(0, PREVIEW_CHARS).join('')}…»` : `«${text}»`;
}

/** Publishes the notice (answering the message) and answers with it, as a send does. */
async function notice(deps: ChatDeps, ctx: ChatCallContext, chat: ChatInfo, record: MessageRecord, what: string) {
  const view = viewOf(deps, ctx);
  const event = checked({
    v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: chat.room, sender: actorOf(deps, view.account), origin: originOf(chat, ctx),
    text: `📌 ${what}: ${preview(record)}`, replyTo: record.ev,
  });
  const published = await publishAndWait(deps, view.account, ctx.turn, chat, event);
  const sent = await newMessageUpdates(deps, view.account, view, chat, [{ id: published.id, randomIds: [] }]);
  return updatesOf(deps, view, sent.updates, sent.users, [chat]);
}

/** Every account of the chat, on every instance, is told (its clients' pinned bar follows at once). */
async function tellMembers(deps: ChatDeps, chat: ChatInfo, messages: readonly number[], pinned: boolean): Promise<void> {
  for (const account of accountsOfChat(deps, chat)) {
    await tellAccount(deps, account, { kind: 'pinned', account: String(account.id), chat: chat.address, messages: [...messages], pinned }, undefined);
  }
}

export function registerPins(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.updatePinnedMessage', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'), 'post');
    const record = await liveMessage(deps, chat, intField(call, 'id'));
    const unpin = call['unpin'] === true;
    let changed = false;
    const written = await changePins(deps, chat, (ids) => {
      changed = unpin ? ids.includes(record.id) : !ids.includes(record.id);
      if (!changed) return undefined;
      return unpin ? ids.filter((id) => id !== record.id) : [...ids, record.id];
    });
    if (!written) throw new RpcError(420, 'FLOOD_WAIT_1');
    if (!changed) throw badRequest('MESSAGE_NOT_MODIFIED');
    await deps.pins.refresh(chat.address);
    await tellMembers(deps, chat, [record.id], !unpin);
    return notice(deps, ctx, chat, record, unpin ? 'Unpinned' : 'Pinned');
  });

  // Every pin of the chat goes; told once, answering the newest.
  register(methods, deps, 'messages.unpinAllMessages', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'), 'post');
    let were: number[] = [];
    if (!await changePins(deps, chat, (ids) => { were = ids; return ids.length > 0 ? [] : undefined; })) throw new RpcError(420, 'FLOOD_WAIT_1');
    await deps.pins.refresh(chat.address);
    if (were.length > 0) await tellMembers(deps, chat, were, false);
    const newest = were.at(-1);
    const record = newest === undefined ? undefined : await deps.box.record(newest);
    if (record !== undefined && record.deleted !== true) await notice(deps, ctx, chat, record, were.length > 1 ? `Unpinned all ${were.length} messages, the newest` : 'Unpinned');
    return { _: 'messages.affectedHistory', pts: await deps.pts.current(view.account), pts_count: 0, offset: 0 };
  });
}
