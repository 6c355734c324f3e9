import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { Delivery } from '../../src/bus/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { busOptions, message, waitFor, WS } from './harness.ts';

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
      await waitFor('both subscriptions confirmed', () => resyncsA === 1 && resyncsB === 1);

      const sent = [deliveries(3), deliveries(1), deliveries(5)];
      for (const batch of sent) await a.fanout.publish('websocket', batch);
      await waitFor('3 batches at b', () => atB.length === 3);
      assert.deepEqual(atB.map((m) => m.batch.map((d) => d.event.id)), sent.map((batch) => batch.map((d) => d.event.id)));
      assert.deepEqual(atB[0]?.batch[0], sent[0]?.[0], 'a delivery arrives whole');
      assert.ok(atB.every((m) => m.from.startsWith('a-')));
      assert.equal(atA.length, 0, 'the publisher does not receive its own batches');

      // Pub/sub keeps nothing for a dropped subscriber: after the reconnect both are told to resync.
      await admin.client('KILL', 'TYPE', 'pubsub');
      await waitFor('resync after the reconnect', () => resyncsA === 2 && resyncsB === 2);
      await a.fanout.publish('websocket', deliveries(2));
      await waitFor('a batch after the reconnect', () => atB.length === 4);

      // A message the receiver can't use, and one whose publisher lost an earlier one, both mean: resync.
      await admin.publish(`${prefix}:fanout:websocket`, '{"from":"x","deliveries":[{"nope":1}]}');
      await waitFor('resync after an unreadable message', () => resyncsB === 3);
      await admin.publish(`${prefix}:fanout:websocket`, JSON.stringify({ from: 'x', resync: true, deliveries: deliveries(1) }));
      await waitFor('resync on a marked message, then its batch', () => resyncsB === 4 && atB.length === 5);
      assert.equal(atB.length, 5, 'the unreadable message delivered nothing');

      await subB.close();
      await a.fanout.publish('websocket', deliveries(1));
      await b.fanout.publish('websocket', deliveries(1));
      await waitFor('a gets b\'s batch', () => atA.some((m) => m.from.startsWith('b-')));
      assert.equal(atB.length, 5, 'nothing after close');
      await subA.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
