import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startBridge, streamOf, type TestBridge } from './harness.ts';
import { directRoom } from '../../src/core/direct.ts';
import { waitFor } from '../helpers/wait.ts';

const ALICE_BOB = directRoom({ network: 'websocket', id: 'alice' }, { network: 'websocket', id: 'bob' }) as string;

async function connect(t: { after(fn: () => Promise<unknown>): void }, bridge: TestBridge, token: string): Promise<TestClient> {
  const client = await connectClient(bridge.url, token);
  t.after(() => client.close());
  return client;
}

test('a direct chat between two WS users: no join, both sides, every session of each token, never back to the sending session', async (t) => {
  const bridge = await startBridge();
  t.after(() => bridge.stop());
  const alice = await connect(t, bridge, bridge.tokens.alice);
  const alice2 = await connect(t, bridge, bridge.tokens.alice);
  const bob = await connect(t, bridge, bridge.tokens.bob);
  const bob2 = await connect(t, bridge, bridge.tokens.bob);
  const carol = await connect(t, bridge, bridge.tokens.carol);
  assert.equal(alice.hello['directMessages'], true);

  const ack = await alice.request({ type: 'send', room: '@websocket:bob', txn: 'd1', event: { kind: 'message', text: 'hi bob' } });
  assert.equal(ack.type, 'ack');
  assert.equal(ack['room'], '@websocket:bob');
  for (const session of [bob, bob2]) {
    const [e] = await session.collectEvents(1);
    assert.equal(e?.room, '@websocket:alice', 'bob sees the chat under alice\'s name');
    assert.equal(e?.event.id, ack['id']);
    assert.equal(e?.event['room'], ALICE_BOB);
    assert.deepEqual(e?.event['origin'], { connector: 'websocket', endpoint: 'alice', session: alice.hello['session'] });
    assert.equal((e?.event['sender'] as { id: string }).id, 'alice');
  }
  // alice's other session sees what she sent, under bob's name.
  const [mine] = await alice2.collectEvents(1);
  assert.deepEqual([mine?.room, mine?.event.id], ['@websocket:bob', ack['id']]);

  // bob answers with a reply and a reaction; alice's sessions get both, bob2 gets them too.
  const reply = await bob.request({ type: 'send', room: '@websocket:alice', event: { kind: 'message', text: 'hello', replyTo: ack['id'] } });
  await bob.request({ type: 'send', room: '@websocket:alice', event: { kind: 'reaction', target: ack['id'], reactions: ['👍'] } });
  for (const session of [alice, alice2, bob2]) {
    const got = await session.collectEvents(2);
    assert.deepEqual(got.map((e) => [e.event.kind, e.event['replyTo'] ?? e.event['target']]), [['message', ack['id']], ['reaction', ack['id']]]);
  }
  assert.equal(alice.events[0]?.room, '@websocket:bob');
  assert.equal(alice.events[0]?.event.id, reply['id']);

  // A resend with the same txn is acknowledged, not published again.
  const again = await alice.request({ type: 'send', room: '@websocket:bob', txn: 'd1', event: { kind: 'message', text: 'hi bob' } });
  assert.deepEqual([again['id'], again['duplicate']], [ack['id'], true]);

  // Nothing of it anywhere else: carol, another token, saw nothing; the sending session got acks only.
  await carol.request({ type: 'ping' });
  await bob.request({ type: 'ping' });
  assert.equal(carol.events.length, 0);
  assert.equal(bob.events.length, 1, 'bob\'s sending session got only alice\'s message');
  assert.equal((await streamOf(bridge.bus, ALICE_BOB)).length, 3);
});

test('a direct chat is resumed with join @<peer> since: what was missed, then live, each once', async (t) => {
  const bridge = await startBridge();
  t.after(() => bridge.stop());
  const alice = await connect(t, bridge, bridge.tokens.alice);
  let bob = await connect(t, bridge, bridge.tokens.bob);
  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'one' } });
  const [first] = await bob.collectEvents(1);
  const cursor = first?.cursor as string;
  await bob.close();

  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'two' } });
  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'three' } });
  bob = await connect(t, bridge, bridge.tokens.bob);
  const joined = await bob.request({ type: 'join', room: '@websocket:alice', since: cursor });
  assert.deepEqual([joined.type, joined['room'], joined['cursor']], ['joined', '@websocket:alice', cursor]);
  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'four' } });
  const got = await bob.collectEvents(3);
  assert.deepEqual(got.map((e) => [e.room, e.event['text']]), [['@websocket:alice', 'two'], ['@websocket:alice', 'three'], ['@websocket:alice', 'four']]);
  // Replaying everything retained (since null) also works; no duplicates after it.
  const bob2 = await connect(t, bridge, bridge.tokens.bob);
  await bob2.request({ type: 'join', room: '@websocket:alice', since: null });
  const all = await bob2.collectEvents(4);
  assert.deepEqual(all.map((e) => e.event['text']), ['one', 'two', 'three', 'four']);
  await bob2.request({ type: 'ping' });
  assert.equal(bob2.events.length, 4);
  // A chat's own cursor only: one after its newest event is refused, as for rooms.
  const ahead = await bob.request({ type: 'join', room: '@websocket:alice', since: '99999999999999-0' });
  assert.equal(ahead['code'], 'cursor_ahead');
});

test('bad direct-chat input: garbage addresses, invalid events, networks that do not deliver; nothing is published', async (t) => {
  const bridge = await startBridge({ deliveringNetworks: ['websocket', 'xmpp'] });
  t.after(() => bridge.stop());
  const alice = await connect(t, bridge, bridge.tokens.alice);
  const msg = { kind: 'message', text: 'x' };
  for (const room of ['@', '@xmpp', '@xmpp:', '@:bob', '@XMPP:alice@example.org', '@x y:z', `@xmpp:${'a'.repeat(250)}`]) {
    const err = await alice.request({ type: 'send', room, event: msg });
    assert.deepEqual([err.type, err['code'], err['room']], ['error', 'unknown_room', room], room);
    const joinErr = await alice.request({ type: 'join', room });
    assert.equal(joinErr['code'], 'unknown_room', room);
  }
  const noMtproto = await alice.request({ type: 'send', room: '@mtproto:777', event: msg });
  assert.equal(noMtproto['code'], 'unknown_room');
  assert.match(String(noMtproto['message']), /network "mtproto" takes no direct chats here/);
  const invalid = await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: '' } });
  assert.equal(invalid['code'], 'invalid_event');
  const spoof = await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'x', origin: { connector: 'websocket', endpoint: 'carol' } } });
  assert.equal(spoof['code'], 'invalid_event');
  const membership = await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'membership', action: 'join' } });
  assert.equal(membership['code'], 'invalid_event');
  // A bot cannot read someone's direct chat as a stream: it is no bridge room.
  const bot = await connect(t, bridge, bridge.tokens.bot);
  const sub = await bot.request({ type: 'subscribe', room: ALICE_BOB });
  assert.equal(sub['code'], 'unknown_room');
  assert.deepEqual(await streamOf(bridge.bus, ALICE_BOB), []);
  assert.deepEqual(await streamOf(bridge.bus, directRoom({ network: 'websocket', id: 'alice' }, { network: 'mtproto', id: '777' }) as string), []);
  // The connection is fine afterwards.
  assert.equal((await alice.request({ type: 'send', room: '@websocket:bob', event: msg })).type, 'ack');
});

test('websocket.directMessages: false turns direct chats off (forbidden), rooms work as before', async (t) => {
  const bridge = await startBridge({ websocket: { directMessages: false } });
  t.after(() => bridge.stop());
  const alice = await connect(t, bridge, bridge.tokens.alice);
  assert.equal(alice.hello['directMessages'], false);
  assert.deepEqual(alice.hello['directChats'], []);
  const err = await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'x' } });
  assert.equal(err['code'], 'forbidden');
  assert.equal((await alice.request({ type: 'join', room: '@websocket:bob' }))['code'], 'forbidden');
  assert.deepEqual(await streamOf(bridge.bus, ALICE_BOB), []);
  assert.equal((await alice.request({ type: 'join', room: 'lobby' })).type, 'joined');
});

test('hello lists the token\'s direct chats, most recently active first: a chat begun while the token was away is found and caught up', async (t) => {
  const bridge = await startBridge();
  t.after(() => bridge.stop());
  const alice = await connect(t, bridge, bridge.tokens.alice);
  const carol = await connect(t, bridge, bridge.tokens.carol);
  // bob is not connected: alice and then carol begin chats with him.
  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'from alice' } });
  await carol.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'from carol' } });
  const listed = async () => (await connectClient(bridge.url, bridge.tokens.bob).then(async (c) => { await c.close(); return c.hello['directChats']; }));
  // The list is written off the delivery path: wait until the second chat heads it.
  let chats: unknown;
  await waitFor(async () => { chats = await listed(); return Array.isArray(chats) && chats[0] === '@websocket:carol'; }, { what: () => `bob's hello to list carol's chat first (got ${JSON.stringify(chats)})` });
  assert.deepEqual(chats, ['@websocket:carol', '@websocket:alice']);
  const bob = await connect(t, bridge, bridge.tokens.bob);
  for (const room of bob.hello['directChats'] as string[]) await bob.request({ type: 'join', room, since: null });
  const got = await bob.collectEvents(2);
  assert.deepEqual(got.map((e) => [e.room, e.event['text']]).sort(), [['@websocket:alice', 'from alice'], ['@websocket:carol', 'from carol']]);
  // alice writes again: her chat moves to the head of bob's list; alice's own list has bob.
  await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'again' } });
  await bob.collectEvents(1);
  await waitFor(async () => { chats = await listed(); return Array.isArray(chats) && chats[0] === '@websocket:alice'; }, { what: () => `alice's chat at the head of bob's list (got ${JSON.stringify(chats)})` });
  const alice2 = await connect(t, bridge, bridge.tokens.alice);
  assert.deepEqual(alice2.hello['directChats'], ['@websocket:bob']);
  // A token without chats, and a server without direct chats, list none.
  assert.deepEqual((await connect(t, bridge, bridge.tokens.bot)).hello['directChats'], []);
});
