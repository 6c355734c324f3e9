import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, startBridge, xmppMessage, type TestBridge } from './harness.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { compareCursors } from '../../src/bus/types.ts';

/** Publishes n events one by one (each its own publish, like separate clients), returns their ids in order. */
async function publishMany(bridge: TestBridge, n: number, prefix: string, room = 'lobby'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const ev: CanonicalEvent = room === 'lobby' ? xmppMessage(`${prefix} ${i}`) : { ...xmppMessage(`${prefix} ${i}`), room, origin: { connector: 'websocket', endpoint: room } };
    await bridge.bus.publish([ev]);
    ids.push(ev.id);
  }
  return ids;
}

/** Waits a little and asserts nothing more arrived: "once", not "at least once". */
async function assertNoMore(client: TestClient, expected: number): Promise<void> {
  await client.request({ type: 'ping' });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(client.events.length, expected, 'no extra (duplicate) events');
}

describe('websocket: resume from a cursor', () => {
  let bridge: TestBridge;
  before(async () => { bridge = await startBridge(); });
  after(async () => { await bridge.stop(); });

  test('a bot subscribes, disconnects, misses 100 events, resumes from its last cursor and gets exactly those, in order, once, then live ones', async () => {
    const bot = await connectClient(bridge.url, bridge.tokens.bot);
    const subscribed = await bot.request({ type: 'subscribe', room: 'lobby' });
    assert.equal(subscribed.type, 'subscribed');
    const before = await publishMany(bridge, 5, 'before');
    const seen = await bot.collectEvents(5);
    assert.deepEqual(seen.map((e) => e.event.id), before);
    assert.ok(seen.every((e) => e.room === 'lobby'));
    const last = seen[4]?.cursor;
    assert.ok(last);
    await bot.close();

    const missed = await publishMany(bridge, 100, 'missed');
    const again = await connectClient(bridge.url, bridge.tokens.bot);
    try {
      const resubscribed = await again.request({ type: 'subscribe', room: 'lobby', since: last });
      assert.deepEqual({ type: resubscribed.type, cursor: resubscribed['cursor'] }, { type: 'subscribed', cursor: last });
      const replayed = await again.collectEvents(100);
      assert.deepEqual(replayed.map((e) => e.event.id), missed);
      const live = await publishMany(bridge, 10, 'live');
      const got = await again.collectEvents(10);
      assert.deepEqual(got.map((e) => e.event.id), live);
      await assertNoMore(again, 110);
      const unsubscribed = await again.request({ type: 'unsubscribe', room: 'lobby' });
      assert.equal(unsubscribed.type, 'unsubscribed');
      await publishMany(bridge, 3, 'after unsubscribe');
      await assertNoMore(again, 110);
    } finally {
      await again.close();
    }
  });

  test('a client joins with since and gets what it missed followed seamlessly by what happens during the replay: no gap, no duplicate', async () => {
    const alice = await connectClient(bridge.url, bridge.tokens.alice);
    const bob = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby' });
      const first = await publishMany(bridge, 3, 'first');
      const seen = await alice.collectEvents(3);
      assert.deepEqual(seen.map((e) => e.event.id), first);
      const last = seen[2]?.cursor;
      assert.ok(last);
      await alice.close();

      // 100 missed: 80 from another network, 20 from bob (also a WS session of the room).
      const missed = await publishMany(bridge, 80, 'missed');
      for (let i = 0; i < 20; i++) {
        const ack = await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `bob ${i}` } });
        missed.push(String(ack['id']));
      }

      const back = await connectClient(bridge.url, bridge.tokens.alice);
      try {
        // Live events keep flowing while the replay runs.
        const joining = back.request({ type: 'join', room: 'lobby', since: last });
        const during = publishMany(bridge, 50, 'during');
        const joined = await joining;
        assert.deepEqual({ type: joined.type, cursor: joined['cursor'] }, { type: 'joined', cursor: last });
        const duringIds = await during;
        const got = await back.collectEvents(150, 10_000);
        assert.deepEqual(got.map((e) => e.event.id), [...missed, ...duringIds]);
        const cursors = got.map((e) => e.cursor);
        for (let i = 1; i < cursors.length; i++) assert.ok(compareCursors(cursors[i - 1] ?? '', cursors[i] ?? '') < 0, 'cursors strictly increase');
        await assertNoMore(back, 150);
      } finally {
        await back.close();
      }
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  test('a join without since starts at the newest cursor: nothing older is pushed', async () => {
    await publishMany(bridge, 5, 'old');
    const carol = await connectClient(bridge.url, bridge.tokens.carol);
    try {
      const joined = await carol.request({ type: 'join', room: 'lobby' });
      assert.equal(joined['cursor'], await bridge.bus.latestCursor('lobby'));
      const fresh = await publishMany(bridge, 2, 'new');
      const got = await carol.collectEvents(2);
      assert.deepEqual(got.map((e) => e.event.id), fresh);
      await assertNoMore(carol, 2);
    } finally {
      await carol.close();
    }
  });

  test('a malformed cursor is bad_cursor and joins nothing', async () => {
    const carol = await connectClient(bridge.url, bridge.tokens.carol);
    try {
      const reply = await carol.request({ type: 'join', room: 'lobby', since: 'yesterday' });
      assert.deepEqual({ type: reply.type, code: reply['code'] }, { type: 'error', code: 'bad_cursor' });
      const send = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'typing', state: 'active' } });
      assert.equal(send['code'], 'not_joined');
      const bot = await connectClient(bridge.url, bridge.tokens.bot);
      const sub = await bot.request({ type: 'subscribe', room: 'lobby', since: '1-2-3' });
      assert.equal(sub['code'], 'bad_cursor');
      await bot.close();
    } finally {
      await carol.close();
    }
  });
});

describe('websocket: resume from a cursor older than retention', () => {
  let bridge: TestBridge;
  before(async () => {
    const registry = createRegistry(false);
    const opts = busOptions(registry);
    bridge = await startBridge({ bus: new MemoryBus({ ...opts, retention: { ...opts.retention, maxEventsPerRoom: 100 } }) });
  });
  after(async () => { await bridge.stop(); await bridge.bus.close(); });

  test('cursor_expired is reported and the replay continues from the oldest retained event', async () => {
    const carol = await connectClient(bridge.url, bridge.tokens.carol);
    const bot = await connectClient(bridge.url, bridge.tokens.bot);
    try {
      const ids = await publishMany(bridge, 150, 'old');
      const all = await bridge.bus.readStream('lobby', undefined, 1_000);
      assert.equal(all.entries.length, 100);
      const firstCursor = (await bridge.bus.readStream('lobby', undefined, 1)).entries[0]?.cursor;
      assert.ok(firstCursor);
      const staleCursor = `${firstCursor.split('-')[0] === '0' ? 0 : 1}-0`;
      const joined = await carol.request({ type: 'join', room: 'lobby', since: staleCursor });
      assert.equal(joined.type, 'joined');
      const expired = await carol.next((f) => f.type === 'error');
      assert.equal(expired['code'], 'cursor_expired');
      const got = await carol.collectEvents(100);
      assert.deepEqual(got.map((e) => e.event.id), ids.slice(50));

      // Same order as join: subscribed first, then the non-fatal cursor_expired.
      const subscribed = await bot.request({ type: 'subscribe', ref: 'sub', room: 'lobby', since: staleCursor });
      assert.equal(subscribed.type, 'subscribed');
      const expiredBot = await bot.next((f) => f.type === 'error');
      assert.deepEqual([expiredBot['code'], expiredBot.ref], ['cursor_expired', 'sub']);
      const gotBot = await bot.collectEvents(100);
      assert.deepEqual(gotBot.map((e) => e.event.id), ids.slice(50));
    } finally {
      await carol.close();
      await bot.close();
    }
  });
});
