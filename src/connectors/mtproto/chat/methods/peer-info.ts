// Small questions clients ask about a chat or a user: who read a message, how many of a group are online
// (messages.getOnlines), which groups the account shares with someone (messages.getCommonChats),
// and the bar a client shows above a private chat (messages.getPeerSettings: add as a contact,
// block, report; contact-lists.ts).
import type { MethodRegistry } from '../../api/registry.ts';
import { accountsOfChat, badRequest, chatOfPeer, intField, liveMessage, objectField, register, userOfInput, viewOf, type ChatDeps } from './common.ts';
import type { Account } from '../directory.ts';
import { peerSettingsOf } from '../contact-lists.ts';

/** Groups getCommonChats answers at most (Telegram's cap). */
export const MAX_COMMON_CHATS = 100;

/** The groups an account shares with another account, by id (the people of other networks are no members of groups here). */
export function commonGroups(deps: ChatDeps, account: Account, otherId: bigint) {
  const other = deps.directory.account(otherId);
  return other === undefined || other.id === account.id ? [] : deps.directory.chatsOf(account).filter((c) => deps.directory.mayUse(other, c));
}

export function registerPeerInfo(methods: MethodRegistry, deps: ChatDeps): void {
  // The members of the conversation online now (the accounts: the people of other networks are not
  // members), of those whose status the caller may see (status-privacy.ts).
  register(methods, deps, 'messages.getOnlines', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const onlines = accountsOfChat(deps, chat)
      .filter((a) => deps.statusPrivacy.shows(a.id, view.account.id) && deps.presence.statusOf(a.id, ctx.now)._ === 'userStatusOnline').length;
    return { _: 'chatOnlines', onlines };
  });

  register(methods, deps, 'messages.getCommonChats', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const id = await userOfInput(deps, view.account, objectField(call, 'user_id'));
    if (id === undefined) throw badRequest('USER_ID_INVALID');
    const limitIn = intField(call, 'limit');
    if (limitIn < 0) throw badRequest('LIMIT_INVALID');
    // Newest (highest id) first; a page goes on below the last chat of the one before (max_id).
    const maxId = call['max_id'];
    const below = typeof maxId === 'bigint' && maxId > 0n ? maxId : undefined;
    const chats = commonGroups(deps, view.account, id).reverse().filter((c) => below === undefined || c.id < below).slice(0, Math.min(limitIn || MAX_COMMON_CHATS, MAX_COMMON_CHATS));
    return { _: 'messages.chats', chats: deps.render.chatObjects(chats, view) };
  });

  register(methods, deps, 'messages.getPeerSettings', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const user = deps.render.usersOfChat(chat, view)[0];
    const settings = user === undefined ? { _: 'peerSettings' } : peerSettingsOf(deps.contacts, deps.directory, view.account.id, user);
    return { _: 'messages.peerSettings', settings, chats: [], users: await deps.render.users(user === undefined ? [] : [user], view) };
  });
}

/**
 * Who read one of the account's messages (messages.getMessageReadParticipants): everyone whose
 * read mark in the chat reached it, with when it first did; user ids up to layer 152,
 * readParticipantDate from 158. Someone else's message: nobody (Telegram answers only for one's own).
 */
export function registerReadParticipants(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getMessageReadParticipants', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const record = await liveMessage(deps, chat, intField(call, 'msg_id'));
    const me = String(view.account.id);
    if (record.from !== me) return [];
    const firstRead = new Map<string, number>();
    for (const e of (await deps.box.chat(chat.address)).entries) {
      if (e.k === 'read' && e.u !== undefined && e.u !== me && e.m >= record.id && !firstRead.has(e.u)) firstRead.set(e.u, e.t);
    }
    const dated = view.schema.byName.has('readParticipantDate');
    return [...firstRead].map(([user, date]) => (dated ? { _: 'readParticipantDate', user_id: BigInt(user), date } : BigInt(user)));
  });

  // When the other side of a private chat read one's message: its first read mark at or past it.
  register(methods, deps, 'messages.getOutboxReadDate', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    if (chat.direct === undefined) throw badRequest('PEER_ID_INVALID');
    const record = await liveMessage(deps, chat, intField(call, 'msg_id'));
    const me = String(view.account.id);
    if (record.from !== me) throw badRequest('MESSAGE_ID_INVALID');
    const read = (await deps.box.chat(chat.address)).entries.find((e) => e.k === 'read' && e.u !== undefined && e.u !== me && e.m >= record.id);
    if (read === undefined) throw badRequest('MESSAGE_NOT_READ_YET');
    return { _: 'outboxReadDate', date: read.t };
  });
}
