// updates.getState / updates.getDifference (core.telegram.org/api/updates): the account's pts
// and what it missed since a pts, read from the chat logs (pts.ts). Messages that are new in
// the range come once, as they are now, in new_messages; changes of older ones, deletions and
// read marks come in other_updates with their pts. No qts (no secret chats) and no seq (every
// update is pts-ordered or stateless).
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { ChatInfo } from '../directory.ts';
import { intField, register, usersOfRecord, viewOf, type ChatDeps } from './common.ts';

/** Entries per getDifference answer at most (the client asks again for the rest: differenceSlice). */
export const MAX_DIFFERENCE = 1_000;
const DEFAULT_DIFFERENCE = 500;

export function registerUpdates(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'updates.getState', 'user', async (_call, ctx) => {
    const view = viewOf(deps, ctx);
    return { _: 'updates.state', pts: await deps.pts.current(view.account), qts: 0, date: view.now, seq: 0, unread_count: 0 };
  });

  register(methods, deps, 'updates.getDifference', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const asked = intField(call, 'pts_total_limit');
    const limit = asked > 0 ? Math.min(asked, MAX_DIFFERENCE) : DEFAULT_DIFFERENCE;
    const diff = await deps.pts.difference(view.account, intField(call, 'pts'), limit);
    if (diff.type === 'empty') return { _: 'updates.differenceEmpty', date: view.now, seq: 0 };
    if (diff.type === 'tooLong') return { _: 'updates.differenceTooLong', pts: diff.pts };
    const created = new Set(diff.items.filter((i) => i.entry.k === 'new').map((i) => i.entry.m));
    const newMessages: TlObject[] = [];
    const others: TlObject[] = [];
    const users = new Set<bigint>();
    const chats = new Map<string, ChatInfo>();
    await deps.pins.ready(diff.items.map((i) => i.log.chat));
    for (const item of diff.items) {
      const { entry } = item;
      // A group the account was removed from too: its removal is among the entries, shown with the group as chatForbidden.
      const chat = deps.directory.knownChatOfAddress(item.log.chat) ?? deps.directs.chatOf(item.log.chat);
      if (chat !== undefined) chats.set(chat.address, chat);
      if (entry.k === 'read') {
        const update = deps.render.update(entry, undefined, item.log.chat, view, item.pts);
        if (update !== undefined) others.push(update);
        if (entry.u !== undefined) users.add(BigInt(entry.u));
        continue;
      }
      // A message new in this range is listed once, as it is now: its own later changes are in it.
      if (entry.k !== 'new' && created.has(entry.m)) continue;
      if (entry.k === 'del') {
        others.push({ _: 'updateDeleteMessages', messages: [entry.m], pts: item.pts, pts_count: 1 });
        continue;
      }
      const record = await deps.box.record(entry.m);
      if (record === undefined || record.deleted === true) continue;
      for (const u of usersOfRecord(record)) users.add(u);
      if (entry.k === 'new') newMessages.push(deps.render.message(record, view));
      else others.push({ _: 'updateEditMessage', message: deps.render.message(record, view), pts: item.pts, pts_count: 1 });
    }
    const state = { _: 'updates.state', pts: diff.pts, qts: 0, date: view.now, seq: 0, unread_count: 0 };
    const body = {
      new_messages: newMessages, new_encrypted_messages: [], other_updates: others,
      chats: deps.render.chatObjects(chats.values(), view),
      users: await deps.render.users([...users, ...[...chats.values()].flatMap((c) => deps.render.usersOfChat(c, view))], view),
    };
    return diff.final ? { _: 'updates.difference', ...body, state } : { _: 'updates.differenceSlice', ...body, intermediate_state: state };
  });
}
