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
  const source = { bus, instance: 'test', startedAt: Date.now(), draining: () => false };
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
