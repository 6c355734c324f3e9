import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connectClient } from '../helpers/ws-client.ts';
import { busOptions, startBridge } from './harness.ts';
import { isRedisUnreachable, RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startRedis } from '../helpers/redis.ts';

test('what ioredis throws when Redis cannot be reached is an outage; other errors are not', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  assert.ok(isRedisUnreachable(named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 3). Refer to "maxRetriesPerRequest" option for details.')));
  assert.ok(isRedisUnreachable(new Error('Connection is closed.')));
  assert.ok(isRedisUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })));
  assert.ok(!isRedisUnreachable(new Error('ERR Error running script (call to f_x): user_script:1: bad')));
  assert.ok(!isRedisUnreachable(new TypeError('Cannot read properties of undefined')));
  assert.ok(!isRedisUnreachable('Connection is closed.'));
});

test('a join that needs the bus while Redis is away answers unavailable (retry), not internal; it works once Redis is back', { timeout: 60_000 }, async (t) => {
  // Cleanups run in the order they are registered: clients, the bridge and the bus go before Redis.
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => { for (const c of cleanups.reverse()) await c(); });
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const bus = await RedisBus.connect({ ...busOptions(createRegistry(false)), url: redis.url, prefix: `wsd${randomUUID().slice(0, 8)}`, instanceId: `ws-down-${randomUUID()}` });
  cleanups.push(() => bus.close());
  const bridge = await startBridge({ bus });
  cleanups.push(() => bridge.stop());
  const alice = await connectClient(bridge.url, bridge.tokens.alice);
  cleanups.push(async () => { await alice.close(); });
  await alice.request({ type: 'join', room: 'lobby' });
  assert.equal((await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'before' } })).type, 'ack');
  const since = String((await alice.request({ type: 'join', room: 'lobby' }))['cursor']);
  assert.match(since, /^\d+-\d+$/);
  await new Promise((r) => setTimeout(r, 1_500)); // the AOF is synced every second: the stream survives the crash

  const back = redis.crashAndRestart(8_000);
  await new Promise((r) => setTimeout(r, 500));
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  cleanups.push(async () => { await bob.close(); });
  const answer = await bob.request({ type: 'join', room: 'lobby', since }, 7_000);
  assert.equal(answer.type, 'error', JSON.stringify(answer));
  assert.equal(answer['code'], 'unavailable', JSON.stringify(answer));
  await back;
  // Redis is back: the same frame works.
  for (let i = 0; ; i++) {
    const again = await bob.request({ type: 'join', room: 'lobby', since }, 7_000);
    if (again.type === 'joined') break;
    assert.ok(i < 40 && again['code'] === 'unavailable', JSON.stringify(again));
    await new Promise((r) => setTimeout(r, 250));
  }
});
