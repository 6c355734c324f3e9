import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ClaimBatcher, defineClaimScript } from '../../src/bus/redis/claim-batcher.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, lobbyRouter, message, ROOM, XMPP } from './harness.ts';

/**
 * The fast path `batchClaims` (src/bus/redis/claim-batcher.ts): the transaction claims of one tick
 * go to Redis as one script call, and each answers what the plain path answers, in order. Real
 * redis-server.
 */

async function evalshaCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

test('claims of one tick are one script call; the first claim of a transaction wins, a second in the same tick is told the first; rooms stay apart', async (t) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const redis = new Redis(server.url);
  const admin = new Redis(server.url);
  t.after(() => { redis.disconnect(); admin.disconnect(); });
  defineClaimScript(redis);
  const batcher = new ClaimBatcher(redis, 60_000, 100);
  const room = (name: string) => [`t:txn:${name}`, `t:txn-order:${name}`] as const;
  await batcher.claim(room('warm'), 'w', 'w|0'); // loads the script: EVALSHA from here on
  await admin.config('RESETSTAT');

  const answers = await Promise.all([
    batcher.claim(room('a'), 'alice\u0000t1', 'id1|1'),
    batcher.claim(room('a'), 'alice\u0000t1', 'id2|2'),
    batcher.claim(room('a'), 'alice\u0000t2', 'id3|3'),
    batcher.claim(room('b'), 'alice\u0000t1', 'id4|4'),
    ...Array.from({ length: 6 }, (_, i) => batcher.claim(room('c'), `bob\u0000${i}`, `c${i}|${i}`)),
  ]);
  assert.deepEqual(answers.slice(0, 4), [undefined, 'id1|1', undefined, undefined], 'claimed in order; another room is another transaction');
  assert.deepEqual(answers.slice(4), Array(6).fill(undefined));
  assert.equal(await evalshaCalls(admin), 1, 'ten claims in one tick, one call');

  // A later tick sees what the earlier claimed; each tick is a call of its own.
  assert.equal(await batcher.claim(room('a'), 'alice\u0000t2', 'id5|5'), 'id3|3');
  assert.equal(await batcher.claim(room('b'), 'alice\u0000t1', 'id6|6'), 'id4|4');
  assert.equal(await evalshaCalls(admin), 3);
  assert.equal(await redis.pttl(room('a')[0]) > 0, true, 'the room\'s keys expire with the window');
});

test('a room keeps at most its cap of transactions, also when one tick claims more', async (t) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const redis = new Redis(server.url);
  t.after(() => redis.disconnect());
  defineClaimScript(redis);
  const batcher = new ClaimBatcher(redis, 60_000, 3);
  const keys = ['t:txn:r', 't:txn-order:r'] as const;
  await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.claim(keys, `s\u0000${i}`, `id${i}|${i}`)));
  assert.equal(await redis.hlen(keys[0]), 3);
  assert.equal(await redis.zcard(keys[1]), 3);
});

for (const batchClaims of [true, false]) {
  test(`publishOnce on redis (batchClaims ${batchClaims ? 'on' : 'off'}): a burst with resends in it publishes each transaction once`, async () => {
    const server = await startRedis();
    try {
      const bus = await RedisBus.connect({ ...busOptions(), url: server.url, prefix: `t${randomUUID().slice(0, 8)}`, instanceId: 'claims', fastPaths: { batchClaims } });
      const routing = bus.startRouting((e) => lobbyRouter().route(e));
      try {
        assert.equal((bus as unknown as { transactions: { batcher?: unknown } }).transactions.batcher instanceof ClaimBatcher, batchClaims, 'the switch reaches the transaction log');
        const sends = Array.from({ length: 20 }, (_, i) => ({ event: message(`m${i % 10}`, XMPP), txn: { scope: 'xmpp:alice@example.org', id: `t${i % 10}` } }));
        const results = await Promise.all(sends.map(({ event, txn }) => bus.publishOnce(event, txn)));
        assert.deepEqual(results.map((r) => r.duplicate), [...Array(10).fill(false), ...Array(10).fill(true)]);
        assert.deepEqual(results.slice(10).map((r) => r.id), results.slice(0, 10).map((r) => r.id), 'a resend answers the first id');
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 100)).entries.length >= 10, { what: 'the stream' });
        const stream = (await bus.readStream(ROOM, undefined, 100)).entries.map((e) => e.event.id);
        assert.deepEqual(stream, results.slice(0, 10).map((r) => r.id), 'each transaction once, in the order sent');
      } finally {
        await routing.close();
        await bus.close();
      }
    } finally {
      await server.stop();
    }
  });
}
