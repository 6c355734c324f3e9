// The account's unread mentions and reactions (chat/unread-notices.ts): messages.getUnreadMentions
// and getUnreadReactions page them like history; messages.readMentions and readReactions mark them
// seen (the chat's marks, kept with its dialog settings; reading the chat reads its mentions too).
// Dialogs count them (unread_mentions_count, unread_reactions_count), messages carry `mentioned`.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { SeenMark } from '../dialog-settings.ts';
import type { ChatInfo } from '../directory.ts';
import type { MessageRecord } from '../message-box.ts';
import type { View } from '../render.ts';
import { lastPosition, unreadMentionsOf, unreadReactionsOf, type Looker } from '../unread-notices.ts';
import { chatOfPeer, objectField, register, usersOfRecord, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { pageOfIds, readInboxOf } from './chats.ts';


/** A page of `all` (newest first) as history pages them (pageOfIds). */
async function pageOf(deps: ChatDeps, view: View, chat: ChatInfo, all: readonly MessageRecord[], call: TlObject): Promise<TlObject> {
  const byId = new Map(all.map((r) => [r.id, r]));
  const page = pageOfIds(all.map((r) => r.id), call).map((id) => byId.get(id)!);
  await deps.pins.ready([chat.address]);
  return {
    _: 'messages.messagesSlice', count: all.length,
    messages: page.map((r) => deps.render.message(r, view)),
    chats: deps.render.chatObjects([chat], view),
    users: await deps.render.users([...page.flatMap(usersOfRecord), ...deps.render.usersOfChat(chat, view)], view),
  };
}

export function registerUnreadNotices(methods: MethodRegistry, deps: ChatDeps): void {
  /** The caller, the chat it names, and where its marks of that chat stand. */
  async function lookerIn(call: TlObject, ctx: ChatCallContext) {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const [inbox, settings, log] = await Promise.all([readInboxOf(deps, view.account, chat), deps.dialogSettings.of(view.account.id), deps.box.chat(chat.address)]);
    const who: Looker = { userId: String(view.account.id), ref: deps.people.userRef(view.account.id), inbox, settings };
    return { view, chat, log, who };
  }

  register(methods, deps, 'messages.getUnreadMentions', 'user', async (call, ctx) => {
    const { view, chat, log, who } = await lookerIn(call, ctx);
    return pageOf(deps, view, chat, await unreadMentionsOf(deps.box, log, chat.address, who), call);
  });

  register(methods, deps, 'messages.getUnreadReactions', 'user', async (call, ctx) => {
    const { view, chat, log, who } = await lookerIn(call, ctx);
    return pageOf(deps, view, chat, await unreadReactionsOf(deps.box, log, chat.address, who), call);
  });

  // Everything of the chat so far is seen (mentions: up to its newest message; reactions: up to
  // its newest log entry); pts does not move.
  const markRead = (mark: SeenMark) => async (call: TlObject, ctx: ChatCallContext) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const log = await deps.box.chat(chat.address);
    const upTo = mark === 'mentionsRead' ? log.newestMessageId() : lastPosition(log);
    if (upTo > 0) await deps.dialogSettings.markSeen(view.account.id, mark, chat.address, upTo);
    return { _: 'messages.affectedHistory', pts: await deps.pts.current(view.account), pts_count: 0, offset: 0 };
  };
  register(methods, deps, 'messages.readMentions', 'user', markRead('mentionsRead'));
  register(methods, deps, 'messages.readReactions', 'user', markRead('reactionsRead'));
}
