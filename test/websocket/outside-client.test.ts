import WebSocket from 'ws';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startBridge, streamOf, xmppMessage, type TestBridge } from './harness.ts';

/**
 * What an independent client written from docs/websocket-protocol.md alone found (issue #7 §3),
 * and client transaction ids (§2): each behaves as the protocol document now says.
 */
describe('websocket: what an outside client relies on', () => {
  let bridge: TestBridge;
  let alice: TestClient;
  let bob: TestClient;

  before(async () => {
    bridge = await startBridge();
    alice = await connectClient(bridge.url, bridge.tokens.alice);
    bob = await connectClient(bridge.url, bridge.tokens.bob);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
  });
  after(async () => {
    await Promise.all([alice, bob].map((c) => c?.close()));
    await bridge.stop();
  });

  test('send with txn: a resend on another connection is acknowledged with the first id and duplicate: true; the room gets it once', async () => {
    const first = await alice.request({ type: 'send', txn: 'msg-1', room: 'lobby', event: { kind: 'message', text: 'once' } });
    assert.equal(first.type, 'ack');
    assert.equal(first['duplicate'], undefined);
    const again = await connectClient(bridge.url, bridge.tokens.alice);
    try {
      await again.request({ type: 'join', room: 'lobby' });
      const resent = await again.request({ type: 'send', txn: 'msg-1', room: 'lobby', event: { kind: 'message', text: 'once' } });
      assert.deepEqual([resent.type, resent['id'], resent['duplicate']], ['ack', first['id'], true]);
    } finally {
      await again.close();
    }
    // The same txn from another token is another transaction.
    const bobs = await bob.request({ type: 'send', txn: 'msg-1', room: 'lobby', event: { kind: 'message', text: 'mine' } });
    assert.notEqual(bobs['id'], first['id']);
    assert.equal(bobs['duplicate'], undefined);
    await bob.request({ type: 'ping' });
    const stream = await streamOf(bridge.bus, 'lobby');
    assert.equal(stream.filter((id) => id === first['id']).length, 1);
    assert.ok(stream.includes(String(bobs['id'])));
    const [atBob] = await bob.collectEvents(1);
    assert.equal(atBob?.event.id, first['id']);
  });

  test('a txn that is empty, too long or has spaces is bad_frame and publishes nothing', async () => {
    const before = await streamOf(bridge.bus, 'lobby');
    for (const txn of ['', 'x'.repeat(65), 'has space']) {
      const reply = await alice.request({ type: 'send', txn, room: 'lobby', event: { kind: 'message', text: 'no' } });
      assert.deepEqual([reply.type, reply['code']], ['error', 'bad_frame'], txn);
      assert.match(String(reply['message']), /^txn: /);
    }
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before);
  });

  test('a message with attachments and no text field is accepted (text or attachment)', async () => {
    const attachment = { id: 'a1', name: 'cat.png', mime: 'image/png', size: 3, sha256: 'a'.repeat(64), url: 'https://files.example.org/cat.png' };
    const ack = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', attachments: [attachment] } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const [got] = await bob.collectEvents(1);
    assert.equal(got?.event.id, ack['id']);
    assert.equal(got?.event['text'], '');
    const empty = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message' } });
    assert.deepEqual([empty.type, empty['code']], ['error', 'invalid_event']);
  });

  test('lone surrogates are refused with invalid_event naming the field; paired ones pass', async () => {
    const before = await streamOf(bridge.bus, 'lobby');
    for (const event of [
      { kind: 'message', text: 'broken \ud800 text' },
      { kind: 'message', text: 'end \udfff' },
      { kind: 'presence', state: 'away', status: '\ud83d' },
    ]) {
      const reply = await alice.request({ type: 'send', room: 'lobby', event });
      assert.deepEqual([reply.type, reply['code']], ['error', 'invalid_event'], JSON.stringify(event));
      assert.match(String(reply['message']), /^event\.(text|status): contains a lone UTF-16 surrogate/);
    }
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before);
    const ok = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'fine 😀' } });
    assert.equal(ok.type, 'ack');
    await bob.collectEvents(1);
  });

  test('__proto__ inside event is refused like any unknown field, not acked and dropped', async () => {
    const before = await streamOf(bridge.bus, 'lobby');
    alice.send('{"type":"send","ref":"p1","room":"lobby","event":{"kind":"message","text":"x","__proto__":{"admin":true}}}');
    const reply = await alice.next((f) => f.ref === 'p1');
    assert.deepEqual([reply.type, reply['code'], reply['room']], ['error', 'invalid_event', 'lobby']);
    assert.equal(reply['message'], 'event: unknown field "__proto__"');
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before);
  });

  test('unknown fields are named readably, and an error for thousands of them stays small', async () => {
    const one = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'typing', state: 'active', extra: 1 } });
    assert.equal(one['message'], 'event: unknown field "extra"');
    const keys = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]));
    const many = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'typing', state: 'active', ...keys } });
    assert.equal(many['code'], 'invalid_event');
    assert.match(String(many['message']), /^event: unknown fields "k0", "k1", "k2", "k3", "k4" and 2995 more$/);
    const frameLevel = await alice.request({ type: 'ping', ...keys });
    assert.equal(frameLevel['code'], 'bad_frame');
    assert.ok(JSON.stringify(frameLevel).length < 300, `error frame of ${JSON.stringify(frameLevel).length} bytes`);
  });

  test('since null (no cursor yet) replays everything retained; since ahead of the stream is cursor_ahead and joins nothing', async () => {
    const carol = await connectClient(bridge.url, bridge.tokens.carol);
    try {
      const all = await streamOf(bridge.bus, 'lobby');
      const joined = await carol.request({ type: 'join', room: 'lobby', since: null });
      assert.deepEqual([joined.type, joined['cursor']], ['joined', null]);
      const replay = await carol.collectEvents(all.length);
      assert.deepEqual(replay.map((e) => e.event.id), all);

      const latest = await bridge.bus.latestCursor('lobby');
      assert.ok(latest);
      const ahead = `${Number(latest.split('-')[0]) + 60_000}-0`;
      const refused = await carol.request({ type: 'join', room: 'lobby', since: ahead });
      assert.deepEqual([refused.type, refused['code']], ['error', 'cursor_ahead']);
      // The refused join changed nothing: carol is still in the room from the first join.
      await bridge.bus.publish([xmppMessage('still joined')]);
      const [live] = await carol.collectEvents(1);
      assert.equal(live?.event['text'], 'still joined');
      await bob.collectEvents(1);
    } finally {
      await carol.close();
    }
  });

  test('a subprotocol offered is not agreed to (v1 defines none): no Sec-WebSocket-Protocol in the answer, and ws then fails the connection itself', async () => {
    const ws = new WebSocket(bridge.url, ['switchboard.v1', 'graphql-ws'], { headers: { authorization: `Bearer ${bridge.tokens.carol}` } });
    const answer = new Promise<Record<string, unknown>>((resolve) => ws.once('upgrade', (res) => resolve(res.headers)));
    const failed = await new Promise<Error | undefined>((resolve) => {
      ws.once('error', resolve);
      ws.once('open', () => { ws.close(); resolve(undefined); });
    });
    assert.equal((await answer)['sec-websocket-protocol'], undefined);
    assert.match(String(failed?.message), /no subprotocol/);
  });
});

describe('websocket: rate limit under sustained overflow', () => {
  let bridge: TestBridge;
  before(async () => { bridge = await startBridge({ websocket: { rateLimit: { perSecond: 50, burst: 10 } } }); });
  after(async () => { await bridge.stop(); });

  test('a client sending at twice the rate (some frames accepted) is still cut off with 1008 after a burst\'s worth of drops', async () => {
    const client = await connectClient(bridge.url, bridge.tokens.carol);
    try {
      // 100 frames/s against 50/s allowed: every other frame passes, which used to reset the count forever.
      let sent = 0;
      const timer = setInterval(() => {
        if (client.ws.readyState === client.ws.OPEN && sent < 400) client.send({ type: 'ping', ref: `p${sent++}` });
      }, 10);
      const closed = await client.closed;
      clearInterval(timer);
      assert.deepEqual(closed, { code: 1008, reason: 'rate limit exceeded' });
      const limited = client.frames.filter((f) => f['code'] === 'rate_limited');
      assert.ok(limited.length >= 10 && limited.length <= 11, `rate_limited answers: ${limited.length} (bounded by the burst)`);
      assert.ok(limited.every((f) => typeof f.ref === 'string' && f.ref.startsWith('p')), 'dropped frames are answered with their ref');
      assert.ok(sent < 400, `cut off after ${sent} frames`);
    } finally {
      await client.close();
    }
  });

  test('a client that overflows briefly, then pauses, is not cut off', async () => {
    const client = await connectClient(bridge.url, bridge.tokens.alice);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 15; i++) client.send({ type: 'ping', ref: `b${round}-${i}` }); // 5 over the burst
        await client.next((f) => f.ref === `b${round}-14`);
        await new Promise((r) => setTimeout(r, 300)); // refills the bucket (10 tokens at 50/s)
      }
      const pong = await client.request({ type: 'ping' });
      assert.equal(pong.type, 'pong');
    } finally {
      await client.close();
    }
  });
});
