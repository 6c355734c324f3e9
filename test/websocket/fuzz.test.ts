// Arbitrary frames into a live WebSocket session (fast-check): anything JSON, and frames of every
// type with arbitrary rooms, cursors, transaction ids and events. Each gets exactly its answer
// (the frame with its ref, or an error naming what is wrong), the connection stays open, and the
// room's stream holds exactly the events that were acknowledged: bad input changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectClient, type ServerFrame } from '../helpers/ws-client.ts';
import { startBridge, streamOf } from './harness.ts';

const span = fc.record({
  type: fc.constantFrom('bold', 'italic', 'code', 'link', 'mention', 'strike', 'x'),
  offset: fc.integer({ min: -2, max: 60 }), length: fc.integer({ min: -2, max: 60 }),
  url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 })), user: fc.string({ maxLength: 20 }),
}, { requiredKeys: ['type', 'offset', 'length'] });

const attachment = fc.record({
  id: fc.string({ maxLength: 20 }), name: fc.string({ maxLength: 20 }), mime: fc.constantFrom('text/plain', 'image/png', 'nope'),
  size: fc.integer({ min: -1, max: 1_000 }), sha256: fc.oneof(fc.constant('ab'.repeat(32)), fc.string({ maxLength: 64 })), url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 20 })),
}, { requiredKeys: [] });

/** An event id: often the last one acknowledged (the property fills it in), else anything. */
const target = fc.oneof(fc.constant('$last'), fc.constant('$last'), fc.string({ maxLength: 30 }));

const event = fc.oneof(
  fc.record({ kind: fc.constant('message'), text: fc.string({ minLength: 1, maxLength: 40 }) }, { requiredKeys: ['kind', 'text'] }),
  fc.record({ kind: fc.constant('message'), text: fc.string({ minLength: 1, maxLength: 40 }), spans: fc.array(span, { maxLength: 3 }), replyTo: target, attachments: fc.array(attachment, { maxLength: 2 }) }, { requiredKeys: ['kind', 'text'] }),
  fc.record({ kind: fc.constant('edit'), target, text: fc.string({ maxLength: 40 }) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constantFrom('retract', 'reaction'), target, reactions: fc.array(fc.constantFrom('👍', '🎉', '', 'xx'), { maxLength: 4 }) }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constantFrom('typing', 'presence'), state: fc.constantFrom('active', 'stopped', 'available', 'offline', 'x') }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.constantFrom('receipt', 'membership', 'weird'), target: fc.string({ maxLength: 30 }), receipt: fc.constantFrom('delivered', 'displayed', 'x'), action: fc.constantFrom('join', 'leave') }, { requiredKeys: ['kind'] }),
  fc.record({ kind: fc.string({ maxLength: 40 }), extra: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['kind'] }),
);

const room = fc.oneof(fc.constant('lobby'), fc.constant('lobby'), fc.constant('@websocket:bob'), fc.string({ maxLength: 40 }));
const since = fc.oneof(fc.constant(null), fc.constant('0-0'), fc.string({ maxLength: 70 }));
const txn = fc.oneof(fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'b', '1') }), fc.string({ maxLength: 70 }));

/** Frames of each type, mostly of the right shape (so they get past parsing), sometimes with an unknown field. */
const typed = fc.oneof(
  fc.record({ type: fc.constant('join'), room, since }, { requiredKeys: ['type', 'room'] }),
  fc.record({ type: fc.constant('leave'), room }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('send'), room, txn, event }, { requiredKeys: ['type', 'room', 'event'] }),
  fc.record({ type: fc.constant('send'), room, txn, event }, { requiredKeys: ['type', 'room', 'event'] }),
  fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), room, since }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('history'), room, stream: fc.oneof(fc.boolean(), fc.constant('yes')), before: since, limit: fc.oneof(fc.integer({ min: -2, max: 120 }), fc.double(), fc.string({ maxLength: 3 })) }, { requiredKeys: ['type', 'room'] }),
  fc.record({ type: fc.constantFrom('ping', 'rooms', 'hello', 'bogus') }),
);

const frame = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  { arbitrary: typed, weight: 6 },
  { arbitrary: fc.tuple(typed, fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })).map(([f, k, v]) => ({ ...f, [k]: v })), weight: 1 },
);

test('arbitrary frames each get their answer, the connection stays open, and the stream holds exactly what was acknowledged', { timeout: 120_000 }, async () => {
  const bridge = await startBridge({ websocket: { rateLimit: { perSecond: 100_000, burst: 1_000_000 } } });
  const alice = await connectClient(bridge.url, bridge.tokens.alice);
  let open = true;
  void alice.closed.then(() => { open = false; });
  const acked: string[] = [];
  let n = 0;
  try {
    await alice.request({ type: 'join', room: 'lobby' });
    await fc.assert(fc.asyncProperty(frame, async (f) => {
      const ref = `f${n++}`;
      const isObject = typeof f === 'object' && f !== null && !Array.isArray(f);
      // '$last' stands for the last event acknowledged, so edits, reactions and replies can hit one.
      const last = acked.at(-1) ?? 'none';
      if (isObject) alice.send(JSON.parse(JSON.stringify({ ...(f as object), ref }).replaceAll('"$last"', JSON.stringify(last))) as object);
      else alice.send(JSON.stringify(f));
      // An object is answered by a frame with its ref; anything else by an error without one.
      const reply: ServerFrame = await alice.next((r) => (isObject ? r['ref'] === ref : r.type === 'error' && r['ref'] === undefined), 3_000);
      if (process.env['FUZZ_LOG']) console.log('WSFUZZ', reply.type, reply['code'] ?? '');
      if (reply.type === 'error') assert.match(String(reply['code']), /^[a-z_]+$/, JSON.stringify(reply));
      if (reply.type === 'ack' && reply['room'] === 'lobby' && reply['duplicate'] !== true) acked.push(String(reply['id']));
      assert.ok(open, 'the connection was closed');
    }), { numRuns: 400 });
    // Still served, and nothing but what was acknowledged reached the room (a resend adds nothing).
    assert.equal((await alice.request({ type: 'ping' })).type, 'pong');
    const stream = await streamOf(bridge.bus, 'lobby');
    assert.deepEqual(stream.filter((id) => !acked.includes(id)), [], 'an event nobody acknowledged is in the stream');
    assert.deepEqual(acked.filter((id) => !stream.includes(id)), [], 'an acknowledged event is missing');
  } finally {
    await alice.close();
    await bridge.stop();
  }
});
