// Blocking (contacts.block / unblock / getBlocked) with stock gramjs clients: a person blocks a
// WS user who writes to him privately; her private messages no longer reach him (she is not
// told), he cannot write to her, the group goes on for both; his other session is told; unblocked,
// she reaches him again. An account blocked by another cannot write to it. Bad input changes
// nothing. The list's bound is a unit test on the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { BlockedUsers, MAX_BLOCKED } from '../../src/connectors/mtproto/chat/blocked-users.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, rpcError, serverUserHash, updateRecorder, withPersonAndBot, withSecondSession, type GramUpdate } from './chat-harness.ts';
import { metricValue } from './harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Contacts = (Api as unknown as { contacts: Record<string, Ctor> }).contacts;
const ALICE = puppetIdOf('websocket:alice');
const ALICE_ROOM = `@mtproto:${PERSON_ID}`;
const text = (u: GramUpdate) => (u['message'] as { message?: string } | undefined)?.message;
const newMessage = (t: string) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && text(u) === t;

test('a person blocks a WS user: her private messages stop reaching him (she is not told), he cannot write to her, the group goes on; unblocked, she reaches him again', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const rec = updateRecorder(person);
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'hi bob' } });
    await rec.next(newMessage('hi bob'));
    const alice = new Api.InputPeerUser({ userId: bigInt(String(ALICE)), accessHash: await serverUserHash(bridge, ALICE) as never });

    await withSecondSession(bridge, async (second) => {
      const elsewhere = updateRecorder(second);
      assert.equal(await person.invoke(new Contacts['Block']!({ id: alice })), true);
      const told = await elsewhere.next((u) => u.className === 'UpdatePeerBlocked');
      assert.deepEqual([told['blocked'], String((told['peerId'] as { userId: unknown }).userId)], [true, String(ALICE)]);
    });
    const listed = await person.invoke(new Contacts['GetBlocked']!({ offset: 0, limit: 10 })) as { blocked: Array<{ peerId: { userId: unknown } }>; users: Array<{ id: unknown }> };
    assert.deepEqual(listed.blocked.map((b) => String(b.peerId.userId)), [String(ALICE)]);
    assert.deepEqual(listed.users.map((u) => String(u.id)), [String(ALICE)]);
    const full = await person.invoke(new Api.users.GetFullUser({ id: new Api.InputUser({ userId: bigInt(String(ALICE)), accessHash: await serverUserHash(bridge, ALICE) as never }) })) as { fullUser: { blocked?: boolean } };
    assert.equal(full.fullUser.blocked, true);

    // Her next private message is accepted on her side and never reaches him; the bot's, after it, does.
    const accepted = await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'are you there?' } });
    assert.equal(accepted.type, 'ack');
    await bot.sendMessage(-CHAT_ID, { message: 'the group goes on' });
    await rec.next(newMessage('the group goes on'));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'alice in the group' } });
    await rec.next(newMessage('alice in the group'));
    assert.ok(!rec.all.some(newMessage('are you there?')), 'her private message reached him');
    assert.ok(await metricValue(bridge.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'blocked' }) >= 1);
    assert.ok(!(await person.getMessages(alice, { limit: 5 })).some((m) => m.message === 'are you there?'), 'nor his history');

    // He cannot write to her while she is blocked; nothing goes out.
    assert.equal(await rpcError(person.sendMessage(alice, { message: 'blocked, but...' })), 'YOU_BLOCKED_USER');

    // Unblocked: she reaches him again.
    assert.equal(await person.invoke(new Contacts['Unblock']!({ id: alice })), true);
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'hello again' } });
    await rec.next(newMessage('hello again'));
    await person.sendMessage(alice, { message: 'hi again' });
    const back = await ws.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === 'hi again');
    assert.ok(back, 'he writes to her again');
    assert.ok(!ws.events.some((f) => f.event['text'] === 'blocked, but...'), 'nothing went out while blocked');
    assert.deepEqual((await person.invoke(new Contacts['GetBlocked']!({ offset: 0, limit: 10 })) as { blocked: unknown[] }).blocked, []);
  });
});

test('an account blocked by another cannot write to it (USER_IS_BLOCKED); bad blocks are refused and change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    const botUser = new Api.InputPeerUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) as never });
    const bob = new Api.InputPeerUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) as never });
    await bot.sendMessage(bob, { message: 'hello bob, from the bot' });
    assert.equal(await person.invoke(new Contacts['Block']!({ id: botUser })), true);
    assert.equal(await rpcError(bot.sendMessage(bob, { message: 'still there?' })), 'USER_IS_BLOCKED');
    assert.equal(await rpcError(person.sendMessage(botUser, { message: 'hi bot' })), 'YOU_BLOCKED_USER');
    // Blocking twice is no error; the list holds the bot once.
    assert.equal(await person.invoke(new Contacts['Block']!({ id: botUser })), true);

    for (const id of [
      new (Api as unknown as Record<string, Ctor>)['InputPeerSelf']!({}),
      new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }),
      new Api.InputPeerUser({ userId: bigInt(String(ALICE)), accessHash: bigInt(1) }),
    ]) assert.equal(await rpcError(person.invoke(new Contacts['Block']!({ id }))), 'CONTACT_ID_INVALID');
    const listed = await person.invoke(new Contacts['GetBlocked']!({ offset: 0, limit: 10 })) as { blocked: Array<{ peerId: { userId: unknown } }> };
    assert.deepEqual(listed.blocked.map((b) => String(b.peerId.userId)), [String(BOT_ID)]);
  });
});

test('the block list: at most MAX_BLOCKED, newest first, paged; a malformed stored list is none', async () => {
  const state = new LocalState(undefined, () => 1).store('mtproto');
  const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
  const directory = new Directory([{ id: 5, firstName: 'p5', bot: false, phone: '15550005', rooms: [] }], [], routing);
  const blocked = new BlockedUsers(state, directory, silentLogger);
  await blocked.load();
  for (let i = 1; i <= MAX_BLOCKED; i++) assert.equal(await blocked.set(5n, BigInt(10_000 + i), true, i), true);
  assert.equal(await blocked.set(5n, 99n, true, 0), 'full');
  assert.equal(await blocked.set(5n, 10_001n, true, 0), false, 'already blocked');
  assert.equal(blocked.blocks(5n, 10_001n), true);
  assert.equal(blocked.blocks(5n, 99n), false);
  assert.equal((await blocked.listOf(5n))[0]!.id, String(10_000 + MAX_BLOCKED), 'newest first');
  assert.equal(await blocked.set(5n, 10_001n, false, 0), true);
  assert.equal(blocked.blocks(5n, 10_001n), false);
  await state.set('blocked:5', '{"users":[{"id":"x"}]}');
  assert.deepEqual(await blocked.listOf(5n), []);
  assert.equal(blocked.blocks(5n, 10_002n), false);
});

test('a block told by another instance: a delivery checked while the list is being read again waits for the read (no window between the note and its answer)', async () => {
  const inner = new LocalState(undefined, () => 1).store('mtproto');
  let slow: (() => void) | undefined;
  // The state answers the refresh's read only when told to.
  const state = new Proxy(inner, { get: (t, k) => (k === 'get' ? async (key: string) => { if (slow !== undefined) await new Promise<void>((r) => { const go = slow!; slow = () => { go(); r(); }; }); return t.get(key); } : Reflect.get(t, k)) });
  const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
  const directory = new Directory([{ id: 5, firstName: 'p5', bot: false, phone: '15550005', rooms: [] }], [], routing);
  const here = new BlockedUsers(state, directory, silentLogger);
  await here.load();
  // Another instance blocks 77 (it writes the state); its note makes this one read the list again, slowly.
  await new BlockedUsers(inner, directory, silentLogger).set(5n, 77n, true, 1);
  slow = () => undefined;
  const refreshing = here.refresh(5n);
  assert.equal(here.blocks(5n, 77n), false, 'the old list, while the read is under way');
  let checked: boolean | undefined;
  const delivery = here.settled(5n).then(() => { checked = here.blocks(5n, 77n); });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(checked, undefined, 'the delivery waits');
  slow!();
  await refreshing;
  await delivery;
  assert.equal(checked, true, 'and is checked against the new list');
  await here.settled(5n);
});
