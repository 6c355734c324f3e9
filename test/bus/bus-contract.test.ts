import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { ALL_FAST_PATHS_OFF, ALL_FAST_PATHS_ON, type FastPaths } from '../../src/bus/redis/fast-paths.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import { compareCursors, type Bus, type Stoppable, type StreamEntry } from '../../src/bus/types.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { dedupeMarksPerRoom } from '../../src/bus/retention.ts';
import { busOptions, Collector, lobbyRouter, message, MT, ROOM, settle, WS, XMPP } from './harness.ts';

/**
 * The Bus contract: the same test bodies against both drivers. Each test gets a fresh bus (for
 * redis: a fresh key prefix on one real redis-server) and closes everything it started.
 */
interface Driver {
  readonly name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  make(opts: BusOptions): Promise<Bus>;
}

let redis: RedisServer | undefined;
const onRedis = (fast: FastPaths) => async (opts: BusOptions): Promise<Bus> => {
  if (!redis) throw new Error('redis not started');
  return await RedisBus.connect({ ...opts, url: redis.url, prefix: `t${randomUUID().slice(0, 8)}`, instanceId: `test-${randomUUID()}`, fastPaths: fast });
};
const drivers: Driver[] = [
  { name: 'memory', setUp: async () => undefined, tearDown: async () => undefined, make: async (opts) => new MemoryBus(opts) },
  {
    // The plain path: every shortcut off (docs/bus.md, "Fast paths").
    name: 'redis, every fast path off',
    setUp: async () => { redis = await startRedis(); },
    tearDown: async () => { await redis?.stop(); },
    make: onRedis(ALL_FAST_PATHS_OFF),
  },
  {
    name: 'redis, every fast path on',
    setUp: async () => { redis = await startRedis(); },
    tearDown: async () => { await redis?.stop(); },
    make: async (opts) => directEgress(await onRedis(ALL_FAST_PATHS_ON)(opts)),
  },
];

/**
 * The same bus, but every egress consumer is opened with `direct: true`, so the router may hand
 * batches straight to it (docs/bus.md, "Direct delivery"): the contract must hold either way.
 */
function directEgress(bus: Bus): Bus {
  return {
    driver: bus.driver,
    durable: bus.durable,
    ...(bus.fanout ? { fanout: bus.fanout } : {}),
    publish: (events) => bus.publish(events),
    publishOnce: (event, txn) => bus.publishOnce(event, txn),
    idMap: bus.idMap,
    state: (ns) => bus.state(ns),
    holdLease: (name, callbacks) => bus.holdLease(name, callbacks),
    startRouting: (route) => bus.startRouting(route),
    consumeEgress: (connector, handler, options) => bus.consumeEgress(connector, handler, { ...options, direct: true }),
    readStream: (room, since, limit) => bus.readStream(room, since, limit),
    readStreamBefore: (room, before, limit) => bus.readStreamBefore(room, before, limit),
    latestCursor: (room) => bus.latestCursor(room),
    rooms: () => bus.rooms(),
    subscribeStream: (room, since, onEntries) => bus.subscribeStream(room, since, onEntries),
    deadLetters: (limit) => bus.deadLetters(limit),
    stats: () => bus.stats(),
    healthy: () => bus.healthy(),
    close: () => bus.close(),
  };
}

const ids = (events: readonly { event: CanonicalEvent }[]) => events.map((d) => d.event.id);

for (const driver of drivers) {
  describe(`bus contract: ${driver.name}`, () => {
    before(() => driver.setUp());
    after(() => driver.tearDown());

    /** Runs a body with a fresh bus and closes what it opened, even when the body fails. */
    async function withBus(opts: BusOptions, body: (bus: Bus, closers: Stoppable[]) => Promise<void>): Promise<void> {
      const bus = await driver.make(opts);
      const closers: Stoppable[] = [];
      try {
        await body(bus, closers);
      } finally {
        for (const c of closers.reverse()) await c.close();
        await bus.close();
      }
    }

    test('publish is routed to every linked endpoint but the origin; a hosted connector gets its own endpoint', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const ws = new Collector(bus, 'websocket');
        const xmpp = new Collector(bus, 'xmpp');
        const mt = new Collector(bus, 'mtproto');
        closers.push(ws, xmpp, mt);
        const fromXmpp = message('from xmpp', XMPP);
        const fromWs = message('from ws', WS);
        await bus.publish([fromXmpp]);
        await bus.publish([fromWs]);
        await waitFor(() => ws.deliveries.length >= 2 && mt.deliveries.length >= 2 && xmpp.deliveries.length >= 1, { what: 'deliveries' });
        const stream = await bus.readStream(ROOM, undefined, 10);
        assert.deepEqual(stream.entries.map((e) => e.event.id), [fromXmpp.id, fromWs.id]);
        assert.equal(await bus.latestCursor(ROOM), stream.entries[1]?.cursor);
        await settle(bus, [ws, xmpp, mt]);
        assert.deepEqual(ids(ws.deliveries), [fromXmpp.id, fromWs.id]);
        assert.deepEqual(ids(mt.deliveries), [fromXmpp.id, fromWs.id]);
        assert.deepEqual(ids(xmpp.deliveries), [fromWs.id], 'the xmpp origin never gets its own event back');
        assert.deepEqual(ws.deliveries.map((d) => d.target), [WS, WS]);
        assert.deepEqual(mt.deliveries.map((d) => d.target), [MT, MT]);
        // Every target sees the same cursor for one event, and it is the stream's.
        assert.deepEqual(mt.deliveries.map((d) => d.cursor), stream.entries.map((e) => e.cursor));
      }));

    test('readStreamBefore pages a stream backwards: the newest entries before a cursor, oldest first', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const events = [1, 2, 3, 4, 5].map((n) => message(`m${n}`));
        for (const e of events) await bus.publish([e]);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 10)).entries.length === 5, { what: 'the stream' });
        const all = (await bus.readStream(ROOM, undefined, 10)).entries;
        assert.equal(all.length, 5);
        const cursorOf = (i: number) => all[i]!.cursor;
        const texts = (entries: readonly StreamEntry[]) => entries.map((e) => (e.event as { text?: string }).text);
        assert.deepEqual(texts(await bus.readStreamBefore(ROOM, undefined, 2)), ['m4', 'm5'], 'from the newest');
        assert.deepEqual(texts(await bus.readStreamBefore(ROOM, cursorOf(3), 2)), ['m2', 'm3'], 'before is exclusive');
        assert.deepEqual(texts(await bus.readStreamBefore(ROOM, cursorOf(2), 10)), ['m1', 'm2'], 'fewer than asked: the start was reached');
        assert.deepEqual(await bus.readStreamBefore(ROOM, cursorOf(0), 10), []);
        assert.deepEqual((await bus.readStreamBefore(ROOM, undefined, 10)).map((e) => e.cursor), all.map((e) => e.cursor), 'the cursors are the stream\'s');
        assert.deepEqual(await bus.readStreamBefore(ROOM, undefined, 0), []);
        assert.deepEqual(await bus.readStreamBefore('no-such-room', undefined, 10), []);
        // A cursor between two entries (or after the newest) pages from there.
        const [ms] = cursorOf(4).split('-');
        assert.deepEqual(texts(await bus.readStreamBefore(ROOM, `${BigInt(ms!) + 1n}-0`, 1)), ['m5']);
        await assert.rejects(bus.readStreamBefore(ROOM, 'not a cursor', 10), /not a stream cursor/);
      }));

    test('an event published twice (same id, separate calls) is routed and appended once', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const mt = new Collector(bus, 'mtproto');
        closers.push(mt);
        const once = message('only once');
        await bus.publish([once]);
        await bus.publish([once]);
        await Promise.all([bus.publish([once]), bus.publish([once])]); // also when coalesced into one batch
        const marker = message('marker');
        await bus.publish([marker]);
        // The marker went in after every copy: once it is delivered, a copy routed again would have been too.
        await waitFor(() => mt.deliveries.some((d) => d.event.id === marker.id), { what: 'marker' });
        assert.deepEqual(ids(mt.deliveries), [once.id, marker.id]);
        const stream = await bus.readStream(ROOM, undefined, 100);
        assert.deepEqual(stream.entries.map((e) => e.event.id), [once.id, marker.id]);
      }));

    test('per-room order holds for each target over thousands of events from concurrent producers', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const ws = new Collector(bus, 'websocket');
        const mt = new Collector(bus, 'mtproto');
        closers.push(ws, mt);
        const producers = 5;
        const perProducer = 600;
        const accepted: string[] = [];
        await Promise.all(Array.from({ length: producers }, async (_, p) => {
          for (let i = 0; i < perProducer; i += 3) {
            // Three events per call, and calls from all producers interleave.
            const events = [0, 1, 2].map((k) => message(`p${p}:${i + k}`));
            await bus.publish(events);
            accepted.push(...events.map((e) => e.id));
          }
        }));
        const total = producers * perProducer;
        await waitFor(() => ws.deliveries.length >= total && mt.deliveries.length >= total, { timeoutMs: 60_000, what: 'all deliveries' });
        const stream = await bus.readStream(ROOM, undefined, total + 10);
        await settle(bus, [ws, mt]);
        assert.equal(stream.entries.length, total);
        for (const c of [ws, mt]) {
          assert.equal(c.deliveries.length, total, 'each event exactly once');
          assert.equal(new Set(ids(c.deliveries)).size, total);
          // Delivery order = stream order, and each producer's own order holds.
          assert.deepEqual(ids(c.deliveries), stream.entries.map((e) => e.event.id));
          const last = new Map<string, number>();
          for (const text of c.texts()) {
            const [p = '', n = ''] = text.split(':');
            const prev = last.get(p) ?? -1;
            assert.ok(Number(n) > prev, `${text} after ${p}:${prev}`);
            last.set(p, Number(n));
          }
        }
        assert.equal(new Set(accepted).size, total);
      }));

    test('a target absent while 500 events arrive gets all 500 in order, once, when its consumer starts', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const ws = new Collector(bus, 'websocket');
        closers.push(ws);
        const sent: string[] = [];
        for (let i = 0; i < 50; i++) {
          const events = Array.from({ length: 10 }, (_, k) => message(`m${i * 10 + k}`));
          await bus.publish(events);
          sent.push(...events.map((e) => e.id));
        }
        await waitFor(() => ws.deliveries.length === 500, { what: 'routing of all 500' });
        const stats = await bus.stats();
        assert.ok((stats.egressWaiting['mtproto'] ?? 0) > 0, 'the absent target has a backlog');
        const mt = new Collector(bus, 'mtproto');
        closers.push(mt);
        await waitFor(() => mt.deliveries.length >= 500, { what: 'the backlog' });
        await settle(bus, [mt]);
        assert.deepEqual(ids(mt.deliveries), sent);
        assert.equal((await bus.stats()).egressWaiting['mtproto'] ?? 0, 0);
      }));

    test('a backlog (no router, no consumer) drains in order, in handler calls of at most maxEvents, duplicates dropped', () =>
      withBus(busOptions({ batch: { maxEvents: 8 } }), async (bus, closers) => {
        const sent: CanonicalEvent[] = [];
        for (let i = 0; i < 120; i++) {
          const e = message(`q${i}`);
          sent.push(e);
          await bus.publish([e]); // one small job each: the router will take many at once
        }
        await bus.publish([sent[3]!]); // the same id again, far behind its first copy
        assert.ok((await bus.stats()).ingressWaiting > 0, 'nothing routed yet');
        const mt = new Collector(bus, 'mtproto');
        closers.push(mt);
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        await waitFor(() => mt.deliveries.length >= 120, { what: '120 deliveries' });
        const stream = (await bus.readStream(ROOM, undefined, 1_000)).entries;
        assert.deepEqual(stream.map((e) => e.event.id), sent.map((e) => e.id));
        await settle(bus, [mt]);
        assert.deepEqual(ids(mt.deliveries), sent.map((e) => e.id));
        assert.ok(mt.calls.every((c) => c.length >= 1 && c.length <= 8), `call sizes ${mt.calls.map((c) => c.length).join(',')}`);
        assert.ok(mt.calls.length <= 60, `the backlog went in batches, not one by one (${mt.calls.length} calls)`);
      }));

    test('a handler that fails twice gets the same batch again in place; nothing overtakes it', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const mt = new Collector(bus, 'mtproto', (_batch, call) => {
          if (call <= 2) throw new Error(`flaky ${call}`);
        });
        closers.push(mt);
        const first = message('first');
        await bus.publish([first]);
        await waitFor(() => mt.calls.length >= 1, { what: 'the first failure' });
        const later = Array.from({ length: 20 }, (_, i) => message(`later ${i}`));
        await bus.publish(later);
        await waitFor(() => mt.deliveries.length >= 21, { what: 'everything' });
        await settle(bus, [mt]);
        assert.equal(mt.calls[0]?.[0]?.event.id, first.id);
        assert.deepEqual(ids(mt.calls[1] ?? []), ids(mt.calls[0] ?? []), 'the retry is the same batch');
        assert.deepEqual(ids(mt.calls[2] ?? []), ids(mt.calls[0] ?? []));
        assert.deepEqual(ids(mt.deliveries), [first.id, ...later.map((e) => e.id)]);
        assert.equal((await bus.deadLetters(10)).length, 0);
      }));

    test('a consumer closed while it waits to retry hands its batch back: the next consumer gets it first, in order, once', () =>
      withBus(busOptions({ delivery: { maxAttempts: 100, backoffMs: 60_000, maxBackoffMs: 60_000 } }), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const failing = new Collector(bus, 'mtproto', () => { throw new Error('target down'); });
        const first = [message('h1'), message('h2')];
        await bus.publish(first);
        await waitFor(() => failing.calls.length >= 1, { what: 'the first failure' });
        const later = [message('h3'), message('h4')];
        await bus.publish(later);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 10)).entries.length === 4, { what: 'later routed' });
        const closedAt = Date.now();
        await failing.close(); // in the middle of a 60 s backoff
        assert.ok(Date.now() - closedAt < 5_000, 'close does not wait out the backoff');
        assert.equal(failing.deliveries.length, 0);
        const next = new Collector(bus, 'mtproto');
        closers.push(next);
        await waitFor(() => next.deliveries.length >= 4, { what: 'all four' });
        await settle(bus, [next]);
        assert.deepEqual(ids(next.deliveries), [...first, ...later].map((e) => e.id));
        assert.deepEqual(ids(next.calls[0] ?? []).slice(0, 2), first.map((e) => e.id), 'the handed-back batch comes first');
        assert.equal((await bus.deadLetters(10)).length, 0);
      }));

    test('a handler that always fails: the batch is dead-lettered with the reason and later events still flow', () =>
      withBus(busOptions({ delivery: { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 } }), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const mt = new Collector(bus, 'mtproto', (batch) => {
          if (batch.some((d) => d.event.kind === 'message' && d.event.text === 'poison')) throw new Error('target rejects poison');
        });
        closers.push(mt);
        const poison = message('poison');
        await bus.publish([poison]);
        await waitFor(() => mt.calls.length >= 1, { what: 'the first failure' });
        const after1 = message('after 1');
        const after2 = message('after 2');
        await bus.publish([after1]);
        await bus.publish([after2]);
        await waitFor(() => mt.deliveries.length >= 2, { what: 'later events' });
        assert.deepEqual(ids(mt.deliveries), [after1.id, after2.id]);
        assert.equal(mt.calls.filter((b) => b.some((d) => d.event.id === poison.id)).length, 3, 'maxAttempts attempts');
        await waitFor(async () => (await bus.deadLetters(10)).length >= 1, { what: 'the dead letter' });
        const dead = await bus.deadLetters(10);
        assert.equal(dead.length, 1);
        assert.equal(dead[0]?.event?.id, poison.id);
        assert.equal(dead[0]?.stage, 'egress');
        assert.equal(dead[0]?.connector, 'mtproto');
        assert.match(dead[0]?.reason ?? '', /failed 3 times: target rejects poison/);
        assert.equal((await bus.stats()).deadLettered, 1);
      }));

    test('dedupe is bounded per room: an id is a duplicate while its room has had at most N newer events, and appended again long after', () =>
      withBus(busOptions({ retention: { maxEventsPerRoom: 100 } }), async (bus, closers) => {
        closers.push(bus.startRouting(() => []));
        const n = dedupeMarksPerRoom({ maxEventsPerRoom: 100, dedupeSeconds: 3_600 });
        const first = message('first');
        await bus.publish([first]);
        const newer = Array.from({ length: n }, (_, i) => message(`n${i}`));
        await bus.publish(newer);
        // Another room's traffic does not count against this room's marks.
        await bus.publish(Array.from({ length: 3 * n }, (_, i) => message(`o${i}`, XMPP, 'other room')));
        const again = message('after the copy');
        await bus.publish([first, again]);
        await waitFor(async () => (await bus.latestCursor(ROOM)) !== undefined
          && (await bus.readStream(ROOM, undefined, 1_000)).entries.some((e) => e.event.id === again.id), { what: 'the copy routed' });
        const kept = (await bus.readStream(ROOM, undefined, 1_000)).entries.map((e) => e.event.id);
        assert.deepEqual(kept.slice(-2), [newer[n - 1]?.id, again.id], 'N newer events: still a duplicate, not appended');
        // Far more than N newer events: forgotten, so the same id is appended again.
        await bus.publish(Array.from({ length: 3 * n }, (_, i) => message(`m${i}`)));
        const late = message('after the late copy');
        await bus.publish([first, late]);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 1_000)).entries.some((e) => e.event.id === late.id), { what: 'the late copy routed' });
        const tail = (await bus.readStream(ROOM, undefined, 1_000)).entries.map((e) => e.event.id);
        assert.deepEqual(tail.slice(-2), [first.id, late.id]);
      }));

    test('readStream after a cursor returns exactly what follows it, once, in order, in pages', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting(() => []));
        const events = Array.from({ length: 25 }, (_, i) => message(`s${i}`));
        await bus.publish(events);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 100)).entries.length === 25, { what: '25 appended' });
        const all = (await bus.readStream(ROOM, undefined, 100)).entries;
        assert.deepEqual(all.map((e) => e.event.id), events.map((e) => e.id));
        for (let i = 1; i < all.length; i++) assert.ok(compareCursors(all[i - 1]?.cursor ?? '', all[i]?.cursor ?? '') < 0);
        const after9 = await bus.readStream(ROOM, all[9]?.cursor, 100);
        assert.deepEqual(after9.entries.map((e) => e.event.id), events.slice(10).map((e) => e.id));
        assert.equal(after9.truncated, false);
        const paged: StreamEntry[] = [];
        let since: string | undefined;
        for (let guard = 0; guard < 20; guard++) {
          const page = await bus.readStream(ROOM, since, 7);
          if (page.entries.length === 0) break;
          paged.push(...page.entries);
          since = page.entries[page.entries.length - 1]?.cursor;
        }
        assert.deepEqual(paged.map((e) => e.event.id), events.map((e) => e.id));
        assert.deepEqual((await bus.readStream(ROOM, await bus.latestCursor(ROOM), 10)).entries, []);
        assert.deepEqual((await bus.readStream('no-such-room', undefined, 10)).entries, []);
        assert.equal(await bus.latestCursor('no-such-room'), undefined);
      }));

    test('subscribeStream replays from a cursor, then follows live, in order, once', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting(() => []));
        const early = Array.from({ length: 5 }, (_, i) => message(`early ${i}`));
        await bus.publish(early);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 10)).entries.length === 5, { what: 'early appended' });
        const retained = (await bus.readStream(ROOM, undefined, 10)).entries;
        const fromCursor: StreamEntry[] = [];
        const onlyNew: StreamEntry[] = [];
        closers.push(bus.subscribeStream(ROOM, retained[1]?.cursor, (entries) => { fromCursor.push(...entries); }));
        closers.push(bus.subscribeStream(ROOM, undefined, (entries) => { onlyNew.push(...entries); }));
        await waitFor(() => fromCursor.length === 3, { what: 'replay' });
        const live = Array.from({ length: 30 }, (_, i) => message(`live ${i}`));
        for (const e of live) await bus.publish([e]);
        // Nothing more than these: a marker published last is the next thing both see.
        const marker = message('marker');
        await bus.publish([marker]);
        const seen = (entries: StreamEntry[]) => entries.some((e) => e.event.id === marker.id);
        await waitFor(() => seen(fromCursor) && seen(onlyNew), { what: 'live events and the marker' });
        assert.deepEqual(fromCursor.map((e) => e.event.id), [...early.slice(2), ...live, marker].map((e) => e.id));
        assert.deepEqual(onlyNew.map((e) => e.event.id), [...live, marker].map((e) => e.id));
      }));

    test('retention trims old events and reports truncated to a reader behind it', () =>
      withBus(busOptions({ retention: { maxEventsPerRoom: 100 } }), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const mt = new Collector(bus, 'mtproto');
        closers.push(mt);
        const events = Array.from({ length: 300 }, (_, i) => message(`r${i}`));
        for (let i = 0; i < events.length; i += 30) await bus.publish(events.slice(i, i + 30));
        await waitFor(() => mt.deliveries.length === 300, { what: '300 delivered' });
        const retained = (await bus.readStream(ROOM, undefined, 1_000)).entries;
        assert.ok(retained.length >= 100 && retained.length <= 110, `kept ${retained.length}`);
        assert.deepEqual(retained.map((e) => e.event.id), events.slice(-retained.length).map((e) => e.id), 'the newest are kept');
        const oldest = mt.deliveries[0]?.cursor;
        const behind = await bus.readStream(ROOM, oldest, 1_000);
        assert.equal(behind.truncated, true);
        assert.deepEqual(behind.entries.map((e) => e.event.id), retained.map((e) => e.event.id));
        const inside = await bus.readStream(ROOM, retained[0]?.cursor, 1_000);
        assert.equal(inside.truncated, false);
        assert.equal(inside.entries.length, retained.length - 1);
      }));

    test('invalid events are rejected by publish and change nothing', () =>
      withBus(busOptions(), async (bus, closers) => {
        closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
        const mt = new Collector(bus, 'mtproto');
        closers.push(mt);
        const before1 = message('before');
        await bus.publish([before1]);
        await waitFor(() => mt.deliveries.length === 1, { what: 'before' });
        const latest = await bus.latestCursor(ROOM);
        const good = message('good but in a bad call');
        const bad = { ...message('bad'), id: 'not-a-ulid' } as unknown as CanonicalEvent;
        const noRoom = { ...message('no room'), room: '' } as unknown as CanonicalEvent;
        const otherCall = message('other call');
        const results = await Promise.allSettled([bus.publish([good, bad]), bus.publish([noRoom]), bus.publish([otherCall])]);
        assert.equal(results[0]?.status, 'rejected');
        assert.equal(results[1]?.status, 'rejected');
        assert.equal(results[2]?.status, 'fulfilled', 'a bad call does not affect another');
        await waitFor(() => mt.deliveries.length >= 2, { what: 'other call' });
        const stream = (await bus.readStream(ROOM, latest, 100)).entries;
        assert.deepEqual(stream.map((e) => e.event.id), [otherCall.id]);
        await settle(bus, [mt]);
        assert.deepEqual(ids(mt.deliveries), [before1.id, otherCall.id]);
        await assert.rejects(bus.readStream(ROOM, 'not a cursor', 10));
      }));
  });
}
