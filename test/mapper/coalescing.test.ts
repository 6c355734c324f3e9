import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCursors } from '../../src/core/endpoint.ts';
import type { Endpoint } from '../../src/core/endpoint.ts';
import { FULL, MT, Rig, TABLES, WS, XMPP, delivery, event } from './harness.ts';
import type { MappedDelivery } from '../../src/mapper/types.ts';

/** Presence (and typing, membership) coalescing on one target: a manual clock, a recording handler. */

const presence = (who: string, state: string, status?: string, from: Endpoint = XMPP) =>
  event('presence', { state, ...(status !== undefined ? { status } : {}) }, from, who);
const stateOf = (d: MappedDelivery) => (d.event as { state: string }).state;

test('a burst of one person within the window: the first at once, then only the last one when the window ends', async () => {
  const rig = new Rig('websocket', FULL);
  const out = await rig.batch(delivery(presence('carol@x.org', 'away'), WS));
  assert.deepEqual(out.map(stateOf), ['away']);
  for (const state of ['available', 'dnd', 'xa', 'available', 'dnd']) {
    await rig.batch(delivery(presence('carol@x.org', state), WS));
    await rig.advance(100);
  }
  assert.equal(rig.delivered.length, 1, 'nothing more within the window');
  await rig.advance(2_000);
  assert.deepEqual(rig.delivered.map(stateOf), ['away', 'dnd'], 'the last state arrived, once');
  assert.equal(await rig.degraded('presence', 'coalesced'), 4);
  await rig.advance(10_000);
  assert.equal(rig.delivered.length, 2, 'and nothing after that');
  assert.equal(rig.clock.pending, 0, 'the window closed: no timer left');
});

test('no-op changes (same state and status as last delivered to the target) are dropped; a status change is not a no-op', async () => {
  const rig = new Rig('websocket', FULL, { ...TABLES, coalesceMs: 0 });
  await rig.batch(
    delivery(presence('carol@x.org', 'away', 'lunch'), WS),
    delivery(presence('carol@x.org', 'away', 'lunch'), WS),
    delivery(presence('carol@x.org', 'away', 'back soon'), WS),
    delivery(presence('carol@x.org', 'away', 'back soon'), WS),
  );
  assert.deepEqual(rig.delivered.map((d) => (d.event as { status?: string }).status), ['lunch', 'back soon']);
  assert.equal(await rig.degraded('presence', 'no_op'), 2);
});

test('flapping back to what the target shows within the window sends nothing more', async () => {
  const rig = new Rig('websocket', FULL);
  await rig.batch(delivery(presence('carol@x.org', 'available'), WS));
  await rig.batch(delivery(presence('carol@x.org', 'offline'), WS), delivery(presence('carol@x.org', 'available'), WS));
  await rig.advance(5_000);
  assert.deepEqual(rig.delivered.map(stateOf), ['available']);
});

test('a failed batch leaves no trace: the bus retries it and it is mapped the same way (nothing lost as a "no-op")', async () => {
  const rig = new Rig('websocket', FULL);
  const batch = [delivery(presence('carol@x.org', 'away'), WS), delivery(event('message', { text: 'hi' }, XMPP, 'carol@x.org'), WS)];
  rig.failNext = 1;
  await assert.rejects(rig.handler(batch), /connector refused/);
  assert.equal(rig.delivered.length, 0);
  await rig.handler(batch);
  assert.deepEqual(rig.delivered.map((d) => d.event.kind), ['presence', 'message']);
  assert.equal(await rig.degraded('presence', 'no_op'), 0);
});

test('a window flush the connector refuses is tried again: the last state still arrives', async () => {
  const rig = new Rig('websocket', FULL);
  await rig.batch(delivery(presence('carol@x.org', 'away'), WS));
  await rig.batch(delivery(presence('carol@x.org', 'dnd'), WS));
  rig.failNext = 1;
  await rig.advance(2_000);
  assert.equal(rig.delivered.length, 1);
  await rig.advance(2_000);
  assert.deepEqual(rig.delivered.map(stateOf), ['away', 'dnd']);
});

test('waiting changes go out ahead of a later delivery to their endpoint: per-endpoint stream order always holds', async () => {
  const rig = new Rig('websocket', FULL);
  const d1 = delivery(presence('carol@x.org', 'away'), WS);
  const d2 = delivery(presence('dave@x.org', 'away'), WS);
  const d3 = delivery(presence('carol@x.org', 'available'), WS);
  const d4 = delivery(presence('erin@x.org', 'dnd'), WS);
  const msg = delivery(event('message', { text: 'hello' }, XMPP, 'frank@x.org'), WS);
  const other = delivery(presence('gina@x.org', 'away'), { connector: 'websocket', address: 'other' });
  await rig.batch(d1, d2);
  await rig.batch(d3, d4, other);
  assert.deepEqual(rig.delivered.map((d) => d.cursor), [d1.cursor, d2.cursor, other.cursor], 'the first change of each person and endpoint at once; a second one waits, and so does what follows it');
  await rig.batch(msg);
  assert.deepEqual(rig.delivered.slice(3).map((d) => d.cursor), [d3.cursor, d4.cursor, msg.cursor], 'flushed before the message, in stream order');
  const lobby = rig.delivered.filter((d) => d.target.address === 'lobby').map((d) => d.cursor);
  assert.deepEqual(lobby, [...lobby].sort(compareCursors));
});

test('windows are per endpoint; coalesceMs 0 turns the windows off (only no-ops are dropped)', async () => {
  const rig = new Rig('mtproto', FULL, { ...TABLES, coalesceMs: 0 });
  for (const state of ['away', 'available', 'away', 'away']) await rig.batch(delivery(presence('carol@x.org', state), MT));
  assert.deepEqual(rig.delivered.map(stateOf), ['away', 'available', 'away']);
  assert.equal(rig.clock.pending, 0);
});

test('typing and membership coalesce the same way, each kind on its own', async () => {
  const rig = new Rig('websocket', FULL);
  await rig.batch(
    delivery(event('membership', { action: 'join' }, XMPP, 'carol@x.org'), WS),
    delivery(event('typing', { state: 'active' }, XMPP, 'carol@x.org'), WS),
    delivery(event('typing', { state: 'paused' }, XMPP, 'carol@x.org'), WS),
    delivery(event('typing', { state: 'active' }, XMPP, 'carol@x.org'), WS),
    delivery(event('membership', { action: 'leave' }, XMPP, 'carol@x.org'), WS),
    delivery(event('membership', { action: 'join' }, XMPP, 'carol@x.org'), WS),
  );
  await rig.advance(3_000);
  assert.deepEqual(rig.delivered.map((d) => `${d.event.kind}:${(d.event as { state?: string; action?: string }).state ?? (d.event as { action?: string }).action}`),
    ['membership:join', 'typing:active'], 'a leave-and-rejoin and an active-paused-active are no-ops');
});

test('closing the egress consumer hands over what still waits, once', async () => {
  const rig = new Rig('websocket', FULL);
  await rig.batch(delivery(presence('carol@x.org', 'away'), WS));
  await rig.batch(delivery(presence('carol@x.org', 'offline'), WS));
  await rig.target.close();
  assert.deepEqual(rig.delivered.map(stateOf), ['away', 'offline']);
  assert.equal(rig.clock.pending, 0);
});
