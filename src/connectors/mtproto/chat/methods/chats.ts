// The bridged rooms as basic groups, and private chats with people: dialogs, chats, full chats,
// history and messages by id. History is the chat's log: the room's canonical stream as the bus
// delivered it to this chat (after the mapper), with the message ids clients know.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { ChatLog } from '../chat-log.ts';
import type { Account, ChatInfo } from '../directory.ts';
import type { MessageRecord } from '../message-box.ts';
import { peerUser, type View } from '../render.ts';
import { draftObject, type DraftsOfAccount } from '../drafts.ts';
import { ARCHIVE_FOLDER, isArchived, peerNotifySettings, type DialogSettingsOf } from '../dialog-settings.ts';
import { botInfoOf } from './bot-commands.ts';
import { pinnedOf } from '../pinned.ts';
import { unreadMentionsOf, unreadReactionsOf } from '../unread-notices.ts';
import { isReadOnly, topicShownIn } from '../group-direction.ts';
import { badRequest, chatOfPeer, chatsOfAccount, formerOfPeer, refuseFormer, intField, listField, objectField, register, userOfInput, usersOfRecord, viewOf, type ChatDeps } from './common.ts';

const MAX_HISTORY = 100;
const DEFAULT_HISTORY = 20;
const MAX_DIALOGS = 100;

/** The highest message id an account marked read in a chat. */
export async function readInboxOf(deps: ChatDeps, account: Account, chat: ChatInfo): Promise<number> {
  const raw = await deps.state.get(`read:${account.id}:${chat.address}`);
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isSafeInteger(n) ? n : 0;
}

interface DialogOf {
  chat: ChatInfo;
  log: ChatLog;
  top: MessageRecord | undefined;
}

/** What the account keeps for itself about its chats: drafts, pins, unread marks, notifications. */
export interface OwnMarks {
  readonly drafts: DraftsOfAccount;
  readonly settings: DialogSettingsOf;
}

export async function ownMarksOf(deps: ChatDeps, account: Account): Promise<OwnMarks> {
  const [drafts, settings] = await Promise.all([deps.drafts.of(account.id), deps.dialogSettings.of(account.id)]);
  return { drafts, settings };
}

export async function dialogObject(deps: ChatDeps, view: View, d: DialogOf, marks: OwnMarks): Promise<TlObject> {
  const me = String(view.account.id);
  const address = d.chat.address;
  // What the account cleared (deleteHistory) counts as read.
  const cleared = marks.settings.clearedUpTo[address] ?? 0;
  // Saved Messages has nothing to read but one's own messages: all of it reads as read, both ways (as on Telegram).
  const saved = deps.directs.isSaved(d.chat) ? d.top?.id ?? 0 : undefined;
  const inbox = saved ?? Math.max(await readInboxOf(deps, view.account, d.chat), cleared);
  const who = { userId: me, ref: deps.people.userRef(view.account.id), inbox, settings: marks.settings };
  const mentioned = await unreadMentionsOf(deps.box, d.log, address, who);
  const reacted = await unreadReactionsOf(deps.box, d.log, address, who);
  return {
    _: 'dialog', peer: deps.render.peer(d.chat, view), top_message: d.top?.id ?? 0,
    read_inbox_max_id: inbox, read_outbox_max_id: saved ?? d.log.readByOthers(me), unread_count: d.log.unreadAfter(inbox, me),
    unread_mentions_count: mentioned.length, unread_reactions_count: reacted.length, notify_settings: peerNotifySettings(marks.settings.notify[address]),
    pinned: marks.settings.pinned.includes(address), unread_mark: marks.settings.unread.includes(address),
    ...(isArchived(marks.settings, address, d.top?.id ?? 0, view.now) ? { folder_id: ARCHIVE_FOLDER } : {}),
    ...(marks.drafts[address] !== undefined ? { draft: draftObject(deps, marks.drafts[address], view) } : {}),
  };
}

/** The dialogs of some conversations, as messages.peerDialogs (getPeerDialogs, getPinnedDialogs). */
export async function peerDialogs(deps: ChatDeps, view: View, chats: readonly ChatInfo[]): Promise<TlObject> {
  const dialogs: TlObject[] = [];
  const messages: TlObject[] = [];
  const users: bigint[] = [view.account.id];
  const marks = await ownMarksOf(deps, view.account);
  await deps.pins.ready(chats.map((c) => c.address));
  for (const chat of chats) {
    const log = await deps.box.chat(chat.address);
    const top = await topOf(deps, log, marks.settings.clearedUpTo[chat.address]);
    dialogs.push(await dialogObject(deps, view, { chat, log, top }, marks));
    if (top !== undefined) { messages.push(deps.render.message(top, view)); users.push(...usersOfRecord(top)); }
    users.push(...deps.render.usersOfChat(chat, view));
  }
  const pts = await deps.pts.current(view.account);
  return {
    _: 'messages.peerDialogs', dialogs, messages, chats: deps.render.chatObjects(chats, view), users: await deps.render.users(users, view),
    state: { _: 'updates.state', pts, qts: 0, date: view.now, seq: 0, unread_count: 0 },
  };
}

/** The newest message of a chat the account has not cleared (`above`: its cleared mark). */
async function topOf(deps: ChatDeps, log: ChatLog, above = 0): Promise<MessageRecord | undefined> {
  const ids = log.messageIds().filter((id) => id > above);
  for (let i = ids.length - 1; i >= 0 && i >= ids.length - 10; i--) {
    const record = await deps.box.record(ids[i]!);
    if (record !== undefined && record.deleted !== true) return record;
  }
  return undefined;
}

/** The chat's pinned message for its full chat, when there is one. */
async function pinnedField(deps: ChatDeps, chat: ChatInfo): Promise<{ pinned_msg_id?: number }> {
  const id = await pinnedOf(deps, chat);
  return id > 0 ? { pinned_msg_id: id } : {};
}

/**
 * A page of message ids (newest first) as history pages them: from offset_id (or offset_date,
 * with the ids' dates, read only then), shifted by add_offset, `limit` of them (20 when none,
 * at most 100), within max_id / min_id. getHistory, getUnreadMentions and getUnreadReactions.
 */
export function pageOfIds(ids: readonly number[], call: TlObject, datesOf?: () => ReadonlyMap<number, number>): number[] {
  const offsetId = intField(call, 'offset_id');
  const offsetDate = intField(call, 'offset_date');
  const maxId = intField(call, 'max_id');
  const minId = intField(call, 'min_id');
  const limitIn = intField(call, 'limit');
  const limit = limitIn <= 0 ? DEFAULT_HISTORY : Math.min(limitIn, MAX_HISTORY);
  let start = 0;
  if (offsetId > 0) {
    start = ids.findIndex((id) => id < offsetId);
    if (start < 0) start = ids.length;
  } else if (offsetDate > 0 && datesOf !== undefined) {
    const dates = datesOf();
    start = ids.findIndex((id) => (dates.get(id) ?? 0) < offsetDate);
    if (start < 0) start = ids.length;
  }
  start = Math.max(0, start + intField(call, 'add_offset'));
  return ids.slice(start, start + limit).filter((id) => (maxId <= 0 || id < maxId) && (minId <= 0 || id > minId));
}

/** Whether a client's InputPeer names the peer the server shows (a group by chat id, a user by user id). */
function namesPeer(input: TlObject, peer: TlObject): boolean {
  if (input._ === 'inputPeerChat') return peer._ === 'peerChat' && input['chat_id'] === peer['chat_id'];
  if (input._ === 'inputPeerUser' || input._ === 'inputPeerUserFromMessage') return peer._ === 'peerUser' && input['user_id'] === peer['user_id'];
  return false;
}

export function registerChats(methods: MethodRegistry, deps: ChatDeps): void {
  /** A dialog older than the offset a client pages from (0: no bound). */
  const olderThanOffset = (d: DialogOf, offsetId: number, offsetDate: number): boolean =>
    (offsetId <= 0 || (d.top?.id ?? 0) < offsetId) && (offsetDate <= 0 || (d.top?.date ?? 0) < offsetDate);

  register(methods, deps, 'messages.getDialogs', 'user', async (call, ctx) => {
    // The main list (folder 0) or the archive (folder 1); there are no other folders.
    const folder = intField(call, 'folder_id');
    if (folder !== 0 && folder !== ARCHIVE_FOLDER) return { _: 'messages.dialogs', dialogs: [], messages: [], chats: [], users: [] };
    const view = viewOf(deps, ctx);
    const all: DialogOf[] = [];
    // One dialog per peer: a person linked across networks (identities.yaml) is one user, but each
    // network they wrote from is a private chat of its own; clients key dialogs by peer, so only
    // the one with the newest message is listed (the others' messages reached the client under
    // the same peer anyway).
    const byPeer = new Map<bigint, DialogOf>();
    const marks = await ownMarksOf(deps, view.account);
    // The groups it was removed from stay listed (chatForbidden, their last message the removal), as on Telegram.
    for (const chat of [...await chatsOfAccount(deps, view.account), ...deps.directory.formerChatsOf(view.account)]) {
      const log = await deps.box.chat(chat.address);
      const top = await topOf(deps, log, marks.settings.clearedUpTo[chat.address]);
      if (chat.direct === undefined) {
        all.push({ chat, log, top });
        continue;
      }
      // A private chat whose messages are all gone is not listed (a group always is).
      if (top === undefined) continue;
      const peer = deps.directs.peerOf(chat, view.account.id);
      const seen = byPeer.get(peer);
      if (seen === undefined || (seen.top?.id ?? 0) < top.id) byPeer.set(peer, { chat, log, top });
    }
    all.push(...byPeer.values());
    // The folder asked for: the archive's chats, or the others.
    const shown = all.filter((d) => isArchived(marks.settings, d.chat.address, d.top?.id ?? 0, view.now) === (folder === ARCHIVE_FOLDER));
    // Newest activity first; chats without messages last, by id.
    shown.sort((a, b) => (b.top?.id ?? 0) - (a.top?.id ?? 0) || (a.chat.id < b.chat.id ? -1 : a.chat.id > b.chat.id ? 1 : a.chat.address < b.chat.address ? -1 : 1));
    const offsetId = intField(call, 'offset_id');
    const offsetDate = intField(call, 'offset_date');
    // Pinned chats come first, in the account's order, then the others newest first; none with
    // exclude_pinned. Clients page on from the last dialog they got (its top message's date and
    // id, and its peer): after a pinned one come the pinned after it, then every other chat (its
    // top message says nothing about where the others stand); after another one, the older ones.
    // The archive has no pins of its own here (archiving a chat unpins it).
    const pinned = folder === 0 ? marks.settings.pinned : [];
    const pinnedDialogs = pinned.flatMap((address) => shown.filter((d) => d.chat.address === address));
    const rest = shown.filter((d) => !pinned.includes(d.chat.address));
    const excludePinned = call['exclude_pinned'] === true;
    const firstPage = offsetId <= 0 && offsetDate <= 0;
    const offsetPeer = objectField(call, 'offset_peer');
    const afterPinned = excludePinned || firstPage || offsetPeer === undefined ? -1 : pinnedDialogs.findIndex((d) => namesPeer(offsetPeer, deps.render.peer(d.chat, view)));
    const after = excludePinned ? rest.filter((d) => olderThanOffset(d, offsetId, offsetDate))
      : firstPage ? [...pinnedDialogs, ...rest]
        : afterPinned >= 0 ? [...pinnedDialogs.slice(afterPinned + 1), ...rest]
          : rest.filter((d) => olderThanOffset(d, offsetId, offsetDate));
    const total = excludePinned ? rest.length : shown.length;
    const limit = Math.min(Math.max(intField(call, 'limit', MAX_DIALOGS), 1), MAX_DIALOGS);
    const page = after.slice(0, limit);
    const tops = page.flatMap((d) => (d.top === undefined ? [] : [d.top]));
    await deps.pins.ready(page.map((d) => d.chat.address));
    const body = {
      dialogs: await Promise.all(page.map((d) => dialogObject(deps, view, d, marks))),
      messages: tops.map((r) => deps.render.message(r, view)),
      chats: deps.render.chatObjects(page.map((d) => d.chat), view),
      users: await deps.render.users([view.account.id, ...tops.flatMap(usersOfRecord), ...page.flatMap((d) => deps.render.usersOfChat(d.chat, view))], view),
    };
    return page.length < total ? { _: 'messages.dialogsSlice', count: total, ...body } : { _: 'messages.dialogs', ...body };
  });

  register(methods, deps, 'messages.getPeerDialogs', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chats: ChatInfo[] = [];
    for (const p of listField(call, 'peers')) {
      const inner = typeof p === 'object' && !Array.isArray(p) && !(p instanceof Uint8Array) ? objectField(p as TlObject, 'peer') : undefined;
      // A group it was removed from is still one of its dialogs (its last message the removal), as on Telegram.
      chats.push(formerOfPeer(deps, view.account, inner) ?? await chatOfPeer(deps, view.account, inner));
    }
    return peerDialogs(deps, view, chats);
  });

  register(methods, deps, 'messages.getChats', 'user', (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chats = listField(call, 'id').flatMap((id) => {
      const chat = typeof id === 'bigint' ? deps.directory.chat(id) : undefined;
      // A group it was removed from: chatForbidden, as Telegram lists it.
      const former = typeof id === 'bigint' ? formerOfPeer(deps, view.account, { _: 'inputPeerChat', chat_id: id }) : undefined;
      if (former !== undefined) return [deps.render.chatObject(former, view)];
      return chat !== undefined && deps.directory.mayUse(view.account, chat) ? [deps.render.chatObject(chat, view)] : [];
    });
    return { _: 'messages.chats', chats };
  });

  register(methods, deps, 'messages.getFullChat', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const id = call['chat_id'];
    const chat = typeof id === 'bigint' ? deps.directory.chat(id) : undefined;
    if (chat === undefined && typeof id === 'bigint') refuseFormer(deps, view.account, id, 'read');
    if (chat === undefined || !deps.directory.mayUse(view.account, chat)) throw badRequest('CHAT_ID_INVALID');
    const members = deps.directory.membersOf(chat);
    // No admins in a read-only group: nobody writes there (group-direction.ts).
    const admins = !isReadOnly(deps.directory, chat);
    return {
      _: 'messages.chatFull',
      full_chat: {
        // The room's topic (group-about.ts), else the bridge's default text.
        _: 'chatFull', id: chat.id, about: await deps.abouts.of(chat, topicShownIn(deps.routing, chat)),
        participants: { _: 'chatParticipants', chat_id: chat.id, participants: members.map((a) => ({ _: a.moderator === true && admins ? 'chatParticipantAdmin' : 'chatParticipant', user_id: a.id, inviter_id: a.id, date: 0 })), version: 1 },
        notify_settings: peerNotifySettings((await deps.dialogSettings.of(view.account.id)).notify[chat.address]),
        ...await pinnedField(deps, chat),
        // The account has messages queued here (apps show the schedule's button).
        ...((await deps.scheduled.list(view.account.id, chat.address)).length > 0 ? { has_scheduled: true } : {}),
        // The bots of the group and their commands, which clients list for "/".
        bot_info: await Promise.all(members.filter((a) => a.bot).map((bot) => botInfoOf(deps, bot, chat))),
      },
      chats: [deps.render.chatObject(chat, view)],
      users: await deps.render.users(members.map((a) => a.id), view),
    };
  });

  // Newest first, from offset_id / offset_date, shifted by add_offset, within max_id / min_id.
  /** A page of a conversation's history, as `call` (getHistory's paging fields) asks. */
  const historyOf = async (call: TlObject, view: View, chat: ChatInfo): Promise<TlObject> => {
    const log = await deps.box.chat(chat.address);
    const cleared = (await deps.dialogSettings.of(view.account.id)).clearedUpTo[chat.address] ?? 0;
    const ids = log.messageIds().filter((id) => id > cleared).reverse();
    // Entries carry their time: no message read to find an offset_date's place.
    const picked = pageOfIds(ids, call, () => new Map(log.entries.filter((e) => e.k === 'new').map((e) => [e.m, e.t])));
    const records = (await Promise.all(picked.map((id) => deps.box.record(id)))).filter((r): r is MessageRecord => r !== undefined && r.deleted !== true);
    await deps.pins.ready([chat.address]);
    const body = {
      messages: records.map((r) => deps.render.message(r, view)),
      chats: deps.render.chatObjects([chat], view),
      users: await deps.render.users([...records.flatMap(usersOfRecord), ...deps.render.usersOfChat(chat, view)], view),
    };
    return records.length < ids.length ? { _: 'messages.messagesSlice', count: ids.length, ...body } : { _: 'messages.messages', ...body };
  };

  register(methods, deps, 'messages.getHistory', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    return historyOf(call, view, await chatOfPeer(deps, view.account, objectField(call, 'peer'), 'read'));
  });

  // Saved Messages' dialogs (layer 170 on), as Telegram splits it by where each message came
  // from: everything here is the account's own (a forward is a copy), so one, "my notes" (the
  // account itself), holding all of it; another peer's holds nothing.
  register(methods, deps, 'messages.getSavedDialogs', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const none = { _: 'messages.savedDialogs', dialogs: [], messages: [], chats: [], users: [] };
    const saved = await deps.directs.with(view.account, view.account.id);
    const offsetPeer = objectField(call, 'offset_peer');
    // One dialog: a page after it is empty.
    if (saved === undefined || intField(call, 'offset_id') > 0 || intField(call, 'offset_date') > 0 || (offsetPeer !== undefined && offsetPeer._ !== 'inputPeerEmpty')) return none;
    const top = await topOf(deps, await deps.box.chat(saved.address), (await deps.dialogSettings.of(view.account.id)).clearedUpTo[saved.address]);
    if (top === undefined) return none;
    return {
      _: 'messages.savedDialogs', dialogs: [{ _: 'savedDialog', peer: peerUser(view.account.id), top_message: top.id }],
      messages: [deps.render.message(top, view)], chats: [], users: await deps.render.users([view.account.id], view),
    };
  });

  register(methods, deps, 'messages.getSavedHistory', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const peer = objectField(call, 'peer');
    const mine = peer?._ === 'inputPeerSelf' || (peer?._ === 'inputPeerUser' && await userOfInput(deps, view.account, peer) === view.account.id);
    const saved = mine ? await deps.directs.with(view.account, view.account.id) : undefined;
    if (saved !== undefined) return historyOf(call, view, saved);
    // Another peer's (one the account may name; else PEER_ID_INVALID): nothing was saved from it.
    await chatOfPeer(deps, view.account, peer);
    return { _: 'messages.messages', messages: [], chats: [], users: [] };
  });

  /** The id of the message that `id` answers, if the account sees `id` (0: none). */
  const repliedTo = async (id: number, visible: ReadonlyMap<string, ChatInfo>, cleared: Readonly<Record<string, number>>): Promise<number> => {
    const record = id > 0 ? await deps.box.record(id) : undefined;
    if (record === undefined || !visible.has(record.chat) || record.id <= (cleared[record.chat] ?? 0)) return 0;
    return record.reply ?? 0;
  };

  register(methods, deps, 'messages.getMessages', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const visible = new Map((await chatsOfAccount(deps, view.account)).map((c) => [c.address, c]));
    const cleared = (await deps.dialogSettings.of(view.account.id)).clearedUpTo;
    const messages: TlObject[] = [];
    const users: bigint[] = [];
    const chats = new Set<ChatInfo>();
    for (const input of listField(call, 'id')) {
      const inner = typeof input === 'object' && !Array.isArray(input) && !(input instanceof Uint8Array) ? input as TlObject : undefined;
      // inputMessageReplyTo names the message that message `id` answers (gramjs' getReplyMessage and
      // Telethon's get_reply_message ask so). None: messageEmpty with the id asked about (gramjs
      // refuses a message of id 0).
      const asked = inner?._ === 'inputMessageID' || inner?._ === 'inputMessageReplyTo' ? intField(inner, 'id') : 0;
      const id = inner?._ === 'inputMessageReplyTo' ? await repliedTo(asked, visible, cleared) : asked;
      const record = id > 0 ? await deps.box.record(id) : undefined;
      const chat = record === undefined ? undefined : visible.get(record.chat);
      if (record === undefined || chat === undefined || record.id <= (cleared[record.chat] ?? 0)) {
        messages.push({ _: 'messageEmpty', id: id > 0 ? id : asked });
        continue;
      }
      await deps.pins.ready([chat.address]);
      messages.push(deps.render.message(record, view));
      users.push(...usersOfRecord(record), ...deps.render.usersOfChat(chat, view));
      chats.add(chat);
    }
    return { _: 'messages.messages', messages, chats: deps.render.chatObjects(chats, view), users: await deps.render.users(users, view) };
  });
}
