// messages.search: the messages of a conversation (or, with inputPeerEmpty, of all the account's
// groups and private chats) that contain a text, come from a user, or hold a kind of file; newest
// first, paged like messages.getHistory. What is searched is what the chat logs hold (the newest
// `historyPerChat` messages of each chat). A call reads at most MAX_SEARCH_READS messages: a
// search that has not found its page by then answers what it found as a slice, and the client
// goes on from the last message it got (offset_id), as it pages anyway.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import { shownText, type View } from '../render.ts';
import type { ChatInfo } from '../directory.ts';
import type { MessageRecord } from '../message-box.ts';
import { mentions } from '../unread-notices.ts';
import { pinnedIdsOf } from '../pinned.ts';
import { isVoice } from '../media-attributes.ts';
import { badRequest, chatOfPeer, chatsOfAccount, intField, listField, objectField, register, stringField, userOfInput, usersOfRecord, viewOf, type ChatDeps } from './common.ts';

/** Messages one search call reads at most (each is a read of the state when it is not cached). */
export const MAX_SEARCH_READS = 1_000;
const MAX_RESULTS = 100;
const DEFAULT_RESULTS = 20;
/** Messages read at once while scanning. */
const READ_BATCH = 100;

/** The pinned messages of `chats` when one of `filters` asks for them (else none are read). */
async function pinnedFor(deps: ChatDeps, filters: readonly (TlObject | undefined)[], chats: readonly ChatInfo[]): Promise<ReadonlySet<number>> {
  if (!filters.some((f) => f?._ === 'inputMessagesFilterPinned')) return new Set();
  return new Set((await Promise.all(chats.map((c) => pinnedIdsOf(deps, c)))).flat());
}

/** Which messages a MessagesFilter lets through; filters for what the bridge never has match nothing. */
function filterOf(filter: TlObject | undefined, mentionsMe: (r: MessageRecord) => boolean, pinned: ReadonlySet<number>): (r: MessageRecord) => boolean {
  const mime = (r: MessageRecord) => r.media?.mime ?? '';
  switch (filter?._ ?? 'inputMessagesFilterEmpty') {
    case 'inputMessagesFilterEmpty': return () => true;
    case 'inputMessagesFilterPhotos': return (r) => r.media?.kind === 'photo';
    case 'inputMessagesFilterVideo': return (r) => mime(r).startsWith('video/') && r.media?.round !== true;
    case 'inputMessagesFilterPhotoVideo': return (r) => r.media?.kind === 'photo' || mime(r).startsWith('video/');
    case 'inputMessagesFilterDocument': return (r) => r.media?.kind === 'document';
    // As media-attributes.ts shows them: a voice message as declared (else Ogg/Opus), any other audio music.
    case 'inputMessagesFilterMusic': return (r) => r.media !== undefined && mime(r).startsWith('audio/') && !isVoice(r.media);
    case 'inputMessagesFilterVoice': return (r) => r.media !== undefined && isVoice(r.media);
    case 'inputMessagesFilterRoundVideo': return (r) => r.media?.round === true;
    case 'inputMessagesFilterRoundVoice': return (r) => r.media !== undefined && (isVoice(r.media) || r.media.round === true);
    case 'inputMessagesFilterGif': return (r) => mime(r) === 'image/gif';
    case 'inputMessagesFilterUrl': return (r) => (r.spans ?? []).some((s) => s.type === 'link') || /\bhttps?:\/\//i.test(r.text);
    case 'inputMessagesFilterMyMentions': return mentionsMe;
    case 'inputMessagesFilterPinned': return (r) => pinned.has(r.id);
    default: return () => false;
  }
}

/** One search: where, what, and the page (the fields messages.search and messages.searchGlobal share). */
async function searchIn(deps: ChatDeps, view: View, chats: readonly ChatInfo[], call: TlObject, from: bigint | undefined): Promise<TlObject> {
  const account = view.account;
  const q = (stringField(call, 'q') ?? '').trim().toLocaleLowerCase();
  if (q.length > 256) throw badRequest('QUERY_TOO_LONG');
  const me = deps.people.userRef(account.id);
  const filter = objectField(call, 'filter');
  const kind = filterOf(filter, (r) => mentions(r, me, String(account.id)), await pinnedFor(deps, [filter], chats));
  const matches = (r: MessageRecord) => r.deleted !== true && r.service === undefined
    && (from === undefined || r.from === String(from)) && (q === '' || shownText(r).text.toLocaleLowerCase().includes(q)) && kind(r);

  // The candidates, newest first, narrowed by what the logs tell without reading a message.
  const offsetId = intField(call, 'offset_id');
  const maxId = intField(call, 'max_id');
  const minId = intField(call, 'min_id');
  const minDate = intField(call, 'min_date');
  const maxDate = intField(call, 'max_date');
  const candidates: number[] = [];
  const cleared = (await deps.dialogSettings.of(account.id)).clearedUpTo;
  for (const chat of chats) {
    const log = await deps.box.chat(chat.address);
    const dates = new Map(log.entries.filter((e) => e.k === 'new').map((e) => [e.m, e.t]));
    // What the account cleared (deleteHistory) is not found.
    for (const id of log.messageIds().filter((m) => m > (cleared[chat.address] ?? 0))) {
      const date = dates.get(id) ?? 0;
      if ((offsetId > 0 && id >= offsetId) || (maxId > 0 && id >= maxId) || (minId > 0 && id <= minId)) continue;
      if ((minDate > 0 && date < minDate) || (maxDate > 0 && date > maxDate)) continue;
      candidates.push(id);
    }
  }
  candidates.sort((a, b) => b - a);

  const limitIn = intField(call, 'limit');
  const limit = limitIn <= 0 ? DEFAULT_RESULTS : Math.min(limitIn, MAX_RESULTS);
  const skip = Math.max(0, intField(call, 'add_offset'));
  const found: MessageRecord[] = [];
  let read = 0;
  while (read < candidates.length && read < MAX_SEARCH_READS && found.length < skip + limit) {
    const batch = candidates.slice(read, Math.min(read + READ_BATCH, MAX_SEARCH_READS));
    read += batch.length;
    for (const r of await Promise.all(batch.map((id) => deps.box.record(id)))) if (r !== undefined && matches(r)) found.push(r);
  }
  const page = found.slice(skip, skip + limit);
  const inChats = new Map(chats.map((c) => [c.address, c]));
  const shownChats = [...new Set(page.map((r) => inChats.get(r.chat)).filter((c): c is ChatInfo => c !== undefined))];
  await deps.pins.ready(shownChats.map((c) => c.address));
  const body = {
    messages: page.map((r) => deps.render.message(r, view)),
    chats: deps.render.chatObjects(shownChats, view),
    users: await deps.render.users([...page.flatMap(usersOfRecord), ...shownChats.flatMap((c) => deps.render.usersOfChat(c, view))], view),
  };
  // Everything looked at and all of it on this page: the whole answer. Else a slice whose count
  // is at most what there is: the matches found, and every message not read yet.
  const complete = read === candidates.length && found.length <= skip + limit && skip === 0;
  return complete ? { _: 'messages.messages', ...body } : { _: 'messages.messagesSlice', count: found.length + (candidates.length - read), ...body };
}

/**
 * For counting and locating a chat's media: its newest MAX_SEARCH_READS messages past what the
 * account cleared, oldest first (`inexact`: it has more, not looked at), and each filter's test.
 */
async function lookedAt(deps: ChatDeps, view: View, chat: ChatInfo, filters: readonly (TlObject | undefined)[]): Promise<{
  records: MessageRecord[]; inexact: boolean; kindOf: (filter: TlObject | undefined) => (r: MessageRecord) => boolean;
}> {
  const cleared = (await deps.dialogSettings.of(view.account.id)).clearedUpTo[chat.address] ?? 0;
  const ids = (await deps.box.chat(chat.address)).messageIds().filter((id) => id > cleared);
  const looked = ids.slice(-MAX_SEARCH_READS);
  const me = deps.people.userRef(view.account.id);
  const pinned = await pinnedFor(deps, filters, [chat]);
  const records = (await Promise.all(looked.map((id) => deps.box.record(id)))).filter((r): r is MessageRecord => r !== undefined && r.deleted !== true && r.service === undefined);
  return { records, inexact: looked.length < ids.length, kindOf: (filter) => filterOf(filter, (r) => mentions(r, me, String(view.account.id)), pinned) };
}

/** The messages of a chat that a filter finds, newest first, among what lookedAt looks at. */
export async function filteredIn(deps: ChatDeps, view: View, chat: ChatInfo, filter: TlObject | undefined): Promise<{ found: MessageRecord[]; inexact: boolean }> {
  const { records, inexact, kindOf } = await lookedAt(deps, view, chat, [filter]);
  return { found: records.filter(kindOf(filter)).reverse(), inexact };
}

/** Filters one getSearchCounters call counts at most. */
const MAX_COUNTERS = 16;

export function registerSearch(methods: MethodRegistry, deps: ChatDeps): void {
  // How many messages of a chat each filter finds (clients show "12 photos, 3 files" from it):
  // the newest MAX_SEARCH_READS messages are counted; past them a count is `inexact` (a floor).
  register(methods, deps, 'messages.getSearchCounters', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const filters = listField(call, 'filters').slice(0, MAX_COUNTERS).filter((f): f is TlObject => typeof f === 'object' && f !== null && !Array.isArray(f) && !(f instanceof Uint8Array));
    const { records, inexact, kindOf } = await lookedAt(deps, view, chat, filters);
    return filters.map((filter) => ({ _: 'messages.searchCounter', filter, count: records.filter(kindOf(filter)).length, ...(inexact ? { inexact: true } : {}) }));
  });

  register(methods, deps, 'messages.search', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const peer = objectField(call, 'peer');
    const chats = peer?._ === 'inputPeerEmpty' ? await chatsOfAccount(deps, view.account) : [await chatOfPeer(deps, view.account, peer)];
    const fromInput = objectField(call, 'from_id');
    const from = fromInput === undefined ? undefined : await userOfInput(deps, view.account, fromInput);
    if (fromInput !== undefined && from === undefined) throw badRequest('PEER_ID_INVALID');
    return searchIn(deps, view, chats, call, from);
  });

  // Every conversation of the account (there are no channels to leave out: broadcasts_only finds
  // nothing); paged by offset_id, the message ids being one sequence across chats.
  register(methods, deps, 'messages.searchGlobal', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    if (call['broadcasts_only'] === true) return { _: 'messages.messages', messages: [], chats: [], users: [] };
    // Layer 158+: only groups, or only private chats.
    const chats = (await chatsOfAccount(deps, view.account)).filter((c) => (call['groups_only'] !== true || c.direct === undefined) && (call['users_only'] !== true || c.direct !== undefined));
    return searchIn(deps, view, chats, call, undefined);
  });
}
