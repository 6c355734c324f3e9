import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { Delivery } from '../../src/bus/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, lobbyRouter, message, ROOM, waitForLease, WS } from './harness.ts';

/** The redis driver's fan-out: pub/sub between instances, and the resync signal whenever something may be lost. */

let redis: RedisServer;
let admin: Redis;
before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
after(async () => {
  await admin.quit();
  await redis.stop();
});

const deliveries = (n: number): Delivery[] =>
  Array.from({ length: n }, (_, i) => ({ event: message(`m${i}`), target: WS, cursor: `${Date.now()}-${i}` }));

describe('redis fan-out', () => {
  test('batches reach the other instances in order, never the publisher; (re)subscribing signals a resync', async () => {
    const prefix = `f${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all(['a', 'b'].map((name) =>
      RedisBus.connect({ ...busOptions(), url: redis.url, prefix, instanceId: `${name}-${randomUUID()}` })));
    assert.ok(a && b);
    try {
      const atA: { batch: readonly Delivery[]; from: string }[] = [];
      const atB: { batch: readonly Delivery[]; from: string }[] = [];
      let resyncsA = 0;
      let resyncsB = 0;
      const subA = a.fanout.subscribe('websocket', (batch, from) => atA.push({ batch, from }), () => { resyncsA++; });
      const subB = b.fanout.subscribe('websocket', (batch, from) => atB.push({ batch, from }), () => { resyncsB++; });
      await waitFor(() => resyncsA === 1 && resyncsB === 1, { what: 'both subscriptions confirmed' });

      const sent = [deliveries(3), deliveries(1), deliveries(5)];
      for (const batch of sent) await a.fanout.publish('websocket', batch);
      await waitFor(() => atB.length === 3, { what: '3 batches at b' });
      assert.deepEqual(atB.map((m) => m.batch.map((d) => d.event.id)), sent.map((batch) => batch.map((d) => d.event.id)));
      assert.deepEqual(atB[0]?.batch[0], sent[0]?.[0], 'a delivery arrives whole');
      assert.ok(atB.every((m) => m.from.startsWith('a-')));
      assert.equal(atA.length, 0, 'the publisher does not receive its own batches');

      // Pub/sub keeps nothing for a dropped subscriber: after the reconnect both are told to resync.
      await admin.client('KILL', 'TYPE', 'pubsub');
      await waitFor(() => resyncsA === 2 && resyncsB === 2, { what: 'resync after the reconnect' });
      await a.fanout.publish('websocket', deliveries(2));
      await waitFor(() => atB.length === 4, { what: 'a batch after the reconnect' });

      // A message the receiver can't use, and one whose publisher lost an earlier one, both mean: resync.
      await admin.publish(`${prefix}:fanout:websocket`, '{"from":"x","deliveries":[{"nope":1}]}');
      await waitFor(() => resyncsB === 3, { what: 'resync after an unreadable message' });
      await admin.publish(`${prefix}:fanout:websocket`, JSON.stringify({ from: 'x', resync: true, deliveries: deliveries(1) }));
      await waitFor(() => resyncsB === 4 && atB.length === 5, { what: 'resync on a marked message, then its batch' });
      assert.equal(atB.length, 5, 'the unreadable message delivered nothing');

      await subB.close();
      await a.fanout.publish('websocket', deliveries(1));
      await b.fanout.publish('websocket', deliveries(1));
      await waitFor(() => atA.some((m) => m.from.startsWith('b-')), { what: 'a gets b\'s batch' });
      assert.equal(atB.length, 5, 'nothing after close');
      await subA.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('redis fan-out: skipped while nobody else follows', () => {
  test('the routing instance publishes nothing while alone, and a newcomer still gets every event: by its catch-up read or by pub/sub', async () => {
    const prefix = `f${randomUUID().slice(0, 8)}`;
    const optsA = busOptions();
    const a = await RedisBus.connect({ ...optsA, url: redis.url, prefix, instanceId: `a-${randomUUID()}` });
    const b = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix, instanceId: `b-${randomUUID()}` });
    const stoppables: { close(): Promise<void> }[] = [];
    try {
      const count = async (outcome: string) => (await optsA.registry.getSingleMetric('switchboard_bus_fanout_publishes_total')?.get())
        ?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
      stoppables.push(a.startRouting((e) => lobbyRouter().route(e)));
      // A plays the websocket connector: it follows the fan-out, and its egress handler delivers, then publishes.
      let following = false;
      stoppables.push(a.fanout.subscribe('websocket', () => undefined, () => { following = true; }));
      stoppables.push(a.consumeEgress('websocket', async (batch) => { await a.fanout.publish('websocket', batch); }, { direct: true }));
      await waitForLease(a, 'router');
      await waitForLease(a, 'egress:websocket');
      await waitFor(() => following, { what: 'A following the fan-out' });

      const seenAtB = new Set<string>();
      const published: string[] = [];
      let resyncs = 0;
      const publishSome = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const e = message(`m${published.length}`, WS);
          published.push(e.id);
          await a.publish([e]);
          if (i % 10 === 0) await new Promise<void>((r) => setImmediate(r));
        }
      };
      await publishSome(60);
      await waitFor(async () => (await a.readStream(ROOM, undefined, 1_000)).entries.length === 60, { what: 'the first events routed' });
      assert.ok(await count('skipped') > 0, 'alone: publishes skipped');
      assert.equal(await count('sent'), 0, 'alone: nothing sent');

      // B joins while A keeps routing: whatever A skipped after B registered would be lost for B.
      const joining = publishSome(200);
      await waitFor(() => published.length >= 80, { what: 'A publishing again' });
      stoppables.push(b.fanout.subscribe('websocket', (batch) => { for (const d of batch) seenAtB.add(d.event.id); }, () => {
        resyncs++;
        void b.readStream(ROOM, undefined, 10_000).then((r) => { for (const entry of r.entries) seenAtB.add(entry.event.id); });
      }));
      await joining;
      await publishSome(40);
      await waitFor(() => published.every((id) => seenAtB.has(id)), { timeoutMs: 15_000, what: 'every event at B' });
      assert.ok(resyncs >= 1);
      assert.ok(await count('sent') > 0, 'with a follower: publishes sent');
    } finally {
      for (const s of stoppables.reverse()) await s.close();
      await a.close();
      await b.close();
    }
  });
});
