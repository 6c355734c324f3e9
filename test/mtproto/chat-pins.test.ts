// Pinning (messages.updatePinnedMessage through gramjs' pinMessage / unpinMessage, and
// unpinAllMessages): everyone is told by a message of the pinner answering the pinned one (the
// canonical event has no pin), and MTProto clients find it as the chat's pinned message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, rpcError, serverUserHash, updateRecorder, withPersonAndBot, wsEvent, type ChatClient, type GramUpdate } from './chat-harness.ts';
import { MAX_PINNED, PINS_REFRESH_MS, PinnedIndex, changePins, parsePins, pinnedIdsOf } from '../../src/connectors/mtproto/chat/pinned.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { ChatInfo } from '../../src/connectors/mtproto/chat/directory.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const pinnedOf = async (client: ChatClient) => ((await client.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }))) as { fullChat: { pinnedMsgId?: number | null } }).fullChat.pinnedMsgId ?? undefined;
interface Pinner { pinMessage(entity: unknown, message: number, params?: Record<string, unknown>): Promise<unknown>; unpinMessage(entity: unknown, message?: number, params?: Record<string, unknown>): Promise<unknown> }

test('a pin is told to everyone as a message answering the pinned one, and is the chat\'s pinned message for MTProto clients; an unpin likewise; bad pins refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const sent = await bot.sendMessage(-CHAT_ID, { message: 'announcement: the bridge is up' });
    const original = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('announcement'));
    await (bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id);
    const pinned = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌'));
    assert.equal(pinned['text'], '📌 Pinned: «announcement: the bridge is up»');
    assert.equal(pinned['replyTo'], original['id'], 'it answers the pinned message');
    assert.equal(await pinnedOf(person), sent.id);

    assert.equal(await rpcError((bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id)), 'MESSAGE_NOT_MODIFIED');
    assert.equal(await rpcError(bot.invoke(new Messages['UpdatePinnedMessage']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), id: 99_999 }))), 'MESSAGE_ID_INVALID');

    await (bot as unknown as Pinner).unpinMessage(-CHAT_ID, sent.id);
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text'], '📌 Unpinned: «announcement: the bridge is up»');
    assert.equal(await pinnedOf(person), undefined);
    assert.equal(await rpcError((bot as unknown as Pinner).unpinMessage(-CHAT_ID, sent.id)), 'MESSAGE_NOT_MODIFIED', 'not pinned: nothing to unpin');

    // Pinned again, then everything unpinned at once.
    await (bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id);
    await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌 Pinned'));
    await person.invoke(new Messages['UnpinAllMessages']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text'], '📌 Unpinned: «announcement: the bridge is up»');
    assert.equal(await pinnedOf(bot), undefined);
  });
});

test('several pinned messages, as on Telegram: the newest is the chat\'s, all of them found with the pinned filter and counted; unpinning one leaves the others; unpinning all clears them', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const peer = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const filter = new (Api as unknown as Record<string, Ctor>)['InputMessagesFilterPinned']!({});
    const pinnedList = async () => ((await person.invoke(new Messages['Search']!({ peer, q: '', filter, minDate: 0, maxDate: 0, offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: bigInt(0) }))) as { messages: Array<{ message: string }> }).messages.map((m) => m.message);
    const counted = async () => ((await person.invoke(new Messages['GetSearchCounters']!({ peer, filters: [filter] }))) as Array<{ count: number }>)[0]!.count;
    const ids: number[] = [];
    const seen = updateRecorder(person);
    const pinUpdate = (pinned: boolean) => (u: GramUpdate) => u.className === 'UpdatePinnedMessages' && Boolean(u['pinned']) === pinned;
    for (const text of ['rule one', 'rule two', 'rule three']) {
      const m = await bot.sendMessage(-CHAT_ID, { message: text });
      ids.push(m.id);
      await (bot as unknown as Pinner).pinMessage(-CHAT_ID, m.id);
      await wsEvent(ws, 'message', (e) => e['text'] === `📌 Pinned: «${text}»`);
      // The person's client is told at once (its pinned bar follows), with no pts moved.
      const told = await seen.next(pinUpdate(true));
      assert.deepEqual([told['messages'], told['ptsCount'], String((told['peer'] as { chatId: unknown }).chatId)], [[m.id], 0, String(CHAT_ID)]);
    }
    assert.equal(await pinnedOf(person), ids[2], 'the newest is the chat\'s');
    assert.deepEqual(await pinnedList(), ['rule three', 'rule two', 'rule one']);
    assert.equal(await counted(), 3);
    // Each message shows whether it is pinned (history, getMessages), to the pinner and the others.
    const flags = async (who: typeof person) => [...await who.getMessages(-CHAT_ID, { ids } as never)].map((m) => Boolean((m as { pinned?: boolean }).pinned));
    const historyFlags = async (who: typeof person) => [...await who.getMessages(-CHAT_ID, { limit: 20 })].filter((m) => ids.includes(m.id)).map((m) => Boolean((m as { pinned?: boolean }).pinned)).reverse();
    assert.deepEqual(await flags(person), [true, true, true]);
    assert.deepEqual(await historyFlags(bot), [true, true, true]);

    await (bot as unknown as Pinner).unpinMessage(-CHAT_ID, ids[2]!);
    await wsEvent(ws, 'message', (e) => e['text'] === '📌 Unpinned: «rule three»');
    assert.deepEqual((await seen.next(pinUpdate(false)))['messages'], [ids[2]]);
    assert.equal(await pinnedOf(person), ids[1], 'the one before is the chat\'s again');
    assert.deepEqual(await pinnedList(), ['rule two', 'rule one']);
    assert.deepEqual(await flags(person), [true, true, false]);

    await person.invoke(new Messages['UnpinAllMessages']!({ peer }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌 Unpinned all')))['text'], '📌 Unpinned all 2 messages, the newest: «rule two»');
    assert.deepEqual((await seen.next(pinUpdate(false)))['messages'], [ids[0], ids[1]]);
    assert.equal(await pinnedOf(person), undefined);
    assert.deepEqual(await pinnedList(), []);
    assert.equal(await counted(), 0);
    assert.deepEqual(await historyFlags(bot), [false, false, false]);
  });
});

test('the pins of a chat as stored: a value from before lists (one id) reads as one pin; anything else as none; at most MAX_PINNED, the oldest unpinned past it; pins at once all land', async () => {
  assert.deepEqual(parsePins('1234'), [1234]);
  assert.deepEqual(parsePins('[5,6,7]'), [5, 6, 7]);
  assert.deepEqual(parsePins('{"x":1}'), []);
  assert.deepEqual(parsePins('not json'), []);
  assert.deepEqual(parsePins('[1,-2,"3",4.5,8]'), [1, 8]);
  assert.equal(parsePins(JSON.stringify(Array.from({ length: MAX_PINNED + 5 }, (_, i) => i + 1))).length, MAX_PINNED);
  // A pin past the bound unpins the oldest; pins made at once all land (compare-and-set).
  const state = new LocalState().store('mtproto');
  const chat = { address: '1001' } as ChatInfo;
  for (let id = 1; id <= MAX_PINNED; id++) await changePins({ state }, chat, (ids) => [...ids, id]);
  await changePins({ state }, chat, (ids) => [...ids, 9_999]);
  const ids = await pinnedIdsOf({ state }, chat);
  assert.deepEqual([ids.length, ids[0], ids.at(-1)], [MAX_PINNED, 2, 9_999]);
  await changePins({ state }, chat, () => []);
  await Promise.all([7, 8, 9].map((id) => changePins({ state }, chat, (now) => [...now, id])));
  assert.deepEqual((await pinnedIdsOf({ state }, chat)).sort(), [7, 8, 9]);
});

test('the pins as known here (a message\'s pinned flag): read when first asked or made ready, again on refresh and when older than 30 s', async () => {
  const state = new LocalState().store('mtproto');
  let now = 1_000_000;
  const index = new PinnedIndex(state, () => now);
  await state.set('pin:1001', '[3,4]');
  assert.equal(index.has('1001', 3), false, 'not known yet: read in the background');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(index.has('1001', 3), true);
  await state.set('pin:1001', '[4]');
  assert.equal(index.has('1001', 3), true, 'a change elsewhere, not yet read');
  await index.refresh('1001');
  assert.deepEqual([index.has('1001', 3), index.has('1001', 4)], [false, true]);
  await state.set('pin:1001', '[5]');
  now += PINS_REFRESH_MS + 1;
  index.has('1001', 5);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(index.has('1001', 5), true, 'read again once old');
  await state.set('pin:dm:x', '[9]');
  await index.ready(['dm:x', 'dm:x']);
  assert.equal(index.has('dm:x', 9), true, 'ready: read before answering');
});

test('a pin in a private chat: both sides find it as the other\'s full user\'s pinned message', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    const bob = new Api.InputPeerUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) as never });
    const botUser = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) as never });
    const bobUser = new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) as never });
    const sent = await bot.sendMessage(bob, { message: 'keep this' });
    const pinnedIn = async (client: ChatClient, user: unknown) => ((await client.invoke(new Api.users.GetFullUser({ id: user as never }))) as { fullUser: { pinnedMsgId?: number | null } }).fullUser.pinnedMsgId ?? undefined;
    assert.equal(await pinnedIn(bot, bobUser), undefined);
    await (bot as unknown as Pinner).pinMessage(bob, sent.id);
    assert.equal(await pinnedIn(bot, bobUser), sent.id);
    assert.equal(await pinnedIn(person, botUser), sent.id);
  });
});
