// Messages, users, chats and updates as TL objects for one viewing account, in the client's
// layer. Built by constructor name (the layered codec picks that layer's ids and flags); where
// a field changed its TYPE between layers (reactions: a string until layer 144, a Reaction after)
// the schema of the client's layer decides which shape to build.
import type { TlObject } from '../tl/codec.ts';
import type { TlSchema } from '../tl/schema.ts';
import type { LogEntry } from './chat-log.ts';
import { DIRECT_ROOM_PREFIX, isDirectRoom } from '../../../core/direct.ts';
import { savedRoomOf, type DirectChats } from './direct-chats.ts';
import type { Account, ChatInfo, Directory } from './directory.ts';
import { spansToEntities } from './entities.ts';
import { playAttributes } from './media-attributes.ts';
import { replyMarkupOf, shownAsKeyboard, type Keyboard } from './keyboards.ts';
import type { Span } from '../../../core/event.ts';
import { mentions } from './unread-notices.ts';
import type { FileKeys } from './files.ts';
import type { MediaInfo, MessageRecord } from './message-box.ts';
import type { People, Person } from './people.ts';
import type { PresenceBook } from './presence.ts';
import type { ProfilePhotos } from './profile-photos.ts';
import type { AccountAvatars } from './account-avatars.ts';
import type { AccountProfiles } from './account-profiles.ts';
import type { StatusPrivacy } from './status-privacy.ts';
import type { PinnedIndex } from './pinned.ts';
import type { ContactLists } from './contact-lists.ts';
import { idsOfItem, type ScheduledItem } from './scheduled-queue.ts';
import { bannedRightsOf, CHAT_VERSION, isReadOnly } from './group-direction.ts';

/** Who looks, in which layer. */
export interface View {
  readonly account: Account;
  readonly schema: TlSchema;
  /** Unix seconds. */
  readonly now: number;
}

/** Whether a constructor of the viewer's layer has a parameter (fields that changed between layers). */
export function hasParam(schema: TlSchema, ctor: string, param: string): boolean {
  return schema.byName.get(ctor)?.params.some((p) => p.name === param) ?? false;
}

export const peerChat = (chatId: bigint | string): TlObject => ({ _: 'peerChat', chat_id: BigInt(chatId) });
export const peerUser = (userId: bigint | string): TlObject => ({ _: 'peerUser', user_id: BigInt(userId) });

export class Renderer {
  constructor(private readonly directory: Directory, private readonly people: People, private readonly keys: FileKeys,
    private readonly presence: PresenceBook, private readonly dcId: number, private readonly directs: DirectChats, private readonly photos?: ProfilePhotos, private readonly avatars?: AccountAvatars, private readonly profiles?: AccountProfiles, private readonly statusPrivacy?: StatusPrivacy, private readonly pins?: PinnedIndex, private readonly contacts?: Pick<ContactLists, 'contactOf'>) {}

  /** The Peer a conversation is for one account: the group, or the other party of a private chat. */
  peer(chat: ChatInfo, view: View): TlObject {
    return chat.direct !== undefined ? peerUser(this.directs.peerOf(chat, view.account.id)) : peerChat(chat.id);
  }

  /** The Peer of the conversation a log or message belongs to (its address: a chat id, or a `dm:` room key). */
  peerOfAddress(address: string, view: View): TlObject {
    const direct = isDirectRoom(address) ? this.directs.chatOf(address) : undefined;
    return direct !== undefined ? this.peer(direct, view) : peerChat(address);
  }

  /** The user a private chat shows one account (a group: none). */
  usersOfChat(chat: ChatInfo, view: View): bigint[] {
    return chat.direct !== undefined ? [this.directs.peerOf(chat, view.account.id)] : [];
  }

  /** Chat objects of the groups among `chats` (private chats have none: their peer is a user). */
  chatObjects(chats: Iterable<ChatInfo>, view: View): TlObject[] {
    return [...chats].flatMap((c) => (c.direct === undefined ? [this.chatObject(c, view)] : []));
  }

  userObject(person: Person, view: View): TlObject {
    const photo = this.photoOfPerson(person);
    const shown = photo !== undefined ? { photo: this.userProfilePhoto(photo) } : {};
    const id = person.kind === 'account' ? person.account.id : person.puppet.id;
    // A contact of the viewer's shows to it under the name it saved, as on Telegram.
    const contact = id === view.account.id ? undefined : this.contacts?.contactOf(view.account.id, id);
    const saved = contact === undefined ? {} : { contact: true, first_name: contact.first, ...(contact.last !== '' ? { last_name: contact.last } : { last_name: undefined }) };
    if (person.kind === 'account') {
      const a = this.profiles?.shown(person.account) ?? person.account;
      const self = a.id === view.account.id;
      return {
        _: 'user', id: a.id, access_hash: this.keys.peerHash('user', String(a.id)), self, bot: a.bot,
        first_name: a.firstName, ...(a.lastName !== undefined ? { last_name: a.lastName } : {}), ...saved,
        ...(contact !== undefined && this.contacts?.contactOf(a.id, view.account.id) !== undefined ? { mutual_contact: true } : {}),
        ...(a.username !== undefined ? { username: a.username } : {}),
        // Its own number, and a number the viewer found it by (importContacts): it knows that one.
        ...(self && a.phone !== undefined ? { phone: a.phone } : contact?.phone !== undefined ? { phone: contact.phone } : {}),
        ...(a.bot ? { bot_info_version: 1, bot_nochats: true } : { status: this.statusPrivacy?.shows(a.id, view.account.id) === false ? { _: 'userStatusRecently' } : this.presence.statusOf(a.id, view.now) }),
        ...shown,
      };
    }
    const p = person.puppet;
    return { _: 'user', id: p.id, access_hash: this.keys.peerHash('user', String(p.id)), first_name: p.name, ...saved, status: this.presence.statusOf(p.id, view.now), ...shown };
  }

  /** The profile photo a user shows now, if any (a fetched avatar: see profile-photos.ts). */
  async profilePhotoOf(userId: bigint): Promise<MediaInfo | undefined> {
    const person = await this.people.person(userId);
    return person === undefined ? undefined : this.photoOfPerson(person);
  }

  /** A person of another network: their avatar; an account: the photo it set, else the one identities.yaml gives its person. */
  private photoOfPerson(person: Person): MediaInfo | undefined {
    if (person.kind === 'account') return this.avatars?.of(person.account.id) ?? this.photos?.photoOf(this.people.avatarOfAccount(person.account));
    return this.photos?.photoOf(person.puppet.avatar);
  }

  /** The users among `ids` that exist (unknown ids are left out). */
  async users(ids: Iterable<bigint>, view: View): Promise<TlObject[]> {
    const out: TlObject[] = [];
    for (const id of new Set(ids)) {
      const person = await this.people.person(id);
      if (person !== undefined) out.push(this.userObject(person, view));
      // Its messages stay in the groups' history: their sender shows as Telegram shows a deleted account (no name, "Deleted Account").
      else if (this.directory.wasRemoved(id)) out.push({ _: 'user', id, access_hash: this.keys.peerHash('user', String(id)), deleted: true });
    }
    return out;
  }

  chatObject(chat: ChatInfo, view: View): TlObject {
    // A group no longer linked is one the viewer was removed from: Telegram shows such a group so.
    if (!this.directory.isLinked(chat)) return { _: 'chatForbidden', id: chat.id, title: chat.title };
    const member = this.directory.mayUse(view.account, chat);
    const readOnly = isReadOnly(this.directory, chat);
    return {
      _: 'chat', id: chat.id, title: chat.title, photo: { _: 'chatPhotoEmpty' },
      participants_count: this.directory.membersOf(chat).length, date: 0, version: CHAT_VERSION,
      ...(member ? {} : { left: true }),
      // A moderator account is the group's admin with two rights: deleting messages (apps then offer
      // to delete others' messages for everyone) and changing its info, of which only the
      // description is an admin's here (the room's topic; the title and photo stay refused). Not in
      // a read-only group: nobody writes there (apps let an admin write past the default rights).
      ...(member && view.account.moderator === true && !readOnly ? { admin_rights: { _: 'chatAdminRights', change_info: true, delete_messages: true } } : {}),
      // Bridged receive-only: writing is taken from everyone (group-direction.ts), and apps grey the input.
      ...bannedRightsOf(this.directory, chat),
    };
  }

  message(record: MessageRecord, view: View): TlObject {
    const peer = this.peerOfAddress(record.chat, view);
    if (record.deleted === true) return { _: 'messageEmpty', id: record.id, peer_id: peer };
    if (record.service !== undefined) return { _: 'messageService', id: record.id, peer_id: peer, date: record.date, action: this.#action(record, view) };
    const from = BigInt(record.from);
    const shown = shownText(record);
    const entities = this.#entities(shown);
    const mentioned = mentions(record, this.people.userRef(view.account.id), String(view.account.id));
    // A selective reply keyboard shows to the users the message mentions and to the sender of the message it answers.
    const targeted = (k: Keyboard) => k.reply?.selective !== true || mentioned || k.reply.to === String(view.account.id);
    const keyboard = shownAsKeyboard(record.keyboard) && targeted(record.keyboard) ? record.keyboard : undefined;
    return {
      _: 'message', id: record.id, out: from === view.account.id, from_id: peerUser(from), peer_id: peer, date: record.date,
      message: shown.text, mentioned,
      ...(entities.length > 0 ? { entities } : {}),
      ...(record.reply !== undefined ? { reply_to: { _: 'messageReplyHeader', reply_to_msg_id: record.reply } } : {}),
      ...(record.media !== undefined ? { media: this.media(record) } : {}),
      ...(record.group !== undefined ? { grouped_id: BigInt(record.group) } : {}),
      ...(record.edited !== undefined ? { edit_date: record.edited } : {}),
      ...(this.pins?.has(record.chat, record.id) === true ? { pinned: true } : {}),
      ...(record.scheduled === true ? { from_scheduled: true } : {}),
      // In the viewer's Saved Messages: its "my notes" dialog (layer 170 on; chats.ts getSavedDialogs).
      ...(record.chat.startsWith(DIRECT_ROOM_PREFIX) && record.chat === savedRoomOf(view.account.id) ? { saved_peer_id: peerUser(view.account.id) } : {}),
      ...(keyboard !== undefined ? { reply_markup: replyMarkupOf(keyboard) } : {}),
      ...(record.reactions !== undefined && Object.keys(record.reactions).length > 0 ? { reactions: this.reactions(record, view) } : {}),
    };
  }

  /** What a service message says, as Telegram says it of a basic group (no one did it: no from_id). */
  #action(record: MessageRecord, view: View): TlObject {
    const users = (record.users ?? []).map((u) => BigInt(u));
    switch (record.service) {
      case 'join': return { _: 'messageActionChatAddUser', users };
      // A group unlinked removes all its members with one message: each sees its own removal.
      case 'leave': return { _: 'messageActionChatDeleteUser', user_id: users.includes(view.account.id) ? view.account.id : users[0] ?? 0n };
      case 'title': return { _: 'messageActionChatEditTitle', title: record.title ?? '' };
      default: {
        const chat = this.directory.knownChatOfAddress(record.chat);
        const members = chat === undefined ? [] : this.directory.membersOf(chat).map((a) => a.id);
        return { _: 'messageActionChatCreate', title: chat?.title ?? '', users: members };
      }
    }
  }

  /**
   * A queued item (scheduled-queue.ts) as clients show it in the chat's schedule: the account's
   * own messages, dated when they are to go; an album one message a file (grouped), its caption
   * on the first.
   */
  scheduled(item: ScheduledItem, account: bigint, view: View): TlObject[] {
    const files = item.files ?? [];
    const group = files.length > 1 ? { group: String(BigInt(item.made) * 1_000_000n + BigInt(item.id)) } : {};
    return idsOfItem(item).map((id, k) => {
      const record: MessageRecord = {
        id, chat: item.chat, ev: '', from: String(account), date: item.at, text: k === 0 ? item.text : '',
        ...(k === 0 && item.spans !== undefined ? { spans: item.spans } : {}), ...(item.reply !== undefined ? { reply: item.reply } : {}),
        ...(files[k] !== undefined ? { media: files[k] } : {}), ...group, ...(item.edited !== undefined ? { edited: item.edited } : {}),
      };
      // Its id is the queue's, not the chat's: what the chat's message of that id has (a pin) is not its.
      const message = { ...this.message(record, view) };
      delete message['pinned'];
      return message;
    });
  }

  /** The UserProfilePhoto a user object shows for `photo` (none: userProfilePhotoEmpty). */
  userProfilePhoto(photo: MediaInfo | undefined): TlObject {
    return photo === undefined ? { _: 'userProfilePhotoEmpty' } : { _: 'userProfilePhoto', photo_id: BigInt(photo.file), dc_id: this.dcId };
  }

  /** A message's formatting as MTProto entities (none: empty), of its text as shown (shownText). */
  entitiesOf(record: MessageRecord): TlObject[] {
    return this.#entities(shownText(record));
  }

  #entities({ text, spans }: { text: string; spans: readonly Span[] | undefined }): TlObject[] {
    return spans === undefined ? [] : spansToEntities(text, spans, this.people);
  }

  media(record: MessageRecord): TlObject {
    const m = record.media!;
    if (m.kind === 'photo' && m.w !== undefined && m.h !== undefined) return { _: 'messageMediaPhoto', photo: this.photo(m, record.date) };
    const common = { id: BigInt(m.file), access_hash: this.keys.accessHash(m.file), file_reference: new Uint8Array(0), date: record.date, dc_id: this.dcId };
    return {
      _: 'messageMediaDocument',
      document: { _: 'document', ...common, mime_type: m.mime, size: m.size, attributes: [{ _: 'documentAttributeFilename', file_name: m.name }, ...playAttributes(m)] },
    };
  }

  /** A stored image as a `photo` (one size: the image as stored), dated `date`. */
  photo(m: MediaInfo, date: number): TlObject {
    return {
      _: 'photo', id: BigInt(m.file), access_hash: this.keys.accessHash(m.file), file_reference: new Uint8Array(0), date, dc_id: this.dcId,
      sizes: [{ _: 'photoSize', type: 'y', w: m.w ?? 0, h: m.h ?? 0, size: m.size }],
    };
  }

  reactions(record: MessageRecord, view: View): TlObject {
    const modern = hasParam(view.schema, 'reactionCount', 'chosen_order');
    const mine = record.reactions?.[String(view.account.id)] ?? [];
    const counts = new Map<string, number>();
    for (const set of Object.values(record.reactions ?? {})) for (const emoji of set) counts.set(emoji, (counts.get(emoji) ?? 0) + 1);
    const results = [...counts].map(([emoji, count]) => {
      const chosen = mine.indexOf(emoji);
      return modern
        ? { _: 'reactionCount', reaction: { _: 'reactionEmoji', emoticon: emoji }, count, ...(chosen >= 0 ? { chosen_order: chosen } : {}) }
        : { _: 'reactionCount', reaction: emoji, count, chosen: chosen >= 0 };
    });
    const recent = this.peerReactions(record, view);
    return { _: 'messageReactions', can_see_list: true, results, ...(recent.length <= 50 ? { recent_reactions: recent } : {}) };
  }

  /** Who reacted with what on a message (messagePeerReaction: one per user and emoji), in the viewer's layer. */
  peerReactions(record: MessageRecord, view: View): TlObject[] {
    const modern = hasParam(view.schema, 'reactionCount', 'chosen_order');
    const me = String(view.account.id);
    return Object.entries(record.reactions ?? {}).flatMap(([user, set]) => set.map((emoji) => ({
      _: 'messagePeerReaction', peer_id: peerUser(user), date: record.date, my: user === me,
      reaction: modern ? { _: 'reactionEmoji', emoticon: emoji } : emoji,
    })));
  }

  /** The update an entry is for one account, with that account's pts after it. */
  update(entry: LogEntry, record: MessageRecord | undefined, chat: string, view: View, pts: number): TlObject | undefined {
    const counts = { pts, pts_count: 1 };
    switch (entry.k) {
      case 'new':
        return record === undefined ? undefined : { _: 'updateNewMessage', message: this.message(record, view), ...counts };
      case 'edit':
      case 'react':
        return record === undefined ? undefined : { _: 'updateEditMessage', message: this.message(record, view), ...counts };
      case 'del':
        return { _: 'updateDeleteMessages', messages: [entry.m], ...counts };
      case 'read': {
        const peer = this.peerOfAddress(chat, view);
        return entry.u === String(view.account.id)
          ? { _: 'updateReadHistoryInbox', peer, max_id: entry.m, still_unread_count: 0, ...counts }
          : { _: 'updateReadHistoryOutbox', peer, max_id: entry.m, ...counts };
      }
    }
  }
}

/**
 * A message's text and spans as MTProto clients see them: with a bot's keyboard (keyboards.ts),
 * the text before the button lines every other network gets, and the spans within it.
 */
export function shownText(record: MessageRecord): { text: string; spans: readonly Span[] | undefined } {
  if (!shownAsKeyboard(record.keyboard)) return { text: record.text, spans: record.spans };
  const at = Math.min(record.keyboard.at, record.text.length);
  return { text: record.text.slice(0, at), spans: record.spans?.filter((s) => s.offset + s.length <= at) };
}
