// The account's unread mentions (chat/mentions.ts): messages.getUnreadMentions pages them like
// history, messages.readMentions marks them read (the chat's mark of its mentions, kept with its
// other dialog settings); dialogs count them (unread_mentions_count) and messages carry `mentioned`.
import type { MethodRegistry } from '../../api/registry.ts';
import { unreadMentionsIn } from '../mentions.ts';
import { chatOfPeer, intField, objectField, register, usersOfRecord, viewOf, type ChatDeps } from './common.ts';
import { readInboxOf } from './chats.ts';

const MAX_PAGE = 100;

export function registerMentions(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getUnreadMentions', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const [inbox, settings, log] = await Promise.all([readInboxOf(deps, view.account, chat), deps.dialogSettings.of(view.account.id), deps.box.chat(chat.address)]);
    const all = await unreadMentionsIn(deps.box, log, Math.max(inbox, settings.mentionsRead[chat.address] ?? 0), deps.people.userRef(view.account.id), String(view.account.id));
    // Paged like history: newest first from offset_id, shifted by add_offset, within max_id / min_id.
    const offsetId = intField(call, 'offset_id');
    const maxId = intField(call, 'max_id');
    const minId = intField(call, 'min_id');
    const limitIn = intField(call, 'limit');
    const limit = limitIn <= 0 ? 20 : Math.min(limitIn, MAX_PAGE);
    let start = offsetId > 0 ? all.findIndex((r) => r.id < offsetId) : 0;
    if (start < 0) start = all.length;
    start = Math.max(0, start + intField(call, 'add_offset'));
    const page = all.slice(start, start + limit).filter((r) => (maxId <= 0 || r.id < maxId) && (minId <= 0 || r.id > minId));
    return {
      _: 'messages.messagesSlice', count: all.length,
      messages: page.map((r) => deps.render.message(r, view)),
      chats: deps.render.chatObjects([chat], view),
      users: await deps.render.users([...page.flatMap(usersOfRecord), ...deps.render.usersOfChat(chat, view)], view),
    };
  });

  // Every mention of the chat so far is read (up to its newest message); pts does not move.
  register(methods, deps, 'messages.readMentions', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const newest = (await deps.box.chat(chat.address)).messageIds().at(-1) ?? 0;
    if (newest > 0) await deps.dialogSettings.readMentions(view.account.id, chat.address, newest);
    return { _: 'messages.affectedHistory', pts: await deps.pts.current(view.account), pts_count: 0, offset: 0 };
  });
}
