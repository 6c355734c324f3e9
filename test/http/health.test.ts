import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { healthReport } from '../../src/http/health.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { busOptions } from '../bus/harness.ts';

/** /healthz against a Redis that stops answering (SIGSTOP): it must say so in bounded time, not hang. */

let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => {
  try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
  await redis.stop();
});

test('a Redis that hangs makes /healthz answer unavailable within its probe bound, and ok again once it answers', async () => {
  const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix: `h${randomUUID().slice(0, 8)}`, instanceId: `h-${randomUUID()}` });
  const source = { bus, instance: 'test', startedAt: Date.now(), draining: () => false, connectors: () => ({}) };
  try {
    assert.equal((await healthReport(source)).status, 'ok');
    process.kill(redis.pid, 'SIGSTOP');
    const startedAt = Date.now();
    const report = await healthReport(source);
    const took = Date.now() - startedAt;
    process.kill(redis.pid, 'SIGCONT');
    assert.equal(report.status, 'unavailable');
    assert.ok(took >= 1_500 && took < 6_000, `answered after ${took} ms (probe bound: 2 s)`);
    let status = '';
    for (let i = 0; i < 20 && status !== 'ok'; i++) {
      status = (await healthReport(source)).status;
      if (status !== 'ok') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 'ok', 'healthy again once Redis answers');
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await bus.close();
  }
});

test('while draining /healthz answers "draining" at once, even when Redis hangs', async () => {
  const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix: `h${randomUUID().slice(0, 8)}`, instanceId: `h-${randomUUID()}` });
  try {
    process.kill(redis.pid, 'SIGSTOP');
    const startedAt = Date.now();
    const report = await healthReport({ bus, instance: 'test', startedAt, draining: () => true, connectors: () => ({}) });
    const took = Date.now() - startedAt;
    assert.equal(report.status, 'draining');
    assert.ok(took < 500, `answered after ${took} ms`);
  } finally {
    process.kill(redis.pid, 'SIGCONT');
    await bus.close();
  }
});

test('a connector that reports down makes the instance unavailable; degraded does not', async () => {
  const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix: `h${randomUUID().slice(0, 8)}`, instanceId: `h-${randomUUID()}` });
  try {
    const base = { bus, instance: 'test', startedAt: Date.now(), draining: () => false };
    const degraded = await healthReport({ ...base, connectors: () => ({ xmpp: { status: 'degraded' as const } }) });
    assert.equal(degraded.status, 'ok');
    assert.deepEqual(degraded.connectors, { xmpp: { status: 'degraded' } });
    const down = await healthReport({ ...base, connectors: () => ({ xmpp: { status: 'ok' as const }, mtproto: { status: 'down' as const } }) });
    assert.equal(down.status, 'unavailable');
  } finally {
    await bus.close();
  }
});
