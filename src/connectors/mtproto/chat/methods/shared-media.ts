// Where a chat's photos, videos, files, links... are, for an app's shared-media views, with the
// filters messages.search takes: messages.getSearchResultsCalendar (how many a day, newest day
// first, with each day's newest message) and messages.getSearchResultsPositions (sparse positions
// for a scrollbar: every n-th match's id, date and place). Both look at the chat's newest
// MAX_SEARCH_READS messages, as getSearchCounters does; past them the calendar says `inexact`.
import type { MethodRegistry } from '../../api/registry.ts';
import type { MessageRecord } from '../message-box.ts';
import { badRequest, chatOfPeer, intField, objectField, register, usersOfRecord, viewOf, type ChatDeps } from './common.ts';
import { filteredIn } from './search.ts';

/** Days one calendar answer lists at most (the client asks on from the oldest for more). */
export const MAX_CALENDAR_DAYS = 100;
/** Positions one answer gives at most. */
export const MAX_POSITIONS = 100;
const DAY = 86_400;

export function registerSharedMedia(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getSearchResultsCalendar', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    if (call['saved_peer_id'] !== undefined) throw badRequest('PEER_ID_INVALID');
    const { found, inexact } = await filteredIn(deps, view, chat, objectField(call, 'filter'));
    const offsetId = intField(call, 'offset_id');
    const offsetDate = intField(call, 'offset_date');
    const older = found.filter((r) => (offsetId <= 0 || r.id < offsetId) && (offsetDate <= 0 || r.date < offsetDate));
    const days: Array<{ date: number; records: MessageRecord[] }> = [];
    for (const r of older) {
      const date = r.date - (r.date % DAY);
      if (days.at(-1)?.date !== date) {
        if (days.length === MAX_CALENDAR_DAYS) break;
        days.push({ date, records: [] });
      }
      days.at(-1)!.records.push(r);
    }
    const newest = days.map((d) => d.records[0]!);
    await deps.pins.ready([chat.address]);
    const oldest = found.at(-1);
    return {
      _: 'messages.searchResultsCalendar', ...(inexact ? { inexact: true } : {}), count: found.length,
      min_date: oldest?.date ?? 0, min_msg_id: oldest?.id ?? 0,
      ...(offsetId > 0 || offsetDate > 0 ? { offset_id_offset: found.length - older.length } : {}),
      periods: days.map((d) => ({ _: 'searchResultsCalendarPeriod', date: d.date, min_msg_id: d.records.at(-1)!.id, max_msg_id: d.records[0]!.id, count: d.records.length })),
      messages: newest.map((r) => deps.render.message(r, view)),
      chats: deps.render.chatObjects([chat], view),
      users: await deps.render.users([...newest.flatMap(usersOfRecord), ...deps.render.usersOfChat(chat, view)], view),
    };
  });

  register(methods, deps, 'messages.getSearchResultsPositions', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    if (call['saved_peer_id'] !== undefined) throw badRequest('PEER_ID_INVALID');
    const limit = intField(call, 'limit');
    if (limit <= 0 || limit > MAX_POSITIONS) throw badRequest('LIMIT_INVALID');
    const { found } = await filteredIn(deps, view, chat, objectField(call, 'filter'));
    const offsetId = intField(call, 'offset_id');
    const from = offsetId > 0 ? found.findIndex((r) => r.id < offsetId) : 0;
    const positions = [];
    if (from >= 0) {
      // Spread over what is left, so that `limit` positions reach the oldest.
      const step = Math.max(1, Math.ceil((found.length - from) / limit));
      for (let i = from; i < found.length && positions.length < limit; i += step) {
        positions.push({ _: 'searchResultPosition', msg_id: found[i]!.id, date: found[i]!.date, offset: i });
      }
    }
    return { _: 'messages.searchResultsPositions', count: found.length, positions };
  });
}
