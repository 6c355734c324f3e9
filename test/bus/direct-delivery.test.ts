import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { addHeldJob } from '../../src/bus/redis/bullmq-adapter.ts';
import { appendBatch, defineAppendScript } from '../../src/bus/redis/append-script.ts';
import { busKeys } from '../../src/bus/redis/keys.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import type { Stoppable } from '../../src/bus/types.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import type { Registry } from '../../src/core/metrics.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, Collector, handOffs, routedAtPublish, lobbyRouter, message, settle, sleep, waitForDirect, waitForLease } from './harness.ts';

/**
 * Direct delivery (docs/bus.md): the router hands a batch straight to an idle local consumer that
 * asked for it, instead of queueing an egress job. Only cost and latency may change: order,
 * exactly-once without crashes, retries and backlogs must be the queue's. Also routing at publish,
 * which dispatches the same way.
 */

let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

const connect = (prefix: string, opts: BusOptions) =>
  RedisBus.connect({ ...opts, url: redis.url, prefix, instanceId: `direct-${randomUUID()}`, leaseMs: 1_000 });

const idsOf = (events: readonly CanonicalEvent[]) => events.map((e) => e.id);
const WS = { connector: 'websocket', address: 'lobby' };

/** Runs body with fresh buses on one prefix, closing every one of them and what they started. */
async function withBuses(count: number, body: (buses: RedisBus[], registries: Registry[], closers: Stoppable[]) => Promise<void>,
  opts: () => BusOptions = () => busOptions()): Promise<void> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const options = Array.from({ length: count }, opts);
  const buses = await Promise.all(options.map((o) => connect(prefix, o)));
  const closers: Stoppable[] = [];
  try {
    await body(buses, options.map((o) => o.registry), closers);
  } finally {
    for (const c of closers.reverse()) await c.close();
    for (const b of buses) await b.close();
  }
}

/**
 * The usual set-up here: `bus` routes, `mtproto` takes direct deliveries
 * (and is getting them) and `xmpp` is fed through its queue; both are closed with `closers`.
 */
async function routingWithDirectAndQueued(bus: RedisBus, registry: Registry, closers: Stoppable[]): Promise<{ prefix: string; mt: Collector; xmpp: Collector }> {
  const prefix = (bus as unknown as { opts: { prefix: string } }).opts.prefix;
  closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
  const mt = new Collector(bus, 'mtproto', undefined, { direct: true });
  const xmpp = new Collector(bus, 'xmpp');
  closers.push(mt, xmpp);
  await waitForLease(bus, 'egress:xmpp');
  await waitForDirect(bus, registry, mt, [xmpp]);
  return { prefix, mt, xmpp };
}

test('an idle local consumer that asked for it gets batches straight from the router: all of them, once, in order', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const { mt, xmpp } = await routingWithDirectAndQueued(bus, registry, closers);
    const sent: CanonicalEvent[] = [];
    for (let i = 0; i < 60; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => message(`m${i}.${j}`, WS));
      sent.push(...batch);
      await bus.publish(batch);
      // Now and then the consumer catches up and goes idle again.
      if (i % 10 === 0) await waitFor(() => mt.deliveries.length >= sent.length, { what: 'the consumer to catch up' });
    }
    await waitFor(() => mt.deliveries.length >= sent.length && xmpp.deliveries.length >= sent.length, { what: 'every delivery' });
    await settle(bus, [mt, xmpp]);
    assert.deepEqual(mt.ids(), idsOf(sent));
    assert.deepEqual(xmpp.ids(), idsOf(sent));
    const direct = await handOffs(registry, 'mtproto');
    assert.ok(direct.delivered > 1, 'batches went straight to the consumer');
    assert.equal(direct.failed, 0);
    assert.deepEqual(await handOffs(registry, 'xmpp'), { delivered: 0, failed: 0 }, 'a consumer that did not ask is always fed through its queue');
    // What was handed over was never queued as well: the queue saw only the rest.
    const stats = await bus.stats();
    assert.equal(stats.egressWaiting.mtproto ?? 0, 0);
  }));

test('a failed direct delivery is queued and retried in place; the batches after it wait behind it; attempts are counted once', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    let failures = 0;
    const mt = new Collector(bus, 'mtproto', (batch) => {
      if (failures < 1 && batch.some((d) => d.event.kind === 'message' && d.event.text === 'boom')) {
        failures++;
        throw new Error('target hiccup');
      }
    }, { direct: true });
    closers.push(mt);
    const before = [message('a1'), message('a2')];
    await bus.publish(before);
    await waitFor(() => mt.deliveries.length >= 2, { what: 'the first batch' });
    await waitForDirect(bus, registry, mt);
    const boom = message('boom');
    const after = Array.from({ length: 30 }, (_, i) => message(`z${i}`));
    await bus.publish([boom]);
    await Promise.all(after.map((e) => bus.publish([e])));
    await waitFor(() => mt.deliveries.length >= 33, { what: 'everything' });
    await settle(bus, [mt]);
    assert.deepEqual(mt.ids(), idsOf([...before, boom, ...after]), 'once each, in order');
    const boomCalls = mt.calls.filter((c) => c.some((d) => d.event.id === boom.id));
    assert.equal(boomCalls.length, 2, 'tried directly, then once more from the queue');
    assert.equal((await handOffs(registry, 'mtproto')).failed, 1);
    assert.equal((await bus.deadLetters(10)).length, 0);
  }));

test('a direct delivery that keeps failing is dead-lettered after maxAttempts in all, and the room flows on', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = new Collector(bus, 'mtproto', (batch) => {
      if (batch.some((d) => d.event.kind === 'message' && d.event.text === 'poison')) throw new Error('target rejects poison');
    }, { direct: true });
    closers.push(mt);
    await waitForDirect(bus, registry, mt);
    const poison = message('poison');
    await bus.publish([poison]);
    await waitFor(async () => (await bus.deadLetters(10)).length === 1, { what: 'the dead letter' });
    assert.equal(mt.calls.filter((c) => c.some((d) => d.event.id === poison.id)).length, 3, 'maxAttempts attempts, the direct one included');
    assert.equal((await handOffs(registry, 'mtproto')).failed, 1, 'the first attempt was the direct one');
    const next = message('next');
    await bus.publish([next]);
    await waitFor(() => mt.deliveries.some((d) => d.event.id === next.id), { what: 'the next event' });
  }, () => busOptions({ delivery: { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 } })));

test('a backlog queued while the consumer was away is delivered first; direct delivery resumes only once it is drained', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const backlog = Array.from({ length: 200 }, (_, i) => message(`b${i}`));
    for (let i = 0; i < backlog.length; i += 4) await bus.publish(backlog.slice(i, i + 4));
    await waitFor(async () => (await bus.stats()).egressWaiting.mtproto !== undefined
      && (await bus.readStream('lobby', undefined, 1_000)).entries.length === backlog.length, { what: 'the backlog queued' });
    const mt = new Collector(bus, 'mtproto', () => sleep(1), { direct: true }); // a slow target, so the backlog and new events overlap
    closers.push(mt);
    const live = Array.from({ length: 100 }, (_, i) => message(`l${i}`));
    for (const e of live) await bus.publish([e]);
    await waitFor(() => mt.deliveries.length >= 300, { what: 'backlog and live' });
    const handedBefore = (await handOffs(registry, 'mtproto')).delivered;
    const tail = Array.from({ length: 20 }, (_, i) => message(`t${i}`));
    for (const e of tail) {
      await bus.publish([e]);
      await waitFor(() => mt.deliveries.some((d) => d.event.id === e.id), { what: `tail event ${e.id}` });
    }
    await settle(bus, [mt]);
    assert.deepEqual(mt.ids(), idsOf([...backlog, ...live, ...tail]), 'once each, backlog first, in order');
    assert.ok((await handOffs(registry, 'mtproto')).delivered > handedBefore, 'direct delivery resumed after the backlog');
  }));

test('the router on one instance and the consumer on another: nothing is handed over, everything arrives in order', () =>
  withBuses(2, async ([a, b], [ra, rb], closers) => {
    assert.ok(a && b && ra && rb);
    closers.push(a.startRouting((e) => lobbyRouter().route(e)));
    await waitForLease(a, 'router');
    const mt = new Collector(b, 'mtproto', undefined, { direct: true });
    closers.push(mt);
    await waitForLease(b, 'egress:mtproto');
    const sent = Array.from({ length: 50 }, (_, i) => message(`x${i}`));
    for (const e of sent) await a.publish([e]);
    await waitFor(() => mt.deliveries.length >= sent.length, { what: 'all' });
    await settle(a, [mt]);
    assert.deepEqual(mt.ids(), idsOf(sent));
    assert.deepEqual(await handOffs(ra, 'mtproto'), { delivered: 0, failed: 0 });
    assert.deepEqual(await handOffs(rb, 'mtproto'), { delivered: 0, failed: 0 });
  }));

test('an ingress job written by someone else is validated: its bad events are dead-lettered, its good ones routed', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const prefix = (bus as unknown as { opts: { prefix: string } }).opts.prefix;
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = new Collector(bus, 'mtproto', undefined, { direct: true });
    closers.push(mt);
    const good = message('from elsewhere');
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const foreign = new Queue(`${prefix}-ingress`, { connection: conn, prefix });
    try {
      await foreign.add('events', [good, { ...good, id: 'not-an-id', text: 'forged' }], { jobId: 'foreign-1' });
      await waitFor(() => mt.deliveries.length >= 1, { what: 'the good event' });
      await waitFor(async () => (await bus.deadLetters(10)).length === 1, { what: 'the dead letter' });
      const [letter] = await bus.deadLetters(10);
      assert.match(letter?.reason ?? '', /invalid event on ingress: id/);
      assert.equal(letter?.stage, 'ingress');
      await settle(bus, [mt]);
      assert.deepEqual(mt.ids(), [good.id]);
    } finally {
      await foreign.close();
      await conn.quit();
    }
  }));

test('routing at publish: a quiet room is routed by the publishing process itself; mixed with another instance publishing, every target still gets stream order, once', () =>
  withBuses(2, async ([a, b], [ra], closers) => {
    assert.ok(a && b && ra);
    closers.push(a.startRouting((e) => lobbyRouter().route(e)));
    const mt = new Collector(a, 'mtproto', undefined, { direct: true });
    const xmpp = new Collector(a, 'xmpp');
    closers.push(mt, xmpp);
    await waitForLease(a, 'router');
    // Quiet: one at a time, each delivered before the next, so each is routed at publish.
    for (let i = 0; i < 20; i++) {
      const e = message(`q${i}`, WS);
      await a.publish([e]);
      await waitFor(() => mt.deliveries.some((d) => d.event.id === e.id), { what: `quiet event ${i}` });
    }
    assert.ok((await routedAtPublish(ra)) > 0, 'some batches were routed at publish');
    // Busy: both instances publish at once; b's jobs always go through the router, a's when they can.
    const fromA = Array.from({ length: 150 }, (_, i) => message(`a${i}`, WS));
    const fromB = Array.from({ length: 150 }, (_, i) => message(`b${i}`, WS));
    const yieldNow = () => new Promise<void>((r) => setImmediate(r));
    await Promise.all([
      (async () => { for (const e of fromA) { await a.publish([e]); if (Math.random() < 0.2) await yieldNow(); } })(),
      (async () => { for (const e of fromB) { await b.publish([e]); if (Math.random() < 0.2) await yieldNow(); } })(),
    ]);
    await waitFor(() => mt.deliveries.length >= 320 && xmpp.deliveries.length >= 320, { what: 'everything at both targets' });
    const stream = (await a.readStream('lobby', undefined, 1_000)).entries.map((e) => e.event.id);
    assert.equal(stream.length, 320);
    await settle(a, [mt, xmpp]);
    assert.deepEqual(mt.ids(), stream, 'direct target: stream order, once each');
    assert.deepEqual(xmpp.ids(), stream, 'queued target: stream order, once each');
    // Each publisher's own events keep their publish order in the stream.
    const pos = new Map(stream.map((id, i) => [id, i]));
    for (const own of [fromA, fromB]) {
      const at = own.map((e) => pos.get(e.id) ?? -1);
      assert.deepEqual(at, [...at].sort((x, y) => x - y));
    }
  }));

test('routing at publish never overtakes an event accepted earlier by another instance and still waiting for the router', () =>
  withBuses(2, async ([a, b], _registries, closers) => {
    assert.ok(a && b);
    closers.push(a.startRouting((e) => lobbyRouter().route(e)));
    const mt = new Collector(a, 'mtproto', () => sleep(40), { direct: true }); // a slow target keeps the router busy
    closers.push(mt);
    await waitForLease(a, 'router');
    await waitForLease(a, 'egress:mtproto');
    const pairs: [CanonicalEvent, CanonicalEvent][] = [];
    for (let i = 0; i < 6; i++) {
      const first = message(`b-first-${i}`);
      const then = message(`a-then-${i}`, WS);
      await b.publish([first]); // accepted (durably queued) before...
      await a.publish([then]); // ...this one is even published
      pairs.push([first, then]);
      // Every other pair, the room goes quiet again before the next: routing at publish gets its chance.
      if (i % 2 === 1) await waitFor(() => mt.deliveries.length >= 2 * (i + 1), { what: `pair ${i} delivered` });
    }
    await waitFor(() => mt.deliveries.length >= 12, { timeoutMs: 20_000, what: 'all delivered' });
    const stream = (await a.readStream('lobby', undefined, 100)).entries.map((e) => e.event.id);
    for (const [first, then] of pairs) {
      assert.ok(stream.indexOf(first.id) < stream.indexOf(then.id), `${first.id} was accepted first and must come first`);
    }
    await settle(a, [mt]);
    assert.deepEqual(mt.ids(), stream);
  }));

test('routing at publish that fails half way (an egress add keeps failing): the publish still succeeds, the router routes it again, nothing is lost or reordered', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const { prefix, mt, xmpp } = await routingWithDirectAndQueued(bus, registry, closers);
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    // An add to the xmpp egress queue fails before it writes anything (bullmq-assumptions.test.ts, "a broken id counter").
    const idKey = `${prefix}:${prefix}-egress-xmpp:id`;
    try {
      const first = message('first', WS);
      await bus.publish([first]);
      await waitFor(() => mt.deliveries.length >= 1 && xmpp.deliveries.length >= 1, { what: 'first everywhere' });
      await admin.set(idKey, 'broken');
      const second = message('second', WS);
      const third = message('third', WS);
      const publishedSecond = bus.publish([second]);
      await waitFor(() => mt.deliveries.some((d) => d.event.id === second.id), { what: 'second handed to mtproto' });
      // Published while routing `second` at publish keeps failing: it waits for that flush to end.
      const publishing = Promise.all([publishedSecond, bus.publish([third])]);
      // Both are accepted once routing at publish gave up on `second` (its own deadline): the router has it now.
      await publishing;
      assert.equal(xmpp.deliveries.length, 1, 'nothing reached xmpp while its queue refuses adds');
      await admin.set(idKey, '1000');
      await waitFor(() => xmpp.deliveries.length >= 3, { timeoutMs: 15_000, what: 'second and third at xmpp' });
      await waitFor(() => mt.deliveries.some((d) => d.event.id === third.id), { what: 'third at mtproto' });
      await settle(bus, [mt, xmpp]);
      assert.deepEqual(xmpp.ids(), idsOf([first, second, third]), 'queued target: once each, in order');
      // The direct target may see `second` twice (handed over at publish, then by the router's
      // re-route): at least once, never out of order, nothing missing.
      const seen = mt.ids().filter((id, i, all) => all.indexOf(id) === i);
      assert.deepEqual(seen, idsOf([first, second, third]));
      assert.ok(mt.deliveries.length <= 4);
    } finally {
      await admin.set(idKey, '2000');
      await admin.quit();
    }
  }));

test('direct deliveries of one batch to several connectors run side by side: a slow one does not hold the others back; each keeps its order', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    let hold = false;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => { release = r; });
    const ws = new Collector(bus, 'websocket', async () => { if (hold) await gate; }, { direct: true });
    const mt = new Collector(bus, 'mtproto', undefined, { direct: true });
    const xmpp = new Collector(bus, 'xmpp');
    closers.push(ws, mt, xmpp);
    try {
      await waitForLease(bus, 'egress:xmpp');
      await waitForDirect(bus, registry, ws, [mt, xmpp]);
      await waitForDirect(bus, registry, mt, [ws, xmpp]);
      const before = { ws: (await handOffs(registry, 'websocket')).delivered, mt: (await handOffs(registry, 'mtproto')).delivered };
      hold = true;
      // From XMPP: the room's WS endpoint (listed first) and its MTProto chat get it.
      const first = message('first');
      // Not awaited: a publish routed here resolves once its direct deliveries are done.
      const published = bus.publish([first]);
      await waitFor(() => ws.calls.some((c) => c.some((d) => d.event.id === first.id)), { what: 'the WS handler holding the batch' });
      await waitFor(() => mt.ids().includes(first.id), { what: 'the MTProto delivery while the WS one is still held', timeoutMs: 5_000 });
      assert.deepEqual(ws.ids(), [], 'the WS handler has not finished');
      hold = false;
      release();
      await published;
      const second = message('second');
      await bus.publish([second]);
      await waitFor(() => ws.ids().length === 2 && mt.ids().length === 2, { what: 'both events at both' });
      assert.deepEqual(ws.ids(), [first.id, second.id]);
      assert.deepEqual(mt.ids(), [first.id, second.id]);
      assert.ok((await handOffs(registry, 'websocket')).delivered > before.ws && (await handOffs(registry, 'mtproto')).delivered > before.mt, 'both went direct');
    } finally {
      release();
    }
  }));

/** A Queue handle on the bus's ingress queue (admin's view), closed by the caller. */
async function ingressOf(prefix: string) {
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(busKeys(prefix).ingressQueue, { connection, prefix });
  return { queue, connection, close: async () => { await queue.close(); await connection.quit(); } };
}

test('routing at publish leaves no ingress job behind: none waiting, active, held or completed, so the router never wakes to fetch one', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const { prefix, mt, xmpp } = await routingWithDirectAndQueued(bus, registry, closers);
    const ingress = await ingressOf(prefix);
    try {
      // Whatever the set-up left (probes that went the router's way) is done first.
      await waitFor(async () => Object.values(await ingress.queue.getJobCounts('wait', 'active', 'delayed')).every((n) => n === 0), { what: 'a quiet ingress queue' });
      await ingress.queue.clean(0, 1_000, 'completed');
      const routedBefore = await routedAtPublish(registry);
      const sent: CanonicalEvent[] = [];
      for (let i = 0; i < 10; i++) {
        const e = message(`quiet ${i}`, WS);
        sent.push(e);
        await bus.publish([e]);
        await waitFor(() => mt.deliveries.some((d) => d.event.id === e.id) && xmpp.deliveries.some((d) => d.event.id === e.id), { what: `quiet ${i} at both` });
      }
      const routed = await routedAtPublish(registry);
      assert.equal(routed - routedBefore, 10, 'each went the routed-at-publish way');
      await waitFor(async () => {
        const counts = await ingress.queue.getJobCounts('wait', 'active', 'delayed', 'completed');
        return Object.values(counts).every((n) => n === 0);
      }, { what: `an empty ingress queue (now ${JSON.stringify(await ingress.queue.getJobCounts('wait', 'active', 'delayed', 'completed'))})` });
      await settle(bus, [mt, xmpp]);
      assert.deepEqual(mt.ids(), idsOf(sent));
      assert.deepEqual(xmpp.ids(), idsOf(sent));
    } finally {
      await ingress.close();
    }
  }));

test('an ingress job held by a publisher that died (before or after its append) reaches the router once its hold is over: delivered once, in the stream once', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const { prefix, mt, xmpp } = await routingWithDirectAndQueued(bus, registry, closers);
    const ingress = await ingressOf(prefix);
    const keys = busKeys(prefix);
    const { Redis } = await import('ioredis');
    const writer = new Redis(redis.url);
    defineAppendScript(writer);
    try {
      const client = await ingress.queue.client;
      const holdMs = 700;
      // What a publisher that died leaves: a held job it had appended but not dispatched, and one it never appended.
      const appended = message('appended, never dispatched', WS);
      const unappended = message('added, never appended', WS);
      const started = Date.now();
      await addHeldJob(ingress.queue, client, 'events', [appended], { jobId: 'dead-1' }, holdMs).added;
      const first = await appendBatch(writer, keys, { events: [appended], ingressJobIds: ['dead-1'], instanceId: 'dead', retention: busOptions().retention });
      assert.equal(first.outcomes[0]?.status, 'new');
      await addHeldJob(ingress.queue, client, 'events', [unappended], { jobId: 'dead-2' }, holdMs).added;
      await waitFor(() => [appended, unappended].every((e) => mt.deliveries.some((d) => d.event.id === e.id) && xmpp.deliveries.some((d) => d.event.id === e.id)),
        { timeoutMs: 10_000, what: 'both held jobs routed' });
      assert.ok(Date.now() - started >= holdMs - 50, 'not before their hold was over');
      await settle(bus, [mt, xmpp]);
      assert.deepEqual(xmpp.ids(), idsOf([appended, unappended]), 'queued target: once each, in order');
      assert.deepEqual(mt.ids(), idsOf([appended, unappended]), 'direct target: once each, in order');
      const stream = (await bus.readStream('lobby', undefined, 100)).entries.map((e) => e.event.id).filter((id) => id === appended.id || id === unappended.id);
      assert.deepEqual(stream, idsOf([appended, unappended]), 'the stream has each once');
    } finally {
      await writer.quit();
      await ingress.close();
    }
  }));

test('a bus closed right after its publishes has removed every job it routed at publish: none is left to be routed again after its hold', () =>
  withBuses(1, async ([bus], [registry]) => {
    assert.ok(bus && registry);
    const prefix = (bus as unknown as { opts: { prefix: string } }).opts.prefix;
    const routing = bus.startRouting((e) => lobbyRouter().route(e));
    const mt = new Collector(bus, 'mtproto', undefined, { direct: true });
    await waitForDirect(bus, registry, mt);
    const routedBefore = await routedAtPublish(registry);
    // Quiet publishes until a few went the routed-at-publish way (a busy router defers some),
    // the bus closed right after the last one: its removal is still on its way.
    for (let i = 0; i < 50 && (await routedAtPublish(registry)) - routedBefore < 3; i++) {
      const e = message(`last ${i}`, WS);
      await bus.publish([e]);
      if ((await routedAtPublish(registry)) - routedBefore < 3) await waitFor(() => mt.deliveries.some((d) => d.event.id === e.id), { what: `last ${i} delivered` });
    }
    assert.ok((await routedAtPublish(registry)) - routedBefore >= 3, 'some went the routed-at-publish way');
    await mt.close();
    await routing.close();
    await bus.close();
    const ingress = await ingressOf(prefix);
    try {
      assert.equal(await ingress.queue.getDelayedCount(), 0, 'no held job is left');
    } finally {
      await ingress.close();
    }
  }));
