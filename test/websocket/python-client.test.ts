// The WebSocket protocol with a client that is not built on `ws`: Debian's python3-websockets
// (10.4, RFC 6455-strict, permessage-deflate offered by default), run as a child process by
// test/websocket/python-client.py, a bot written from docs/websocket-protocol.md alone. It chats
// with a node client in `lobby`, resumes from its cursor, sends the bad input an outside client can
// send (each on a connection of its own), and hears the server shut down. Each of its steps is
// checked here; after every bad input the room's stream is unchanged and the others are served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { pythonWith, runPythonChild } from '../helpers/python-child.ts';
import { waitFor } from '../helpers/wait.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { startBridge, streamOf, xmppMessage, type TestBridge } from './harness.ts';

const SCRIPT = fileURLToPath(new URL('./python-client.py', import.meta.url));

type Frame = Record<string, unknown>;

async function nodeEvent(c: TestClient, kind: string): Promise<EventFrame['event']> {
  return ((await c.next((f) => f.type === 'event' && (f as EventFrame).event.kind === kind, 10_000)) as EventFrame).event;
}

test('a python websockets 10.4 bot, written from the protocol document, chats, resumes, is refused bad input cleanly and hears the shutdown', { timeout: 90_000 }, async () => {
  const python = pythonWith('websockets', 'python websockets', 'python3-websockets'); // first: without it the test fails here, with nothing started
  // The shortest heartbeat the config takes, so that the server's pings show within the test.
  const bridge: TestBridge = await startBridge({ websocket: { heartbeatMs: 1_000 } });
  let stopped = false;
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  const py = runPythonChild(python, SCRIPT, [bridge.url, bridge.tokens.alice], 'python', 20_000);
  try {
    await bob.request({ type: 'join', room: 'lobby' });

    const refusals = await py.step('refusals');
    assert.deepEqual([refusals['none'], refusals['wrong'], refusals['origin']], [401, 401, 403], JSON.stringify(refusals));
    assert.deepEqual(refusals['none_raw'], { status: 401, type: 'application/json; charset=utf-8', www: 'Bearer realm="switchboard"', body: { error: { code: 'unauthorized', message: 'missing access token' } } });
    assert.deepEqual((refusals['origin_raw'] as Frame)['status'], 403);
    assert.equal(((refusals['origin_raw'] as { body: { error: Frame } }).body.error)['code'], 'forbidden_origin');

    assert.deepEqual(await py.step('query-token'), { step: 'query-token', user: 'alice', subprotocol: null }, 'no subprotocol is agreed to: the protocol defines none');
    assert.equal((await py.step('query-token-closed'))['code'], 1000);

    const hello = await py.step('hello');
    assert.deepEqual([hello['extensions'], hello['subprotocol']], [[], null], 'permessage-deflate offered and declined (the docs say so)');
    const h = hello['hello'] as Frame;
    assert.deepEqual([h['type'], h['protocol'], h['user'], h['scope']], ['hello', 1, 'alice', 'client']);
    assert.equal((h['limits'] as Frame)['heartbeatMs'], 1_000);

    const joined = await py.step('joined');
    assert.deepEqual((joined['joined'] as Frame)['type'], 'joined');
    assert.deepEqual(joined['pong'], { type: 'pong', ref: 'p1' });

    // node -> python: a message with a span at a UTF-16 offset (the emoji is two units).
    const fromNode = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: '🙂 hi python', spans: [{ type: 'bold', offset: 3, length: 2 }] } });
    const got = (await py.step('got'))['frame'] as EventFrame;
    assert.deepEqual([got.room, got.event.id, got.event['text'], got.event['spans']], ['lobby', fromNode['id'], '🙂 hi python', [{ type: 'bold', offset: 3, length: 2 }]]);

    // python -> node, once, whatever its resend.
    const sent = await py.step('sent');
    const [first, second] = [sent['first'] as Frame, sent['second'] as Frame];
    assert.deepEqual([first['type'], first['ref'], first['duplicate']], ['ack', 's1', undefined]);
    assert.deepEqual(second, { type: 'ack', ref: 's2', id: first['id'], room: 'lobby', duplicate: true });
    const atBob = await nodeEvent(bob, 'message');
    assert.deepEqual([atBob.id, atBob['text'], atBob['sender']], [first['id'], 'héllo from python 🐍', { network: 'websocket', id: 'alice', name: 'Alice' }]);

    const actions = await py.step('actions');
    const acks = actions['acks'] as Record<string, Frame>;
    for (const [name, ack] of Object.entries(acks)) assert.equal(ack['type'], 'ack', `${name}: ${JSON.stringify(ack)}`);
    const reply = await nodeEvent(bob, 'message');
    assert.deepEqual([reply['text'], reply['replyTo']], ['a reply', fromNode['id']]);
    assert.deepEqual([(await nodeEvent(bob, 'edit'))['target'], (await nodeEvent(bob, 'reaction'))['reactions']], [first['id'], ['👍']]);
    assert.equal((await nodeEvent(bob, 'typing'))['state'], 'active');
    assert.equal((await nodeEvent(bob, 'message'))['text'], 'doomed');
    assert.equal((await nodeEvent(bob, 'retract'))['target'], actions['doomed']);

    // node acts on python's message and on its own.
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: fromNode['id'], text: '🙂 hi python (edited)' } });
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: first['id'], reactions: ['🐍', '❤️'] } });
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'answer', replyTo: first['id'] } });
    const seen = (await py.step('node-actions'))['events'] as Frame[];
    assert.deepEqual(seen.map((e) => [e['kind'], e['target'] ?? e['replyTo'], e['text'] ?? e['reactions']]), [
      ['edit', fromNode['id'], '🙂 hi python (edited)'],
      ['reaction', first['id'], ['🐍', '❤️']],
      ['message', first['id'], 'answer'],
    ]);

    const fragmented = await py.step('fragmented');
    assert.deepEqual(fragmented['pong'], { type: 'pong', ref: 'frag' });
    assert.equal((fragmented['ack'] as Frame)['type'], 'ack', JSON.stringify(fragmented));
    assert.equal((await nodeEvent(bob, 'message'))['text'], 'in ');

    // A large message both ways (uncompressed: the server declines permessage-deflate).
    const big = await py.step('big');
    assert.equal((big['ack'] as Frame)['type'], 'ack', JSON.stringify(big['ack']));
    const bigAtBob = await nodeEvent(bob, 'message');
    assert.equal(String(bigAtBob['text']).length, big['chars']);
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: String(bigAtBob['text']).toUpperCase() } });
    assert.deepEqual(await py.step('big-back'), { step: 'big-back', chars: big['chars'], same: true });

    const keepalive = await py.step('keepalive');
    assert.ok(typeof keepalive['rtt'] === 'number' && keepalive['rtt'] < 5, `our ping was answered: ${JSON.stringify(keepalive)}`);
    assert.ok(Number(keepalive['server_pings']) >= 2, `the server pinged and python's answers kept it open: ${JSON.stringify(keepalive)}`);
    assert.deepEqual(keepalive['alive'], { type: 'pong', ref: 'alive' });

    // Bad input: a clear answer, nothing published, and everybody else still served.
    const before = await streamOf(bridge.bus, 'lobby');
    const bad = async (name: string) => {
      const s = await py.step(`bad-${name}`);
      assert.equal(s['still'], 'pong', `${name}: python's main connection still served`);
      return s['result'] as Frame;
    };
    const binary = await bad('binary');
    assert.deepEqual([(binary['frame'] as Frame)['code'], binary['then']], ['bad_frame', 'pong'], JSON.stringify(binary));
    const json = await bad('json');
    assert.deepEqual([(json['frame'] as Frame)['code'], json['then']], ['bad_json', 'pong'], JSON.stringify(json));
    assert.deepEqual(await bad('utf8'), { code: 1007, reason: '', sent: 1007 });
    assert.deepEqual(await bad('oversize'), { code: 1009, reason: '', sent: 1009 });
    assert.deepEqual(await bad('inflated'), { code: 1009, reason: '', sent: 1009 });
    assert.deepEqual(await bad('fragments'), { code: 1009, reason: '', sent: 1009 });
    assert.deepEqual(await bad('unmasked'), { code: 1002, reason: '', sent: 1002 });
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before, 'bad input published nothing');
    assert.equal((await bob.request({ type: 'ping' })).type, 'pong', 'the node client is still served');

    // Away: three things happen; back: exactly those, then live.
    const away = await py.step('away');
    assert.equal(away['code'], 1000);
    // Every bad connection is gone from the server, and python's main one: bob's is left.
    await waitFor(() => bridge.connector.connections === 1, { timeoutMs: 5_000, what: 'bob alone connected' });
    const m1 = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while away 1' } });
    const m2 = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while away 2' } });
    const e1 = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: m1['id'], text: 'while away 1 (edited)' } });
    py.write('go');
    const resumed = await py.step('resumed');
    assert.deepEqual((resumed['joined'] as Frame)['type'], 'joined');
    const missed = resumed['missed'] as EventFrame[];
    assert.deepEqual(missed.map((f) => [f.type, f.event.id]), [['event', m1['id']], ['event', m2['id']], ['event', e1['id']]], JSON.stringify(missed));
    const live = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'live again' } });
    const back = await py.step('live');
    assert.deepEqual([(back['frame'] as EventFrame).event.id, back['extra']], [live['id'], []]);

    // An MTProto message may carry 1,024 links (TextUrl entities), each URL up to 2,048 characters.
    assert.equal((await py.step('waiting-large'))['max_size'], 2 ** 20, "the library's default");
    const url = `https://example.org/${'u'.repeat(1_500)}`;
    const links = Array.from({ length: 1_024 }, (_, i) => ({ type: 'link' as const, offset: i, length: 1, url }));
    const { v, id, ts, room, sender, origin } = xmppMessage('');
    const large: CanonicalEvent = { v, id, ts, room, sender, origin, kind: 'message', text: 'x'.repeat(1_024), spans: links };
    await bridge.bus.publish([large]);
    const got1009 = await py.step('large');
    const { seconds, ...cut } = got1009['cut'] as Frame;
    assert.deepEqual(cut, { code: null, reason: null, sent: 1009 }, `python closed it itself, "message too big", and gave up on the server's answer after ${String(seconds)} s`);
    assert.ok(Number(got1009['bytes']) > 2 ** 20, String(got1009['bytes']));
    assert.equal(got1009['spans'], 1_024);

    await py.step('waiting-shutdown');
    const bobClosed = bob.closed;
    await bridge.stop();
    stopped = true;
    assert.deepEqual((await py.step('shutdown'))['close'], { code: 1001, reason: 'going away', sent: 1001 });
    assert.deepEqual(await bobClosed, { code: 1001, reason: 'going away' });
    assert.equal(await py.exited, 0, py.stderr());
  } finally {
    await py.stop();
    await bob.close();
    if (!stopped) await bridge.stop();
  }
});
