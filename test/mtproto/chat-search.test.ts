// messages.search with a stock gramjs client (its getMessages with `search`, `fromUser` and
// `filter`): text, sender and kind of file, in one chat or (inputPeerEmpty) in all of the
// account's chats, newest first, paged; deleted messages are not found; bad searches get their
// rpc_error; one call reads at most MAX_SEARCH_READS messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { newEventId } from '../../src/core/ids.ts';
import { MAX_SEARCH_READS } from '../../src/connectors/mtproto/chat/methods/search.ts';
import {
  Api, CHAT_ID, PERSON_ID, bigInt, rpcError, updateRecorder, uploadToMedia, withPersonAndBot,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const require = createRequire(import.meta.url);
const AllApi = (require('telegram/tl') as { Api: Record<string, unknown> & { messages: Record<string, new (a: Record<string, unknown>) => object> } }).Api;
const filter = (name: string) => new (AllApi[name] as new () => object)();
const PEER = -CHAT_ID;

interface Found { className: string; count?: number; messages: GramMessage[] }

test('search: by text, sender and kind of file, in a chat or in all of them, newest first and paged; deleted messages are not found; bad searches refused; one call reads a bounded number of messages', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const rec = updateRecorder(person);
    const arrived = (text: string) => rec.next((u: GramUpdate) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message.startsWith(text));
    const wsSend = async (event: Record<string, unknown>) => { const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', ...event } }); await arrived(String(event['text'])); return ack; };
    const png = Buffer.alloc(64);
    png.writeUInt32BE(0x89504e47, 0); png.writeUInt32BE(0x0d0a1a0a, 4); png.writeUInt32BE(13, 8); png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(32, 16); png.writeUInt32BE(24, 20);

    await wsSend({ text: 'apple pie' });
    const banana = await wsSend({ text: 'banana split' });
    await bot.sendMessage(PEER, { message: 'apple from the bot' });
    await arrived('apple from the bot');
    await wsSend({ text: 'Apple juice, see https://example.org' });
    await wsSend({ text: 'a table', attachments: [await uploadToMedia(bridge, 't.csv', 'text/csv', Buffer.from('a,b\n'))] });
    await wsSend({ text: 'a picture', attachments: [await uploadToMedia(bridge, 'p.png', 'image/png', png)] });
    await wsSend({ text: 'hi bob', spans: [{ type: 'mention', offset: 3, length: 3, user: `mtproto:${PERSON_ID}` }] });
    await bot.sendMessage('bobbuilder', { message: 'apple, privately' });
    await arrived('apple, privately');

    const texts = (ms: GramMessage[]) => [...ms].map((m) => m.message);
    assert.deepEqual(texts(await person.getMessages(PEER, { search: 'apple' })), ['Apple juice, see https://example.org', 'apple from the bot', 'apple pie'], 'case-insensitive, newest first, this chat only');
    assert.deepEqual(texts(await person.getMessages(PEER, { search: 'apple', fromUser: 'relaybot' })), ['apple from the bot']);
    assert.deepEqual(texts(await person.getMessages(PEER, { search: 'apple', limit: 2 })), ['Apple juice, see https://example.org', 'apple from the bot'], 'a page');
    assert.deepEqual(texts(await person.getMessages(PEER, { filter: filter('InputMessagesFilterUrl') })), ['Apple juice, see https://example.org']);
    assert.deepEqual(texts(await person.getMessages(PEER, { filter: filter('InputMessagesFilterPhotos') })), ['a picture']);
    assert.deepEqual(texts(await person.getMessages(PEER, { filter: filter('InputMessagesFilterDocument') })), ['a table']);
    assert.deepEqual(texts(await person.getMessages(PEER, { filter: filter('InputMessagesFilterMyMentions') })), ['hi bob']);
    assert.deepEqual(texts(await person.getMessages(PEER, { filter: filter('InputMessagesFilterChatPhotos') })), [], 'a kind the bridge never has');
    // The counters clients show for a chat's shared media: one per filter asked.
    const counters = await person.invoke(new AllApi.messages['GetSearchCounters']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), filters: ['InputMessagesFilterPhotos', 'InputMessagesFilterDocument', 'InputMessagesFilterUrl', 'InputMessagesFilterMyMentions', 'InputMessagesFilterChatPhotos'].map(filter) })) as Array<{ filter: { className: string }; count: number; inexact?: boolean }>;
    assert.deepEqual(counters.map((c) => [c.filter.className, c.count, Boolean(c.inexact)]), [
      ['InputMessagesFilterPhotos', 1, false], ['InputMessagesFilterDocument', 1, false], ['InputMessagesFilterUrl', 1, false], ['InputMessagesFilterMyMentions', 1, false], ['InputMessagesFilterChatPhotos', 0, false],
    ]);

    // In every chat of the account (inputPeerEmpty): the private message too; paged by offset_id.
    const everywhere = (fields: Record<string, unknown>) => person.invoke(new AllApi.messages['Search']!({
      peer: new Api.InputPeerEmpty(), q: 'apple', filter: filter('InputMessagesFilterEmpty'), minDate: 0, maxDate: 0, offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: bigInt(0), ...fields,
    })) as Promise<Found>;
    const all = await everywhere({});
    assert.equal(all.className, 'messages.Messages');
    assert.deepEqual(texts(all.messages), ['apple, privately', 'Apple juice, see https://example.org', 'apple from the bot', 'apple pie']);
    // The same through messages.searchGlobal (gramjs' getMessages without a chat).
    assert.deepEqual(texts(await person.getMessages(undefined, { search: 'apple', limit: 10 })), texts(all.messages));
    const global = (flags: Record<string, unknown>) => person.invoke(new AllApi.messages['SearchGlobal']!({
      q: 'apple', filter: filter('InputMessagesFilterEmpty'), minDate: 0, maxDate: 0, offsetRate: 0, offsetPeer: new Api.InputPeerEmpty(), offsetId: 0, limit: 10, ...flags,
    })) as Promise<Found>;
    assert.deepEqual(texts((await global({ usersOnly: true })).messages), ['apple, privately'], 'private chats only');
    assert.deepEqual(texts((await global({ groupsOnly: true })).messages), texts(all.messages).slice(1), 'groups only');
    assert.deepEqual((await global({ broadcastsOnly: true })).messages, [], 'no channels here');
    const next = await everywhere({ offsetId: all.messages[1]!.id, limit: 1 });
    assert.equal(next.className, 'messages.MessagesSlice');
    assert.deepEqual(texts(next.messages), ['apple from the bot']);

    // A retracted message is not found.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: banana['id'] } });
    await rec.next((u) => u.className === 'UpdateDeleteMessages');
    assert.deepEqual(texts(await person.getMessages(PEER, { search: 'banana' })), []);

    // Bad searches.
    const search = (fields: Record<string, unknown>) => person.invoke(new AllApi.messages['Search']!({
      peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), q: 'apple', filter: filter('InputMessagesFilterEmpty'), minDate: 0, maxDate: 0, offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: bigInt(0), ...fields,
    }));
    assert.equal(await rpcError(search({ peer: new Api.InputPeerChat({ chatId: bigInt(4242) }) })), 'PEER_ID_INVALID');
    assert.equal(await rpcError(search({ fromId: new Api.InputPeerUser({ userId: bigInt(PERSON_ID), accessHash: bigInt(42) }) })), 'PEER_ID_INVALID');
    assert.equal(await rpcError(search({ q: 'x'.repeat(300) })), 'QUERY_TOO_LONG');

    // One call reads at most MAX_SEARCH_READS messages: a match older than that is not reached
    // from the newest, and the slice's count says how many messages are left unread.
    await bridge.app.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: 'the needle', sender: { network: 'xmpp', id: 'dana@example.org', name: 'Dana' }, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
    const hay = Array.from({ length: MAX_SEARCH_READS + 5 }, (_, i) => ({ v: 1 as const, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message' as const, text: `hay ${i}`, sender: { network: 'xmpp', id: 'dana@example.org', name: 'Dana' }, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }));
    for (let i = 0; i < hay.length; i += 100) await bridge.app.bus.publish(hay.slice(i, i + 100));
    await arrived(`hay ${hay.length - 1}`);
    const capped = await search({ q: 'needle' }) as Found;
    assert.equal(capped.className, 'messages.MessagesSlice');
    assert.deepEqual(capped.messages, []);
    assert.ok((capped.count ?? 0) > 0, `count ${capped.count}: messages left unread`);
    const needle = (rec.all.find((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'the needle')!['message'] as GramMessage).id;
    const nearer = await search({ q: 'needle', offsetId: needle + 1 }) as Found;
    assert.deepEqual(texts(nearer.messages), ['the needle'], 'found from an offset within reach');
    // The counters count the newest MAX_SEARCH_READS and say they are a floor: the picture is older.
    const [photos] = await person.invoke(new AllApi.messages['GetSearchCounters']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), filters: [filter('InputMessagesFilterPhotos')] })) as Array<{ count: number; inexact?: boolean }>;
    assert.deepEqual([photos?.count, photos?.inexact], [0, true]);
  });
});

test('shared media views: the calendar counts a filter\'s messages by day, newest day first, with each day\'s newest; positions spread over them for a scrollbar; bad calls refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person) => {
    const rec = updateRecorder(person);
    const day = 86_400_000;
    // Noon (UTC) yesterday: every message below is seconds from a noon, never near midnight.
    const now = Date.now() - (Date.now() % day) - day / 2;
    // Links (the URL filter) on three days: two, one and two (the newest day), and a text without one.
    const sent = [[now - 2 * day, 'see https://a.example/1'], [now - 2 * day + 1000, 'see https://a.example/2'], [now - day, 'see https://a.example/3'], [now - 1000, 'no link'], [now, 'see https://a.example/4'], [now + 1, 'see https://a.example/5']] as const;
    await bridge.app.bus.publish(sent.map(([ts, text]) => ({ v: 1 as const, id: newEventId(), ts, room: 'lobby', kind: 'message' as const, text, sender: { network: 'websocket', id: 'alice', name: 'Alice' }, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } })));
    await rec.next((u: GramUpdate) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'see https://a.example/5');
    const ids = new Map([...await person.getMessages(PEER, { limit: 10 })].map((m) => [m.message, m.id]));
    const link = (n: number) => ids.get(`see https://a.example/${n}`)!;
    const peer = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const M = AllApi.messages;
    type Calendar = { count: number; minMsgId: number; offsetIdOffset?: number; periods: Array<{ date: number; minMsgId: number; maxMsgId: number; count: number }>; messages: GramMessage[] };
    const calendar = async (offsetId = 0) => await person.invoke(new M['GetSearchResultsCalendar']!({ peer, filter: filter('InputMessagesFilterUrl'), offsetId, offsetDate: 0 })) as Calendar;

    const all = await calendar();
    assert.equal(all.count, 5);
    assert.equal(all.minMsgId, link(1));
    assert.deepEqual(all.periods.map((p) => [p.count, p.maxMsgId, p.minMsgId]), [[2, link(5), link(4)], [1, link(3), link(3)], [2, link(2), link(1)]]);
    assert.ok(all.periods.every((p, i) => p.date % 86_400 === 0 && (i === 0 || p.date < all.periods[i - 1]!.date)), 'whole days (UTC), newest first');
    assert.deepEqual(all.messages.map((m) => m.id), [link(5), link(3), link(2)], 'each day\'s newest');
    const older = await calendar(link(3));
    assert.deepEqual([older.periods.map((p) => p.count), older.offsetIdOffset], [[2], 3], 'from before yesterday\'s: the three newer ones skipped');

    type Positions = { count: number; positions: Array<{ msgId: number; offset: number }> };
    const positions = async (offsetId: number, limit: number) => await person.invoke(new M['GetSearchResultsPositions']!({ peer, filter: filter('InputMessagesFilterUrl'), offsetId, limit })) as Positions;
    const spread = await positions(0, 2);
    assert.deepEqual([spread.count, spread.positions.map((p) => [p.offset, p.msgId])], [5, [[0, link(5)], [3, link(2)]]]);
    assert.deepEqual((await positions(link(5), 10)).positions.map((p) => p.offset), [1, 2, 3, 4]);
    assert.equal(await rpcError(positions(0, 0)), 'LIMIT_INVALID');
    assert.equal(await rpcError(positions(0, 101)), 'LIMIT_INVALID');
    assert.equal(await rpcError(person.invoke(new M['GetSearchResultsCalendar']!({ peer: new Api.InputPeerChat({ chatId: bigInt(4242) }), filter: filter('InputMessagesFilterUrl'), offsetId: 0, offsetDate: 0 }))), 'PEER_ID_INVALID');
  });
});
