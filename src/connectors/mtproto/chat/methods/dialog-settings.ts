// How an account arranges its chats on all its devices (chat/dialog-settings.ts): pinned chats
// (messages.toggleDialogPin, reorderPinnedDialogs, getPinnedDialogs), chats marked unread
// (messages.markDialogUnread, getDialogUnreadMarks; reading the chat takes the mark off) and
// notification settings (account.updateNotifySettings, getNotifySettings, resetNotifySettings),
// and the archive (folders.editPeerFolders, deleteFolder; getDialogs' folder 1).
// Each change is told to the account's other sessions; dialogs show all of it.
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { ARCHIVE_FOLDER, MAX_PINNED, peerNotifySettings, type NotifySettings } from '../dialog-settings.ts';

import type { Account, ChatInfo } from '../directory.ts';
import type { View } from '../render.ts';
import { badRequest, chatOfPeer, chatsSeenOf, intField, listField, objectField, register, updatesOf, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { peerDialogs } from './chats.ts';
import { dialogPeer, tellAccount, type OwnNews } from './own-news.ts';

/** Chats one folders.editPeerFolders moves at most (the news of it names as many). */
const MAX_FOLDER_PEERS = 100;

/** Notification defaults of a kind of chat, by the InputNotifyPeer that names them. */
const NOTIFY_KINDS: Readonly<Record<string, { key: string; peer: string }>> = {
  inputNotifyUsers: { key: 'users', peer: 'notifyUsers' },
  inputNotifyChats: { key: 'chats', peer: 'notifyChats' },
  inputNotifyBroadcasts: { key: 'broadcasts', peer: 'notifyBroadcasts' },
};

/** The conversation an InputDialogPeer names (folders are not served: PEER_ID_INVALID). */
async function chatOfDialogPeer(deps: ChatDeps, account: Account, input: TlObject | undefined): Promise<ChatInfo> {
  if (input?._ !== 'inputDialogPeer') throw badRequest('PEER_ID_INVALID');
  return chatOfPeer(deps, account, objectField(input, 'peer'));
}

const asObject = (v: unknown): TlObject | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v as TlObject : undefined);

/** A change that lost to other writers every time: the client tries again. */
const busy = () => new RpcError(420, 'FLOOD_WAIT_1');

/** Tells the account's other sessions (here and on other instances) of its change. */
function tell(deps: ChatDeps, ctx: ChatCallContext, view: View, news: Exclude<OwnNews, { kind: 'user' }>): Promise<void> {
  return tellAccount(deps, view.account, news, ctx.channel?.key);
}

/** Reading a chat takes its unread mark off (as on Telegram); the other sessions are told. */
export async function clearUnreadMark(deps: ChatDeps, ctx: ChatCallContext, account: Account, chat: ChatInfo): Promise<void> {
  if (!await deps.dialogSettings.markUnread(account.id, chat.address, false)) return;
  await tellAccount(deps, account, { kind: 'unread', account: String(account.id), chat: chat.address, unread: false }, ctx.channel?.key);
}

export function registerDialogSettings(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.toggleDialogPin', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfDialogPeer(deps, view.account, objectField(call, 'peer'));
    const pinned = call['pinned'] === true;
    const outcome = await deps.dialogSettings.pin(view.account.id, chat.address, pinned);
    if (outcome === 'too-many') throw badRequest('PINNED_DIALOGS_TOO_MUCH');
    if (outcome === 'busy') throw busy();
    await tell(deps, ctx, view, { kind: 'pin', account: String(view.account.id), chat: chat.address, pinned });
    return true;
  });

  register(methods, deps, 'messages.reorderPinnedDialogs', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    if (intField(call, 'folder_id') !== 0) throw badRequest('FOLDER_ID_INVALID');
    const order = listField(call, 'order');
    if (order.length > MAX_PINNED) throw badRequest('PINNED_DIALOGS_TOO_MUCH');
    const chats = await Promise.all(order.map((p) => chatOfDialogPeer(deps, view.account, asObject(p))));
    const outcome = await deps.dialogSettings.reorder(view.account.id, chats.map((c) => c.address), call['force'] === true);
    if (outcome === 'too-many') throw badRequest('PINNED_DIALOGS_TOO_MUCH');
    if (outcome === 'busy') throw busy();
    await tell(deps, ctx, view, { kind: 'pins', account: String(view.account.id) });
    return true;
  });

  // Folder 0 is the main list; the archive (1) has no pins here, and there are no other folders.
  register(methods, deps, 'messages.getPinnedDialogs', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const pinned = intField(call, 'folder_id') === 0 ? (await deps.dialogSettings.of(view.account.id)).pinned : [];
    return peerDialogs(deps, view, chatsSeenOf(deps, view.account, pinned));
  });

  // The archive (folder 1): chats moved there leave the main list, and come back with a new message
  // unless muted (dialog-settings.ts); archived, a chat is unpinned.
  const fileChats = async (ctx: ChatCallContext, view: View, moves: ReadonlyArray<{ chat: ChatInfo; folder: number }>) => {
    const before = await deps.dialogSettings.of(view.account.id);
    const marked = await Promise.all(moves.map(async ({ chat, folder }) => {
      if (folder === 0) return { address: chat.address, mark: undefined };
      const newest = (await deps.box.chat(chat.address)).newestMessageId();
      return { address: chat.address, mark: Math.max(1, newest) };
    }));
    if (!await deps.dialogSettings.fileChats(view.account.id, marked)) throw busy();
    await deps.archives.refresh(view.account.id);
    const chats = moves.map((m) => m.chat);
    await tell(deps, ctx, view, { kind: 'folders', account: String(view.account.id), chats: chats.map((c) => c.address) });
    if (moves.some((m) => m.folder !== 0 && before.pinned.includes(m.chat.address))) await tell(deps, ctx, view, { kind: 'pins', account: String(view.account.id) });
    const pts = await deps.pts.current(view.account);
    return updatesOf(deps, view, [{
      _: 'updateFolderPeers', folder_peers: moves.map(({ chat, folder }) => ({ _: 'folderPeer', peer: deps.render.peer(chat, view), folder_id: folder })), pts, pts_count: 0,
    }], [], chats);
  };

  register(methods, deps, 'folders.editPeerFolders', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const items = listField(call, 'folder_peers');
    if (items.length > MAX_FOLDER_PEERS) throw badRequest('LIMIT_INVALID');
    const moves: Array<{ chat: ChatInfo; folder: number }> = [];
    for (const item of items.map(asObject)) {
      if (item?._ !== 'inputFolderPeer') throw badRequest('PEER_ID_INVALID');
      const folder = intField(item, 'folder_id');
      if (folder !== 0 && folder !== ARCHIVE_FOLDER) throw badRequest('FOLDER_ID_INVALID');
      moves.push({ chat: await chatOfPeer(deps, view.account, objectField(item, 'peer')), folder });
    }
    return fileChats(ctx, view, moves);
  });

  // Older layers' "delete the archive": every chat in it back to the main list.
  register(methods, deps, 'folders.deleteFolder', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    if (intField(call, 'folder_id') !== ARCHIVE_FOLDER) throw badRequest('FOLDER_ID_INVALID');
    const archived = chatsSeenOf(deps, view.account, Object.keys((await deps.dialogSettings.of(view.account.id)).archived));
    return fileChats(ctx, view, archived.slice(0, MAX_FOLDER_PEERS).map((chat) => ({ chat, folder: 0 })));
  });

  register(methods, deps, 'messages.markDialogUnread', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfDialogPeer(deps, view.account, objectField(call, 'peer'));
    const unread = call['unread'] === true;
    if (await deps.dialogSettings.markUnread(view.account.id, chat.address, unread)) {
      await tell(deps, ctx, view, { kind: 'unread', account: String(view.account.id), chat: chat.address, unread });
    }
    return true;
  });

  register(methods, deps, 'messages.getDialogUnreadMarks', 'user', async (_call, ctx) => {
    const view = viewOf(deps, ctx);
    const chats = chatsSeenOf(deps, view.account, (await deps.dialogSettings.of(view.account.id)).unread);
    return chats.map((c) => dialogPeer(deps.render.peer(c, view)));
  });

  register(methods, deps, 'account.updateNotifySettings', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const target = await notifyTarget(deps, view.account, objectField(call, 'peer'));
    const input = objectField(call, 'settings');
    const mute = input === undefined ? 0 : intField(input, 'mute_until', -1);
    const settings: NotifySettings = {
      ...(mute >= 0 ? { muteUntil: mute } : {}),
      ...(typeof input?.['silent'] === 'boolean' ? { silent: input['silent'] } : {}),
      ...(typeof input?.['show_previews'] === 'boolean' ? { showPreviews: input['show_previews'] } : {}),
    };
    if (!await deps.dialogSettings.setNotify(view.account.id, target.key, settings)) throw busy();
    // A muted chat stays in the archive with new messages: the writer's copy follows.
    await deps.archives.refresh(view.account.id);
    await tell(deps, ctx, view, { kind: 'notify', account: String(view.account.id), key: target.key });
    return true;
  });

  register(methods, deps, 'account.getNotifySettings', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const target = await notifyTarget(deps, view.account, objectField(call, 'peer'));
    return peerNotifySettings((await deps.dialogSettings.of(view.account.id)).notify[target.key]);
  });

  // The chats whose notifications the account set apart (those it still sees), as the
  // updateNotifySettings an app lists on its exceptions screen; only one when `peer` names it.
  register(methods, deps, 'account.getNotifyExceptions', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const notify = (await deps.dialogSettings.of(view.account.id)).notify;
    const only = call['peer'] === undefined ? undefined : (await notifyTarget(deps, view.account, objectField(call, 'peer'))).key;
    const chats = chatsSeenOf(deps, view.account, Object.keys(notify).filter((key) => only === undefined || key === only));
    const updates = chats.map((c) => ({ _: 'updateNotifySettings', peer: { _: 'notifyPeer', peer: deps.render.peer(c, view) }, notify_settings: peerNotifySettings(notify[c.address]) }));
    return updatesOf(deps, view, updates, [], chats);
  });

  register(methods, deps, 'account.resetNotifySettings', 'user', async (_call, ctx) => {
    if (!await deps.dialogSettings.resetNotify(viewOf(deps, ctx).account.id)) throw busy();
    return true;
  });
}

/** Where notification settings apply: one chat (its address), or a kind of chat. */
async function notifyTarget(deps: ChatDeps, account: Account, input: TlObject | undefined): Promise<{ key: string; peer: string; chat?: ChatInfo }> {
  const kind = input === undefined ? undefined : NOTIFY_KINDS[input._];
  if (kind !== undefined) return kind;
  if (input?._ !== 'inputNotifyPeer') throw badRequest('PEER_ID_INVALID');
  const chat = await chatOfPeer(deps, account, objectField(input, 'peer'));
  return { key: chat.address, peer: 'notifyPeer', chat };
}
