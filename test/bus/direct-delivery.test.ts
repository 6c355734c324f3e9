import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import type { Bus, Delivery, DeliveryHandler, Stoppable } from '../../src/bus/types.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import type { Registry } from '../../src/core/metrics.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { busOptions, lobbyRouter, message, sleep, waitFor } from './harness.ts';

/**
 * Direct delivery (docs/bus.md): the router hands a batch straight to an idle local consumer that
 * asked for it, instead of queueing an egress job. Only cost and latency may change: order,
 * exactly-once without crashes, retries and backlogs must be the queue's.
 */

let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

const connect = (prefix: string, opts: BusOptions) =>
  RedisBus.connect({ ...opts, url: redis.url, prefix, instanceId: `direct-${randomUUID()}`, leaseMs: 1_000 });

/** Batches handed straight to `connector`'s consumer, by outcome. */
async function handOffs(registry: Registry, connector: string): Promise<{ delivered: number; failed: number }> {
  const metric = await registry.getSingleMetric('switchboard_bus_direct_deliveries_total')?.get();
  const count = (outcome: string) => metric?.values.find((v) => v.labels.connector === connector && v.labels.outcome === outcome)?.value ?? 0;
  return { delivered: count('delivered'), failed: count('failed') };
}

/** A consumer that records every call and may fail some. */
function collect(bus: Bus, connector: string, direct: boolean, decide: (batch: readonly Delivery[], call: number) => Promise<void> | void = () => undefined) {
  const calls: (readonly Delivery[])[] = [];
  const delivered: CanonicalEvent[] = [];
  const handler: DeliveryHandler = async (batch) => {
    calls.push(batch);
    await decide(batch, calls.length);
    delivered.push(...batch.map((d) => d.event));
  };
  const consumer = bus.consumeEgress(connector, handler, { direct });
  return { calls, delivered, consumer };
}

const idsOf = (events: readonly CanonicalEvent[]) => events.map((e) => e.id);

/** Runs body with fresh buses on one prefix, closing every one of them and what they started. */
async function withBuses(count: number, body: (buses: RedisBus[], registries: Registry[], closers: Stoppable[]) => Promise<void>): Promise<void> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const opts = Array.from({ length: count }, () => busOptions());
  const buses = await Promise.all(opts.map((o) => connect(prefix, o)));
  const closers: Stoppable[] = [];
  try {
    await body(buses, opts.map((o) => o.registry), closers);
  } finally {
    for (const c of closers.reverse()) await c.close();
    for (const b of buses) await b.close();
  }
}

test('an idle local consumer that asked for it gets batches straight from the router: all of them, once, in order', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = collect(bus, 'mtproto', true);
    const xmpp = collect(bus, 'xmpp', false);
    closers.push(mt.consumer, xmpp.consumer);
    await sleep(100); // both consumers hold their leases and wait
    const sent: CanonicalEvent[] = [];
    for (let i = 0; i < 60; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => message(`m${i}.${j}`, { connector: 'websocket', address: 'lobby' }));
      sent.push(...batch);
      await bus.publish(batch);
      if (i % 10 === 0) await sleep(20); // let the consumer go idle now and then
    }
    await waitFor('every delivery', () => mt.delivered.length >= sent.length && xmpp.delivered.length >= sent.length);
    await sleep(100);
    assert.deepEqual(idsOf(mt.delivered), idsOf(sent));
    assert.deepEqual(idsOf(xmpp.delivered), idsOf(sent));
    const direct = await handOffs(registry, 'mtproto');
    assert.ok(direct.delivered > 0, 'some batches went straight to the consumer');
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
    const mt = collect(bus, 'mtproto', true, (batch) => {
      if (failures < 1 && batch.some((d) => d.event.kind === 'message' && d.event.text === 'boom')) {
        failures++;
        throw new Error('target hiccup');
      }
    });
    closers.push(mt.consumer);
    await sleep(100);
    const before = [message('a1'), message('a2')];
    await bus.publish(before);
    await waitFor('the first batch', () => mt.delivered.length >= 2);
    await sleep(50);
    const boom = message('boom');
    const after = Array.from({ length: 30 }, (_, i) => message(`z${i}`));
    await bus.publish([boom]);
    await Promise.all(after.map((e) => bus.publish([e])));
    await waitFor('everything', () => mt.delivered.length >= 33);
    await sleep(100);
    assert.deepEqual(idsOf(mt.delivered), idsOf([...before, boom, ...after]), 'once each, in order');
    const boomCalls = mt.calls.filter((c) => c.some((d) => d.event.id === boom.id));
    assert.equal(boomCalls.length, 2, 'tried directly, then once more from the queue');
    assert.equal((await handOffs(registry, 'mtproto')).failed, 1);
    assert.equal((await bus.deadLetters(10)).length, 0);
  }));

test('a direct delivery that keeps failing is dead-lettered after maxAttempts in all, and the room flows on', async () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const opts = busOptions({ delivery: { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 } });
  const bus = await connect(prefix, opts);
  const closers: Stoppable[] = [];
  try {
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = collect(bus, 'mtproto', true, (batch) => {
      if (batch.some((d) => d.event.kind === 'message' && d.event.text === 'poison')) throw new Error('target rejects poison');
    });
    closers.push(mt.consumer);
    await sleep(100);
    const poison = message('poison');
    await bus.publish([poison]);
    await waitFor('the dead letter', async () => (await bus.deadLetters(10)).length === 1);
    assert.equal(mt.calls.filter((c) => c.some((d) => d.event.id === poison.id)).length, 3, 'maxAttempts attempts, the direct one included');
    const next = message('next');
    await bus.publish([next]);
    await waitFor('the next event', () => mt.delivered.some((e) => e.id === next.id));
  } finally {
    for (const c of closers.reverse()) await c.close();
    await bus.close();
  }
});

test('a backlog queued while the consumer was away is delivered first; direct delivery resumes only once it is drained', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const backlog = Array.from({ length: 200 }, (_, i) => message(`b${i}`));
    for (let i = 0; i < backlog.length; i += 4) await bus.publish(backlog.slice(i, i + 4));
    await waitFor('the backlog queued', async () => (await bus.stats()).egressWaiting.mtproto !== undefined
      && (await bus.readStream('lobby', undefined, 1_000)).entries.length === backlog.length);
    const mt = collect(bus, 'mtproto', true, () => sleep(1)); // a little slow, so the backlog and new events overlap
    closers.push(mt.consumer);
    const live = Array.from({ length: 100 }, (_, i) => message(`l${i}`));
    for (const e of live) await bus.publish([e]);
    await waitFor('backlog and live', () => mt.delivered.length >= 300);
    const tail = Array.from({ length: 20 }, (_, i) => message(`t${i}`));
    for (const e of tail) {
      await bus.publish([e]);
      await sleep(5);
    }
    await waitFor('the tail', () => mt.delivered.length >= 320);
    await sleep(100);
    assert.deepEqual(idsOf(mt.delivered), idsOf([...backlog, ...live, ...tail]), 'once each, backlog first, in order');
    assert.ok((await handOffs(registry, 'mtproto')).delivered > 0, 'direct delivery resumed after the backlog');
  }));

test('the router on one instance and the consumer on another: nothing is handed over, everything arrives in order', () =>
  withBuses(2, async ([a, b], [ra, rb], closers) => {
    assert.ok(a && b && ra && rb);
    closers.push(a.startRouting((e) => lobbyRouter().route(e)));
    await waitFor('a routes', async () => { await sleep(50); return true; });
    const mt = collect(b, 'mtproto', true);
    closers.push(mt.consumer);
    await sleep(100);
    const sent = Array.from({ length: 50 }, (_, i) => message(`x${i}`));
    for (const e of sent) await a.publish([e]);
    await waitFor('all', () => mt.delivered.length >= sent.length);
    await sleep(50);
    assert.deepEqual(idsOf(mt.delivered), idsOf(sent));
    assert.deepEqual(await handOffs(ra, 'mtproto'), { delivered: 0, failed: 0 });
    assert.deepEqual(await handOffs(rb, 'mtproto'), { delivered: 0, failed: 0 });
  }));

test('an ingress job written by someone else is validated: its bad events are dead-lettered, its good ones routed', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const prefix = (bus as unknown as { opts: { prefix: string } }).opts.prefix;
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = collect(bus, 'mtproto', true);
    closers.push(mt.consumer);
    const good = message('from elsewhere');
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const foreign = new Queue(`${prefix}-ingress`, { connection: conn, prefix });
    try {
      await foreign.add('events', [good, { ...good, id: 'not-an-id', text: 'forged' }], { jobId: 'foreign-1' });
      await waitFor('the good event', () => mt.delivered.length >= 1);
      await waitFor('the dead letter', async () => (await bus.deadLetters(10)).length === 1);
      const [letter] = await bus.deadLetters(10);
      assert.match(letter?.reason ?? '', /invalid event on ingress: id/);
      assert.equal(letter?.stage, 'ingress');
      await sleep(50);
      assert.deepEqual(idsOf(mt.delivered), [good.id]);
    } finally {
      await foreign.close();
      await conn.quit();
    }
  }));

test('routing at publish: a quiet room is routed by the publishing process itself; mixed with another instance publishing, every target still gets stream order, once', () =>
  withBuses(2, async ([a, b], [ra], closers) => {
    assert.ok(a && b && ra);
    closers.push(a.startRouting((e) => lobbyRouter().route(e)));
    const mt = collect(a, 'mtproto', true);
    const xmpp = collect(a, 'xmpp', false);
    closers.push(mt.consumer, xmpp.consumer);
    await sleep(150);
    // Quiet: one at a time, each routed at publish.
    for (let i = 0; i < 20; i++) {
      await a.publish([message(`q${i}`, { connector: 'websocket', address: 'lobby' })]);
      await sleep(3);
    }
    const atPublish = await ra.getSingleMetric('switchboard_bus_routed_at_publish_batches_total')?.get();
    assert.ok((atPublish?.values[0]?.value ?? 0) > 0, 'some batches were routed at publish');
    // Busy: both instances publish at once; b's jobs always go through the router, a's when they can.
    const fromA = Array.from({ length: 150 }, (_, i) => message(`a${i}`, { connector: 'websocket', address: 'lobby' }));
    const fromB = Array.from({ length: 150 }, (_, i) => message(`b${i}`, { connector: 'websocket', address: 'lobby' }));
    await Promise.all([
      (async () => { for (const e of fromA) { await a.publish([e]); if (Math.random() < 0.2) await sleep(1); } })(),
      (async () => { for (const e of fromB) { await b.publish([e]); if (Math.random() < 0.2) await sleep(1); } })(),
    ]);
    await waitFor('everything at both targets', () => mt.delivered.length >= 320 && xmpp.delivered.length >= 320);
    await sleep(100);
    const stream = (await a.readStream('lobby', undefined, 1_000)).entries.map((e) => e.event.id);
    assert.equal(stream.length, 320);
    assert.deepEqual(idsOf(mt.delivered), stream, 'direct target: stream order, once each');
    assert.deepEqual(idsOf(xmpp.delivered), stream, 'queued target: stream order, once each');
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
    const mt = collect(a, 'mtproto', true, () => sleep(40)); // a slow target keeps the router busy
    closers.push(mt.consumer);
    await sleep(150);
    const pairs: [CanonicalEvent, CanonicalEvent][] = [];
    for (let i = 0; i < 6; i++) {
      const first = message(`b-first-${i}`);
      const then = message(`a-then-${i}`, { connector: 'websocket', address: 'lobby' });
      await b.publish([first]); // accepted (durably queued) before...
      await a.publish([then]); // ...this one is even published
      pairs.push([first, then]);
      await sleep(i % 2 === 0 ? 0 : 60);
    }
    await waitFor('all delivered', () => mt.delivered.length >= 12, 20_000);
    const stream = (await a.readStream('lobby', undefined, 100)).entries.map((e) => e.event.id);
    for (const [first, then] of pairs) {
      assert.ok(stream.indexOf(first.id) < stream.indexOf(then.id), `${first.id} was accepted first and must come first`);
    }
    assert.deepEqual(idsOf(mt.delivered), stream);
  }));

test('routing at publish that fails half way (an egress add keeps failing): the publish still succeeds, the router routes it again, nothing is lost or reordered', () =>
  withBuses(1, async ([bus], [registry], closers) => {
    assert.ok(bus && registry);
    const prefix = (bus as unknown as { opts: { prefix: string } }).opts.prefix;
    closers.push(bus.startRouting((e) => lobbyRouter().route(e)));
    const mt = collect(bus, 'mtproto', true);
    const xmpp = collect(bus, 'xmpp', false);
    closers.push(mt.consumer, xmpp.consumer);
    await sleep(150);
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    try {
      const ws = { connector: 'websocket', address: 'lobby' };
      const first = message('first', ws);
      await bus.publish([first]);
      await waitFor('first everywhere', () => mt.delivered.length >= 1 && xmpp.delivered.length >= 1);
      // BullMQ's add script starts with INCR of the queue's id key: a non-number there makes every
      // add to the xmpp egress queue fail, before it writes anything.
      const idKey = `${prefix}:${prefix}-egress-xmpp:id`;
      await admin.set(idKey, 'broken');
      const second = message('second', ws);
      const third = message('third', ws);
      const publishing = Promise.all([bus.publish([second]), sleep(50).then(() => bus.publish([third]))]);
      await waitFor('second handed to mtproto', () => mt.delivered.some((e) => e.id === second.id));
      await sleep(2_500); // past routing at publish's own retry deadline: the router has it now
      assert.equal(xmpp.delivered.length, 1, 'nothing reached xmpp while its queue refuses adds');
      await admin.set(idKey, '1000');
      await publishing; // both publishes were accepted
      await waitFor('second and third at xmpp', () => xmpp.delivered.length >= 3, 15_000);
      await waitFor('third at mtproto', () => mt.delivered.some((e) => e.id === third.id));
      await sleep(100);
      assert.deepEqual(idsOf(xmpp.delivered), idsOf([first, second, third]), 'queued target: once each, in order');
      // The direct target may see `second` twice (handed over at publish, then by the router's
      // re-route): at least once, never out of order, nothing missing.
      const seen = idsOf(mt.delivered).filter((id, i, all) => all.indexOf(id) === i);
      assert.deepEqual(seen, idsOf([first, second, third]));
      assert.ok(mt.delivered.length <= 4);
    } finally {
      await admin.set(`${prefix}:${prefix}-egress-xmpp:id`, '2000');
      await admin.quit();
    }
  }));
