import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startBridge, xmppMessage, type TestBridge } from './harness.ts';

describe('websocket: clients exchange events through linked rooms', () => {
  let bridge: TestBridge;
  const clients: TestClient[] = [];
  const connect = async (token: string) => {
    const c = await connectClient(bridge.url, token);
    clients.push(c);
    return c;
  };

  before(async () => { bridge = await startBridge(); });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await bridge.stop();
  });

  test('hello names the session, user, scope, rooms and limits', async () => {
    const alice = await connect(bridge.tokens.alice);
    assert.equal(alice.hello['protocol'], 1);
    assert.equal(alice.hello['user'], 'alice');
    assert.equal(alice.hello['scope'], 'client');
    assert.match(String(alice.hello['session']), /^s_/);
    assert.deepEqual(alice.hello['rooms'], ['lobby', 'other', 'a', 'b', 'secret']);
    assert.deepEqual(alice.hello['streams'], []);
    assert.deepEqual(alice.hello['limits'], { maxPayloadBytes: 65_536, ratePerSecond: 100, rateBurst: 500, heartbeatMs: 30_000, maxBufferedBytes: 4 * 1024 * 1024 });
    const limited = await connect(bridge.tokens.limited);
    assert.deepEqual(limited.hello['rooms'], ['lobby']);
    const bot = await connect(bridge.tokens.bot);
    assert.equal(bot.hello['scope'], 'bot');
    assert.deepEqual(bot.hello['streams'], ['lobby', 'other', 'pair', 'secret']);
  });

  test('two clients in one room get each other\'s messages, never their own; the ack id is the pushed id; an unlinked room sees nothing', async () => {
    const [alice, bob, carol] = await Promise.all([connect(bridge.tokens.alice), connect(bridge.tokens.bob), connect(bridge.tokens.carol)]);
    for (const [c, room] of [[alice, 'lobby'], [bob, 'lobby'], [carol, 'other']] as const) {
      const joined = await c.request({ type: 'join', room });
      assert.equal(joined.type, 'joined');
      assert.equal(joined['room'], room);
    }
    const ackA = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi bob', spans: [{ type: 'bold', offset: 0, length: 2 }] } });
    assert.equal(ackA.type, 'ack');
    const [atBob] = await bob.collectEvents(1);
    assert.ok(atBob);
    assert.equal(atBob.event.id, ackA['id']);
    assert.equal(atBob.room, 'lobby');
    assert.equal(atBob.event['text'], 'hi bob');
    assert.deepEqual(atBob.event['sender'], { network: 'websocket', id: 'alice', name: 'Alice' });
    assert.deepEqual(atBob.event['spans'], [{ type: 'bold', offset: 0, length: 2 }]);
    assert.equal(atBob.event['room'], 'lobby');

    const ackB = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi alice' } });
    const [atAlice] = await alice.collectEvents(1);
    assert.equal(atAlice?.event.id, ackB['id']);
    assert.equal(atAlice?.event['text'], 'hi alice');

    // A round trip through ping proves everything sent before it was already pushed (frames are in order).
    await alice.request({ type: 'ping' });
    await bob.request({ type: 'ping' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(alice.events.map((e) => e.event.id), [ackB['id']], 'alice never sees her own message');
    assert.deepEqual(bob.events.map((e) => e.event.id), [ackA['id']], 'bob never sees his own message');
    assert.equal(carol.events.length, 0, 'a client of an unlinked room sees nothing');

    const stream = await bridge.bus.readStream('lobby', undefined, 10);
    assert.deepEqual(stream.entries.map((e) => e.event.id), [ackA['id'], ackB['id']]);
    assert.equal(stream.entries[0]?.cursor, atBob.cursor, 'the pushed cursor is the stream cursor');
    await Promise.all([alice.request({ type: 'leave', room: 'lobby' }), bob.request({ type: 'leave', room: 'lobby' }), carol.request({ type: 'leave', room: 'other' })]);
  });

  test('two WS rooms linked by one bridge exchange, and a second session in the sender\'s room gets it too', async () => {
    const [inA, inB, alsoInA] = await Promise.all([connect(bridge.tokens.alice), connect(bridge.tokens.bob), connect(bridge.tokens.carol)]);
    await inA.request({ type: 'join', room: 'a' });
    await inB.request({ type: 'join', room: 'b' });
    await alsoInA.request({ type: 'join', room: 'a' });
    const ack1 = await inA.request({ type: 'send', room: 'a', event: { kind: 'message', text: 'from a' } });
    const ack2 = await inB.request({ type: 'send', room: 'b', event: { kind: 'message', text: 'from b' } });
    const [b1] = await inB.collectEvents(1);
    assert.equal(b1?.event.id, ack1['id']);
    assert.equal(b1?.room, 'b');
    assert.equal(b1?.event['room'], 'pair');
    const [a2] = await inA.collectEvents(1);
    assert.equal(a2?.event.id, ack2['id']);
    assert.equal(a2?.room, 'a');
    const both = await alsoInA.collectEvents(2);
    assert.deepEqual(both.map((e) => e.event.id), [ack1['id'], ack2['id']]);
    assert.deepEqual(both.map((e) => e.room), ['a', 'a']);
  });

  test('edit, retract, reaction, typing, presence and receipt round trip with the server filling the rest', async () => {
    const [alice, bob] = await Promise.all([connect(bridge.tokens.alice), connect(bridge.tokens.bob)]);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    const sent = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'typo' } });
    const target = String(sent['id']);
    const kinds = [
      { kind: 'edit', target, text: 'typo fixed' },
      { kind: 'reaction', target, reactions: ['👍', '🎉'] },
      { kind: 'typing', state: 'active' },
      { kind: 'presence', state: 'away', status: 'lunch' },
      { kind: 'receipt', target, receipt: 'displayed' },
      { kind: 'retract', target },
    ];
    const acks: string[] = [];
    for (const event of kinds) {
      const ack = await alice.request({ type: 'send', room: 'lobby', event });
      assert.equal(ack.type, 'ack', `${event.kind}: ${JSON.stringify(ack)}`);
      acks.push(String(ack['id']));
    }
    const got = await bob.collectEvents(1 + kinds.length);
    assert.deepEqual(got.map((e) => e.event.id), [target, ...acks], 'in order, ids as acknowledged');
    got.slice(1).forEach((frame, i) => {
      const { v, id, ts, room, sender, origin, ...fields } = frame.event;
      assert.deepEqual(fields, kinds[i]);
      assert.equal(v, 1);
      assert.equal(id, acks[i]);
      assert.equal(typeof ts, 'number');
      assert.equal(room, 'lobby');
      assert.deepEqual(sender, { network: 'websocket', id: 'alice', name: 'Alice' });
      assert.deepEqual(origin, { connector: 'websocket', endpoint: 'lobby', session: alice.hello['session'] });
    });
  });

  test('events from another network reach every session of the WS room', async () => {
    const [alice, bob] = await Promise.all([connect(bridge.tokens.alice), connect(bridge.tokens.bob)]);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    const ev = xmppMessage('from xmpp');
    await bridge.bus.publish([ev]);
    const [[a], [b]] = await Promise.all([alice.collectEvents(1), bob.collectEvents(1)]);
    assert.equal(a?.event.id, ev.id);
    assert.equal(b?.event.id, ev.id);
    assert.equal(a?.cursor, b?.cursor);
  });
});
