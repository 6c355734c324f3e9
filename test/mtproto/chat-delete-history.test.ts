// Clearing a chat's history for the account (messages.deleteHistory): everything up to then is
// hidden from it (history, dialogs, search, messages by id, unread counts) and from nobody else;
// new messages show. With revoke its own messages are also retracted for everyone, 100 a call,
// the answer's offset asking for the next call while more remain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, CHAT_ID, bigInt, rpcError, updateRecorder, withPersonAndBot, withSecondSession, wsEvent, type ChatClient, type GramMessage } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const peer = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
const texts = async (client: ChatClient) => [...await client.getMessages(-CHAT_ID, { limit: 200 })].filter((m) => (m as unknown as { className: string }).className === 'Message').map((m) => m.message);
const deleteHistory = (client: ChatClient, params: Record<string, unknown> = {}) =>
  client.invoke(new Messages['DeleteHistory']!({ peer: peer(), maxId: 0, ...params })) as Promise<{ offset: number }>;

test('cleared for the account only: hidden from its history, search, messages by id and unread count; new messages show; others keep everything', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'one' } });
    const two = await person.sendMessage(-CHAT_ID, { message: 'two' });
    await bot.sendMessage(-CHAT_ID, { message: 'three' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'three');
    assert.deepEqual((await texts(person)).slice(0, 3), ['three', 'two', 'one']);

    const ids = [...await person.getMessages(-CHAT_ID, { limit: 10 })].map((m) => m.id).sort((a, b) => a - b);
    await withSecondSession(bridge, async (second) => {
      const elsewhere = updateRecorder(second);
      const own = updateRecorder(person);
      assert.equal((await deleteHistory(person, { justClear: true })).offset, 0);
      // The person's other device drops them too: the messages cleared, no pts moved (pts_count 0).
      const told = await elsewhere.next((u) => u.className === 'UpdateDeleteMessages');
      assert.deepEqual([told['messages'], told['ptsCount']], [ids, 0]);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(!own.all.some((u) => u.className === 'UpdateDeleteMessages'), 'the calling session has its answer');
    });
    assert.deepEqual(await texts(person), [], 'nothing before the clear');
    assert.deepEqual((await texts(bot)).slice(0, 3), ['three', 'two', 'one'], 'the bot keeps all of it');
    const byId = await person.invoke(new Messages['GetMessages']!({ id: [new (Api as unknown as Record<string, Ctor>)['InputMessageID']!({ id: two.id })] })) as { messages: Array<{ className: string }> };
    assert.equal(byId.messages[0]?.className, 'MessageEmpty');
    const search = await person.invoke(new Messages['Search']!({ peer: peer(), q: 'one', filter: new (Api as unknown as Record<string, Ctor>)['InputMessagesFilterEmpty']!({}), minDate: 0, maxDate: 0, offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: bigInt(0) })) as { messages: GramMessage[] };
    assert.deepEqual(search.messages, []);
    const dialogs = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0) })) as { dialogs: Array<{ peer: { chatId?: { toString(): string } }; unreadCount: number; topMessage: number }> };
    const group = dialogs.dialogs.find((d) => d.peer.chatId?.toString() === String(CHAT_ID));
    assert.deepEqual([group?.unreadCount, group?.topMessage], [0, 0], 'still listed, empty');

    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'four' } });
    for (let i = 0; i < 50 && (await texts(person)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await texts(person), ['four'], 'what comes after shows');

    // A chat the account does not see: refused, nothing cleared.
    assert.equal(await rpcError(person.invoke(new Messages['DeleteHistory']!({ peer: new Api.InputPeerChat({ chatId: bigInt(4242) }), maxId: 0 }))), 'PEER_ID_INVALID');
    assert.deepEqual(await texts(person), ['four']);
  });
});

test('revoke: the account\'s own messages are retracted for everyone, 100 a call (offset asks for more); others\' stay for others', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    await bot.sendMessage(-CHAT_ID, { message: 'the bot stays' });
    for (let i = 0; i < 102; i++) await person.invoke(new Api.messages.SendMessage({ peer: peer(), message: `mine ${i}`, randomId: bigInt(70_000 + i) }));
    await wsEvent(ws, 'message', (e) => e['text'] === 'mine 101');
    const first = await deleteHistory(person, { revoke: true });
    assert.ok(first.offset > 0, 'more remain: call again');
    const second = await deleteHistory(person, { revoke: true, maxId: first.offset });
    assert.equal(second.offset, 0, 'all retracted');
    let left: string[] = [];
    for (let i = 0; i < 100; i++) {
      left = (await texts(bot)).filter((t) => t.startsWith('mine'));
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(left, [], 'gone for the bot too');
    assert.ok((await texts(bot)).includes('the bot stays'));
    const retracted = new Set<string>();
    for (let i = 0; i < 102; i++) retracted.add(String((await wsEvent(ws, 'retract'))['target']));
    assert.equal(retracted.size, 102, 'WS got a retraction for each');
  }, { mtprotoExtra: '  flood: { send: { perSecond: 1000, burst: 1000 } }' });
});
