// What an account changed for itself (its name or photo, a draft, a pin, an unread mark, a
// notification setting) is pushed to its sessions on this instance at once (here, and
// announce-user.ts for names and photos), and told to the other instances of the deployment as a note (the bus's
// notes, best effort), so that its sessions there are told at once too: each instance rebuilds
// the same updates from the state, which already holds the change. Without notes (one instance),
// or when one is lost, those sessions see the change when they next ask.
import { z } from 'zod';
import type { Stoppable } from '../../../../bus/types.ts';
import { ARCHIVE_FOLDER, isArchived, peerNotifySettings } from '../dialog-settings.ts';
import type { Account, ChatInfo } from '../directory.ts';
import type { View } from '../render.ts';
import type { TlObject } from '../../tl/codec.ts';
import { chatsSeenOf, viewAt, type ChatDeps } from './common.ts';
import { draftObject } from '../drafts.ts';
import { statusRules } from '../status-privacy.ts';
import { peerSettingsOf } from '../contact-lists.ts';
import { idsOfItem } from '../scheduled-queue.ts';

export const OWN_NEWS_CHANNEL = 'mtproto-own';

/** Message ids a cleared chat's update names at most (the newest up to the clear). */
export const CLEARED_TOLD = 1000;

const NewsSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('user'), account: z.string().regex(/^\d{1,20}$/), change: z.enum(['name', 'photo']) }),
  z.object({ kind: z.literal('draft'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512) }),
  z.object({ kind: z.literal('pin'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512), pinned: z.boolean() }),
  z.object({ kind: z.literal('pins'), account: z.string().regex(/^\d{1,20}$/) }),
  z.object({ kind: z.literal('unread'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512), unread: z.boolean() }),
  z.object({ kind: z.literal('notify'), account: z.string().regex(/^\d{1,20}$/), key: z.string().max(512) }),
  // A chat the account cleared for itself (messages.deleteHistory): its sessions drop those messages.
  z.object({ kind: z.literal('cleared'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512) }),
  // Messages pinned or unpinned in a chat the account sees (pins.ts): its clients' pinned bar follows.
  z.object({ kind: z.literal('pinned'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512), messages: z.array(z.number().int().positive()).min(1).max(100), pinned: z.boolean() }),
  // A user the account blocked or unblocked (blocking.ts): its list here is read again, its sessions told.
  z.object({ kind: z.literal('blocked'), account: z.string().regex(/^\d{1,20}$/), user: z.string().regex(/^\d{1,20}$/), blocked: z.boolean() }),
  // Contacts the account added, renamed or removed, or a bar it dismissed (contact-list.ts): its list here is read again, its sessions told.
  z.object({ kind: z.literal('contacts'), account: z.string().regex(/^\d{1,20}$/), users: z.array(z.string().regex(/^\d{1,20}$/)).min(1).max(200) }),
  // Who sees the account's status changed (privacy.ts): its rule here is read again, its sessions told.
  z.object({ kind: z.literal('privacy'), account: z.string().regex(/^\d{1,20}$/) }),
  // Messages the account queued, changed in or took out of a chat's schedule (scheduled.ts): its
  // sessions are shown the queue's change (`sent`: the messages those taken out became), and the
  // scheduler reads the queue again.
  z.object({
    kind: z.literal('scheduled'), account: z.string().regex(/^\d{1,20}$/), chat: z.string().max(512),
    // At most 100 items of a call, an album 10 messages each.
    ids: z.array(z.number().int().positive()).max(1000), gone: z.array(z.number().int().positive()).max(1000), sent: z.array(z.number().int().positive()).max(1000),
  }),
  // Chats the account moved to or from its archive (dialog-settings.ts): its sessions are shown where each is now.
  z.object({ kind: z.literal('folders'), account: z.string().regex(/^\d{1,20}$/), chats: z.array(z.string().max(512)).min(1).max(100) }),
  // A session the account ended (sessions.ts): the login cached here goes, and its updates stop.
  z.object({ kind: z.literal('logout'), account: z.string().regex(/^\d{1,20}$/), key: z.string().regex(/^[0-9a-f]{16}$/) }),
]);
export type OwnNews = z.infer<typeof NewsSchema>;

/** Tells the other instances (best effort: a failure is logged, the change stands). */
export function tellOtherInstances(deps: ChatDeps, news: OwnNews): void {
  deps.bus.notes?.publish(OWN_NEWS_CHANNEL, JSON.stringify(news)).catch((err: unknown) => {
    deps.logger.warn({ err, kind: news.kind }, 'mtproto: could not tell the other instances of an account\'s change (their sessions see it when they ask)');
  });
}

export const dialogPeer = (peer: TlObject): TlObject => ({ _: 'dialogPeer', peer });

/** Pushes `updatesAt(view)` (built per layer) with `userIds` and the users and chats of `chats` to the account's sessions here but `skipSession`. */
async function tellOwnSessions(deps: ChatDeps, account: Account, chats: readonly ChatInfo[], view: View, updatesAt: (at: View) => TlObject[], skipSession: string | undefined, userIds: readonly bigint[] = []): Promise<void> {
  if (!deps.live.reaches(account.id, skipSession)) return;
  // A private chat's peer is a user: the update carries it (a user object reads the same in every layer).
  const users = await deps.render.users([...userIds, ...chats.flatMap((c) => deps.render.usersOfChat(c, view))], view);
  deps.live.push(account.id, (layer) => {
    const at = viewAt(deps, account, layer);
    return { _: 'updates', updates: updatesAt(at), users, chats: deps.render.chatObjects(chats, at), date: at.now, seq: 0 };
  }, skipSession);
}


/**
 * The updates that tell an account's sessions of a change of its own (not a user change: those
 * are announceUser's), built from the state as it is now, so the instance that made the change
 * and the instances a note reaches tell the same. Undefined when there is nothing to tell (the
 * chat is one the account no longer sees).
 */
async function newsUpdates(deps: ChatDeps, account: Account, news: Exclude<OwnNews, { kind: 'user' }>): Promise<{ chats: ChatInfo[]; users?: bigint[]; updatesAt: (at: View) => TlObject[] } | undefined> {
  const one = (address: string) => chatsSeenOf(deps, account, [address]);
  switch (news.kind) {
    case 'draft': {
      const chats = one(news.chat);
      const draft = (await deps.drafts.of(account.id))[news.chat];
      return { chats, updatesAt: (at) => chats.map((c) => ({ _: 'updateDraftMessage', peer: deps.render.peer(c, at), draft: draftObject(deps, draft, at) })) };
    }
    case 'pin': {
      const chats = one(news.chat);
      const pinned = news.pinned;
      return { chats, updatesAt: (at) => chats.map((c) => ({ _: 'updateDialogPinned', pinned, peer: dialogPeer(deps.render.peer(c, at)) })) };
    }
    case 'pins': {
      const chats = chatsSeenOf(deps, account, (await deps.dialogSettings.of(account.id)).pinned);
      return { chats, updatesAt: (at) => [{ _: 'updatePinnedDialogs', order: chats.map((c) => dialogPeer(deps.render.peer(c, at))) }] };
    }
    case 'unread': {
      const chats = one(news.chat);
      const unread = news.unread;
      return { chats, updatesAt: (at) => chats.map((c) => ({ _: 'updateDialogUnreadMark', unread, peer: dialogPeer(deps.render.peer(c, at)) })) };
    }
    case 'logout': return undefined;
    case 'folders': {
      const chats = chatsSeenOf(deps, account, news.chats);
      const settings = await deps.dialogSettings.of(account.id);
      const now = Math.floor(Date.now() / 1000);
      const folders = await Promise.all(chats.map(async (c) => (isArchived(settings, c.address, (await deps.box.chat(c.address)).newestMessageId(), now) ? ARCHIVE_FOLDER : 0)));
      const pts = await deps.pts.current(account);
      return { chats, updatesAt: (at) => [{ _: 'updateFolderPeers', folder_peers: chats.map((c, i) => ({ _: 'folderPeer', peer: deps.render.peer(c, at), folder_id: folders[i] })), pts, pts_count: 0 }] };
    }
    case 'scheduled': {
      const chats = one(news.chat);
      const queued = (await deps.scheduled.list(account.id, news.chat)).filter((i) => idsOfItem(i).some((id) => news.ids.includes(id)));
      const { gone, sent } = news;
      return {
        chats, updatesAt: (at) => chats.flatMap((c) => [
          ...queued.flatMap((item) => deps.render.scheduled(item, account.id, at).map((message) => ({ _: 'updateNewScheduledMessage', message }))),
          ...(gone.length > 0 ? [{ _: 'updateDeleteScheduledMessages', peer: deps.render.peer(c, at), messages: gone, ...(sent.length > 0 ? { sent_messages: sent } : {}) }] : []),
        ]),
      };
    }
    case 'pinned': {
      // No pts moves (pins are the chat's, not in its log): pts_count 0 at the account's pts.
      const chats = one(news.chat);
      const pts = await deps.pts.current(account);
      const { messages, pinned } = news;
      return { chats, updatesAt: (at) => chats.map((c) => ({ _: 'updatePinnedMessages', pinned, peer: deps.render.peer(c, at), messages, pts, pts_count: 0 })) };
    }
    case 'privacy': {
      const rules = statusRules(deps.statusPrivacy.ruleOf(account.id));
      return { chats: [], updatesAt: () => [{ _: 'updatePrivacy', key: { _: 'privacyKeyStatusTimestamp' }, rules }] };
    }
    case 'contacts': {
      // The users as the account sees them now (a contact, its saved name, or neither again).
      const users = news.users.map(BigInt);
      return { chats: [], users, updatesAt: () => users.map((id) => ({ _: 'updatePeerSettings', peer: { _: 'peerUser', user_id: id }, settings: peerSettingsOf(deps.contacts, deps.directory, account.id, id) })) };
    }
    case 'blocked': {
      const blocked = news.blocked;
      return { chats: [], updatesAt: () => [{ _: 'updatePeerBlocked', blocked, peer_id: { _: 'peerUser', user_id: BigInt(news.user) } }] };
    }
    case 'cleared': {
      // What the clear hid, newest first (at most CLEARED_TOLD: a client holds the newest of a chat);
      // no pts moves (a clear is the account's alone), so pts_count 0 at its pts as it is.
      const chats = one(news.chat);
      const upTo = (await deps.dialogSettings.of(account.id)).clearedUpTo[news.chat];
      if (chats.length === 0 || upTo === undefined) return undefined;
      const ids = (await deps.box.chat(news.chat)).messageIds().filter((id) => id <= upTo).slice(-CLEARED_TOLD);
      const pts = await deps.pts.current(account);
      return { chats, updatesAt: () => [{ _: 'updateDeleteMessages', messages: ids, pts, pts_count: 0 }] };
    }
    case 'notify': {
      const settings = peerNotifySettings((await deps.dialogSettings.of(account.id)).notify[news.key]);
      const kind = ({ users: 'notifyUsers', chats: 'notifyChats', broadcasts: 'notifyBroadcasts' } as Record<string, string>)[news.key];
      const chats = kind === undefined ? one(news.key) : [];
      if (kind === undefined && chats.length === 0) return undefined;
      return {
        chats, updatesAt: (at) => [{
          _: 'updateNotifySettings', peer: kind !== undefined ? { _: kind } : { _: 'notifyPeer', peer: deps.render.peer(chats[0]!, at) }, notify_settings: settings,
        }],
      };
    }
  }
}

/** Pushes the updates of `news` to the account's sessions here but `skipSession`. */
async function pushNews(deps: ChatDeps, account: Account, news: Exclude<OwnNews, { kind: 'user' }>, skipSession: string | undefined): Promise<void> {
  if (!deps.live.reaches(account.id, skipSession)) return;
  const built = await newsUpdates(deps, account, news);
  if (built !== undefined) await tellOwnSessions(deps, account, built.chats, viewAt(deps, account, 0), built.updatesAt, skipSession, built.users);
}

/**
 * Tells the account's other sessions of a change it made for itself: those here but the calling
 * one (it has the answer), and those on the other instances through a note.
 */
export async function tellAccount(deps: ChatDeps, account: Account, news: Exclude<OwnNews, { kind: 'user' }>, skipSession: string | undefined): Promise<void> {
  tellOtherInstances(deps, news);
  await pushNews(deps, account, news, skipSession);
}

/** What another instance told: the same updates its sessions got, to the sessions here (not told back). */
export async function onNews(deps: ChatDeps, raw: string, announce: (account: Account, change: 'name' | 'photo') => Promise<void>): Promise<void> {
  let news: OwnNews;
  try {
    news = NewsSchema.parse(JSON.parse(raw));
  } catch {
    deps.logger.warn('mtproto: a note from another instance that is no account change, dropped');
    return;
  }
  const account = deps.directory.account(BigInt(news.account));
  if (account === undefined) return;
  if (news.kind === 'logout') {
    deps.authorizations.forget(news.key);
    deps.live.dropAuthKey(news.key);
    return;
  }
  if (news.kind === 'blocked') await deps.blocked.refresh(account.id);
  if (news.kind === 'privacy') await deps.statusPrivacy.refresh(account.id);
  if (news.kind === 'contacts') await deps.contacts.refresh(account.id);
  if (news.kind === 'pinned') await deps.pins.refresh(news.chat);
  if (news.kind === 'scheduled') deps.scheduled.changed(account.id);
  if (news.kind === 'folders' || news.kind === 'notify') await deps.archives.refresh(account.id);
  if (news.kind !== 'user') return pushNews(deps, account, news, undefined);
  // The copy here may be up to 30 s old: read it now, then tell as the other instance did.
  await Promise.all([deps.profiles.fresh(account.id), deps.avatars.fresh(account.id)]);
  return announce(account, news.change);
}

/** Follows the other instances' notes; undefined without notes (one instance). */
export function followNews(deps: ChatDeps, announce: (account: Account, change: 'name' | 'photo') => Promise<void>): Stoppable | undefined {
  return deps.bus.notes?.subscribe(OWN_NEWS_CHANNEL, (raw) => {
    onNews(deps, raw, announce).catch((err: unknown) => deps.logger.warn({ err }, 'mtproto: telling the sessions here of another instance\'s account change failed'));
  });
}
