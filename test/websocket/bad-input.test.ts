import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, UpgradeRefused, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, metricValue, startBridge, streamOf, type TestBridge } from './harness.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';

async function refusal(promise: Promise<TestClient>): Promise<UpgradeRefused> {
  try {
    const c = await promise;
    await c.close();
  } catch (err) {
    if (err instanceof UpgradeRefused) return err;
    throw err;
  }
  assert.fail('the upgrade was accepted');
}

describe('websocket: bad input gets its documented error, changes nothing, and others keep being served', () => {
  let bridge: TestBridge;
  let alice: TestClient;
  let bob: TestClient;
  let mallory: TestClient;
  let expectedStream: string[] = [];

  before(async () => {
    bridge = await startBridge();
    alice = await connectClient(bridge.url, bridge.tokens.alice);
    bob = await connectClient(bridge.url, bridge.tokens.bob);
    mallory = await connectClient(bridge.url, bridge.tokens.carol);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
  });
  after(async () => {
    await Promise.all([alice, bob, mallory].map((c) => c?.close()));
    await bridge.stop();
  });

  /** The stream holds exactly what was acknowledged, and alice -> bob still works. */
  async function unchangedAndStillServed(): Promise<void> {
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), expectedStream, 'the bad input changed nothing on the bus');
    const ack = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'still here' } });
    assert.equal(ack.type, 'ack');
    const [got] = await bob.collectEvents(1);
    assert.equal(got?.event.id, ack['id']);
    expectedStream = [...expectedStream, String(ack['id'])];
  }

  async function expectError(frame: object | string | Buffer, code: string, messagePattern?: RegExp): Promise<void> {
    mallory.send(frame);
    const reply = await mallory.next((f) => f.type === 'error');
    assert.equal(reply['code'], code, JSON.stringify(reply));
    if (messagePattern) assert.match(String(reply['message']), messagePattern);
    await unchangedAndStillServed();
  }

  test('invalid JSON is bad_json', () => expectError('{"type": "send", ', 'bad_json'));
  test('JSON that is not an object is bad_frame', () => expectError('[1,2,3]', 'bad_frame', /object/));
  test('a binary frame is bad_frame', () => expectError(Buffer.from([1, 2, 3]), 'bad_frame', /binary/));
  test('an unknown frame type is unknown_type, with the ref echoed', async () => {
    mallory.send({ type: 'shout', ref: 'r-unknown' });
    const reply = await mallory.next((f) => f.ref === 'r-unknown');
    assert.deepEqual({ type: reply.type, code: reply['code'] }, { type: 'error', code: 'unknown_type' });
    await unchangedAndStillServed();
  });
  test('a missing field is bad_frame naming it', () => expectError({ type: 'join' }, 'bad_frame', /^room:/));
  test('an unknown field is bad_frame naming it', () => expectError({ type: 'join', room: 'lobby', sinse: '1-0' }, 'bad_frame', /sinse/));
  test('a rooms request takes nothing but ref: another field is bad_frame naming it', () => expectError({ type: 'rooms', room: 'lobby' }, 'bad_frame', /room/));
  test('a ref over 64 chars is bad_frame', () => expectError({ type: 'ping', ref: 'x'.repeat(65) }, 'bad_frame', /ref/));
  test('an unknown room is unknown_room', () => expectError({ type: 'join', room: 'nowhere' }, 'unknown_room'));
  test('a room field over 256 characters is bad_frame, also for a direct chat', () => expectError({ type: 'join', room: `@xmpp:${'a'.repeat(251)}` }, 'bad_frame', /^room: Too big/));
  test('a direct chat address too long for a room key (both parties over 256) is unknown_room', () =>
    expectError({ type: 'send', room: `@xmpp:${'a'.repeat(250)}`, event: { kind: 'message', text: 'x' } }, 'unknown_room', /too long for a room key/));
  test('sending to a room not joined is not_joined', () => expectError({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'sneaky' } }, 'not_joined'));
  test('leaving a room not joined is not_joined', () => expectError({ type: 'leave', room: 'lobby' }, 'not_joined'));
  test('subscribe from a client token is forbidden', () => expectError({ type: 'subscribe', room: 'lobby' }, 'forbidden', /bot/));

  test('a room outside the token\'s rooms is forbidden', async () => {
    const limited = await connectClient(bridge.url, bridge.tokens.limited);
    try {
      const reply = await limited.request({ type: 'join', room: 'secret' });
      assert.deepEqual({ type: reply.type, code: reply['code'] }, { type: 'error', code: 'forbidden' });
      await unchangedAndStillServed();
    } finally {
      await limited.close();
    }
  });

  test('invalid event fields are invalid_event naming the field', async () => {
    const joined = await mallory.request({ type: 'join', room: 'lobby' });
    assert.equal(joined.type, 'joined');
    const cases: [object, RegExp][] = [
      [{ kind: 'message' }, /^event\.text/],
      [{ kind: 'message', text: '' }, /^event\.text/],
      [{ kind: 'message', text: 'hi', spans: [{ type: 'bold', offset: 1, length: 5 }] }, /^event\.spans/],
      [{ kind: 'edit', target: 'not-an-id', text: 'x' }, /^event\.target/],
      [{ kind: 'presence', state: 'sleepy' }, /^event\.state/],
      [{ kind: 'membership', action: 'join' }, /^event\.kind/],
      [{ kind: 'shout', text: 'x' }, /^event\.kind/],
      [{ kind: 'message', text: 'x', id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, /^event\.id: set by the server/],
      [{ kind: 'message', text: 'x', sender: { network: 'xmpp', id: 'admin' } }, /^event\.sender/],
      // A moderator's removal of anyone's message: only a moderator token's.
      [{ kind: 'retract', target: '01ARZ3NDEKTSV4RRFFQ69G5FAV', moderation: { reason: 'spam' } }, /^event\.moderation: only a moderator token/],
      // A room's topic: only a moderator token's.
      [{ kind: 'topic', text: 'hijacked' }, /^event\.kind: topic: only a moderator token/],
      [{ kind: 'message', text: 'x', color: 'red' }, /^event.*color/],
    ];
    for (const [event, pattern] of cases) {
      const reply = await mallory.request({ type: 'send', room: 'lobby', event });
      assert.deepEqual({ type: reply.type, code: reply['code'] }, { type: 'error', code: 'invalid_event' }, JSON.stringify(event));
      assert.match(String(reply['message']), pattern, JSON.stringify(reply));
    }
    await unchangedAndStillServed();
    await mallory.request({ type: 'leave', room: 'lobby' });
  });

  test('every problem inside event is invalid_event with the room (a missing or mistyped kind, __proto__ at any depth); a frame-level __proto__ is bad_frame', async () => {
    const joined = await mallory.request({ type: 'join', room: 'lobby' });
    assert.equal(joined.type, 'joined');
    const send = (ref: string, event: string) => `{"type":"send","ref":"${ref}","room":"lobby","event":${event}}`;
    const cases: [string, string, RegExp][] = [
      ['e23', send('e23', '{"text":"no kind"}'), /^event\.kind: must be one of message, /],
      ['e24', send('e24', '{"kind":7,"text":"x"}'), /^event\.kind: must be one of /],
      ['e25', send('e25', `{"kind":"${'m'.repeat(40)}","text":"x"}`), /^event\.kind: must be one of /],
      ['e26', send('e26', '{"kind":"message","text":"x","__proto__":{"a":1}}'), /^event: unknown field "__proto__"$/],
      // The same key spelled with a JSON escape is the same key once parsed.
      ['e27', send('e27', '{"kind":"message","text":"x","\\u005f_proto__":{"a":1}}'), /^event: unknown field "__proto__"$/],
      ['e28', send('e28', '{"kind":"message","text":"xy","spans":[{"type":"bold","offset":0,"length":1,"__proto__":{}}]}'), /^event\.spans\.0: unknown field "__proto__"$/],
      ['e29', send('e29', '{"kind":"message","text":"x","colour":"red"}'), /^event: unknown field "colour"$/],
    ];
    for (const [ref, text, pattern] of cases) {
      mallory.send(text);
      const reply = await mallory.next((f) => f.ref === ref);
      assert.deepEqual({ type: reply.type, code: reply['code'], room: reply['room'] }, { type: 'error', code: 'invalid_event', room: 'lobby' }, text);
      assert.match(String(reply['message']), pattern, JSON.stringify(reply));
    }
    // The frame itself: bad_frame, the message naming the field without an empty path before it.
    for (const [ref, text, message] of [
      ['f1', '{"type":"ping","ref":"f1","__proto__":{"a":1}}', 'unknown field "__proto__"'],
      ['f2', '{"type":"send","ref":"f2","room":"lobby","__proto__":{},"event":{"kind":"message","text":"x"}}', 'unknown field "__proto__"'],
      ['f3', '{"type":"send","ref":"f3","room":"lobby","event":"hello"}', 'event: must be an object'],
      ['f4', '{"type":"send","ref":"f4","room":"lobby","event":[]}', 'event: must be an object'],
    ] as const) {
      mallory.send(text);
      const reply = await mallory.next((f) => f.ref === ref);
      assert.deepEqual({ type: reply.type, code: reply['code'], message: reply['message'] }, { type: 'error', code: 'bad_frame', message }, text);
    }
    await unchangedAndStillServed();
    await mallory.request({ type: 'leave', room: 'lobby' });
  });

  test('an oversize frame closes that connection with 1009; others are unaffected', async () => {
    const big = await connectClient(bridge.url, bridge.tokens.carol);
    big.send({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'x'.repeat(bridge.config.maxPayloadBytes + 1) } });
    const closed = await big.closed;
    assert.equal(closed.code, 1009);
    await unchangedAndStillServed();
  });

  test('missing or wrong token is 401, a foreign Origin 403, each with a JSON error body', async () => {
    const missing = await refusal(connectClient(bridge.url, undefined));
    assert.equal(missing.status, 401);
    assert.deepEqual(JSON.parse(missing.body).error.code, 'unauthorized');
    const wrong = await refusal(connectClient(bridge.url, 'sb_not-a-real-token'));
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).error.code, 'unauthorized');
    const wrongInQuery = await refusal(connectClient(bridge.url, 'sb_nope', { tokenInQuery: true }));
    assert.equal(wrongInQuery.status, 401);
    const foreign = await refusal(connectClient(bridge.url, bridge.tokens.alice, { origin: 'https://evil.example.com' }));
    assert.equal(foreign.status, 403);
    assert.equal(JSON.parse(foreign.body).error.code, 'forbidden_origin');
    // The allowed Origin and the browser-style query token both work.
    const browser = await connectClient(bridge.url, bridge.tokens.alice, { origin: 'https://chat.example.org', tokenInQuery: true });
    assert.equal(browser.hello['user'], 'alice');
    await browser.close();
    assert.equal(await metricValue(bridge.registry, 'switchboard_ws_upgrades_refused_total', { code: 'unauthorized' }), 3);
    await unchangedAndStillServed();
  });

  test('errors are counted by code', async () => {
    assert.ok(await metricValue(bridge.registry, 'switchboard_ws_errors_total', { code: 'invalid_event' }) >= 10);
    assert.ok(await metricValue(bridge.registry, 'switchboard_ws_errors_total', { code: 'bad_json' }) >= 1);
    assert.ok(await metricValue(bridge.registry, 'switchboard_ws_acks_total') >= expectedStream.length);
  });
});

describe('websocket: rate limit', () => {
  let bridge: TestBridge;
  before(async () => { bridge = await startBridge({ websocket: { rateLimit: { perSecond: 1, burst: 5 } } }); });
  after(async () => { await bridge.stop(); });

  test('frames past the burst are dropped with rate_limited (never published); ignoring it through a whole burst closes with 1008', async () => {
    const noisy = await connectClient(bridge.url, bridge.tokens.alice);
    const calm = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      noisy.send({ type: 'join', room: 'lobby', ref: 'j' });
      for (let i = 0; i < 9; i++) noisy.send({ type: 'send', room: 'lobby', ref: `s${i}`, event: { kind: 'message', text: `n${i}` } });
      const replies = await Promise.all(['j', ...Array.from({ length: 9 }, (_, i) => `s${i}`)].map((ref) => noisy.next((f) => f.ref === ref)));
      const limited = replies.filter((r) => r['code'] === 'rate_limited');
      const acks = replies.filter((r) => r.type === 'ack');
      assert.equal(replies[0]?.type, 'joined');
      assert.ok(limited.length >= 4 && limited.length <= 5, `rate_limited: ${limited.length}`);
      assert.equal(acks.length + limited.length, 9);
      assert.deepEqual(await streamOf(bridge.bus, 'lobby'), acks.map((a) => a['id']), 'only acknowledged frames reached the bus');

      // The calm client on its own bucket is unaffected.
      assert.equal((await calm.request({ type: 'ping' })).type, 'pong');

      // Keep hammering: after a burst's worth of ignored rate_limited errors the server hangs up.
      for (let i = 0; i < 20 && noisy.ws.readyState === noisy.ws.OPEN; i++) noisy.send({ type: 'ping' });
      const closed = await noisy.closed;
      assert.deepEqual(closed, { code: 1008, reason: 'rate limit exceeded' });
      assert.equal((await calm.request({ type: 'ping' })).type, 'pong');
    } finally {
      await noisy.close();
      await calm.close();
    }
  });
});

describe('websocket: acks wait for the bus', () => {
  /**
   * A MemoryBus whose publish is held until released, or fails: `failNext` publishes fail, and,
   * as the redis driver's batcher does after a failed write, so does every publish until the
   * event loop turns.
   */
  class GatedBus extends MemoryBus {
    gate: Promise<void> = Promise.resolve();
    failNext = 0;
    private failing = false;
    override async publish(events: readonly CanonicalEvent[]): Promise<void> {
      if (this.failing) throw new Error('redis is down');
      await this.gate;
      if (this.failNext > 0 || this.failing) {
        this.failNext = Math.max(0, this.failNext - 1);
        this.failing = true;
        setImmediate(() => { this.failing = false; });
        throw new Error('redis is down');
      }
      return super.publish(events);
    }
  }
  let bus: GatedBus;
  let bridge: TestBridge;
  before(async () => {
    bus = new GatedBus(busOptions(createRegistry(false)));
    bridge = await startBridge({ bus });
  });
  after(async () => { await bridge.stop(); await bus.close(); });

  test('no ack before publish resolved; a failed publish is unavailable and acknowledges nothing; answers keep frame order', async () => {
    const alice = await connectClient(bridge.url, bridge.tokens.alice);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      let release: () => void = () => undefined;
      bus.gate = new Promise((resolve) => { release = resolve; });
      const acked = alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'held' } });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(alice.frames.filter((f) => f.type === 'ack').length, 0, 'no ack while the bus has not accepted the event');
      release();
      const ack = await acked;
      assert.equal(ack.type, 'ack');
      assert.deepEqual(await streamOf(bus, 'lobby'), [ack['id']]);

      // Sends overlap on the bus, yet every answer keeps frame order: ack, error, ack, pong.
      bus.gate = new Promise((resolve) => { release = resolve; });
      alice.send({ type: 'send', room: 'lobby', ref: 'o1', event: { kind: 'message', text: 'one' } });
      alice.send({ type: 'send', room: 'lobby', ref: 'o2', event: { kind: 'message' } });
      alice.send({ type: 'send', room: 'lobby', ref: 'o3', event: { kind: 'message', text: 'three' } });
      alice.send({ type: 'ping', ref: 'o4' });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(alice.frames.filter((f) => f.ref?.startsWith('o')).length, 0, 'nothing answered while the first publish is held');
      release();
      await alice.next((f) => f.ref === 'o4');
      assert.deepEqual(alice.frames.filter((f) => f.ref?.startsWith('o')).map((f) => `${f.ref}:${f.type}`), ['o1:ack', 'o2:error', 'o3:ack', 'o4:pong']);

      // The bus fails: the failed send and every send after it are refused (nothing acknowledged,
      // nothing published), and the connection closes with 1013 once the answers are out.
      const before = await streamOf(bus, 'lobby');
      bus.failNext = 1; // the bus is back right after: f2 must still not overtake f1
      alice.send({ type: 'send', room: 'lobby', ref: 'f1', txn: 'f1', event: { kind: 'message', text: 'lost?' } });
      alice.send({ type: 'send', room: 'lobby', ref: 'f2', txn: 'f2', event: { kind: 'message', text: 'after' } });
      alice.send({ type: 'ping', ref: 'f3' });
      const closed = await alice.closed;
      assert.equal(closed.code, 1013);
      // f2 and f3 are answered if they were read before the connection stopped reading; never with an ack.
      const answers = alice.frames.filter((f) => f.ref?.startsWith('f')).map((f) => `${f.ref}:${f.type}:${String(f['code'])}`);
      assert.equal(answers[0], 'f1:error:unavailable');
      assert.deepEqual(answers.slice(1).filter((a) => a !== 'f2:error:unavailable' && a !== 'f3:pong:undefined'), []);
      assert.deepEqual(await streamOf(bus, 'lobby'), before, 'nothing of the refused sends was published');
      // Resending what was not acknowledged, in order, keeps the order.
      const again = await connectClient(bridge.url, bridge.tokens.alice);
      try {
        await again.request({ type: 'join', room: 'lobby' });
        const f1 = await again.request({ type: 'send', room: 'lobby', txn: 'f1', event: { kind: 'message', text: 'lost?' } });
        const f2 = await again.request({ type: 'send', room: 'lobby', txn: 'f2', event: { kind: 'message', text: 'after' } });
        assert.deepEqual(await streamOf(bus, 'lobby'), [...before, f1['id'], f2['id']]);
      } finally {
        await again.close();
      }
    } finally {
      await alice.close();
    }
  });
});
