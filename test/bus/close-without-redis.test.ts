import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, Collector, lobbyRouter, message, WS } from './harness.ts';

/**
 * A bus closed after its Redis went away (a shutdown during an outage, or a test that stops Redis
 * first) ends: its idle consumers were blocked in a fetch on BullMQ's worker connection, which
 * retries its commands without limit, and the close waited for that fetch forever.
 */
test('redis bus: close() ends when Redis is gone, with the router and an egress consumer idle in their blocked fetches', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix: `cw${randomUUID().slice(0, 8)}`, instanceId: `close-${randomUUID()}` });
  const router = lobbyRouter();
  bus.startRouting((event) => router.route(event));
  const ws = new Collector(bus, WS.connector);
  // Both consumers work, then wait idle for the next job.
  const first = message('before the outage');
  await bus.publish([first]);
  await waitFor(() => ws.ids().includes(first.id), { timeoutMs: 10_000, what: 'the delivery before the outage' });
  await new Promise((r) => setTimeout(r, 300));

  await redis.stop();
  const startedAt = Date.now();
  let closed = false;
  const closing = bus.close().then(() => { closed = true; });
  // Well under the test's own timeout: the consumers give up their fetches at once, and a worker
  // whose connection never comes back is closed in the background after closeWorker's 5 s.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
  clearTimeout(timer);
  assert.ok(closed, `close() had not ended ${Date.now() - startedAt} ms after Redis went away`);
});
