import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { appendArgs, defineAppendScript, parseAppendReply } from '../../src/bus/redis/append-script.ts';
import { busKeys } from '../../src/bus/redis/keys.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { message } from './harness.ts';

/** The append script's "if free" mode (routing at publish) and its re-run rules, against a real redis-server. */

let redis: RedisServer;
let conn: Redis;
before(async () => {
  redis = await startRedis();
  conn = new Redis(redis.url);
  defineAppendScript(conn);
});
after(async () => {
  await conn.quit();
  await redis.stop();
});

const retention = { maxEventsPerRoom: 1_000, dedupeSeconds: 3_600 };

async function run(keys: ReturnType<typeof busKeys>, chunkId: string, events: ReturnType<typeof message>[], ingressJobIds: string[], ifFree?: boolean) {
  const q = keys.ingressQueue;
  const [numKeys, ...args] = appendArgs(keys, {
    chunkId, events, ingressJobIds, instanceId: 'me', retention,
    ...(ifFree ? { ifFree: { waitList: keys.waitList(q), activeList: keys.activeList(q), jobKey: keys.job(q, chunkId) } } : {}),
  });
  const raw = await (conn as unknown as { sbAppendBatch(n: number, ...a: string[]): Promise<unknown> }).sbAppendBatch(numKeys, ...args);
  return parseAppendReply(raw, events.length);
}

test('if free: defers when its own job does not exist (its add failed), and appends nothing', async () => {
  const keys = busKeys(`a${randomUUID().slice(0, 8)}`);
  const e = message('x');
  assert.equal(await run(keys, 'job-1', [e], ['job-1'], true), 'deferred');
  assert.equal(await conn.xlen(keys.stream(e.room)), 0);
});

test('if free: defers behind a job nobody appended yet; appends (and marks itself) behind jobs appended at publish', async () => {
  const keys = busKeys(`a${randomUUID().slice(0, 8)}`);
  const q = keys.ingressQueue;
  await conn.hset(keys.job(q, 'j2'), 'name', 'events');
  await conn.lpush(keys.waitList(q), 'j1', 'j2'); // j1 waits, unrouted; j2 is ours
  const e = message('y');
  assert.equal(await run(keys, 'j2', [e], ['j2'], true), 'deferred');
  assert.equal(await conn.xlen(keys.stream(e.room)), 0);

  await conn.set(keys.routedAtPublish('j1'), '1'); // j1 was appended at publish after all
  const done = await run(keys, 'j2', [e], ['j2'], true);
  assert.notEqual(done, 'deferred');
  assert.equal(done === 'deferred' ? undefined : done.outcomes[0]?.status, 'new');
  assert.equal(await conn.exists(keys.routedAtPublish('j2')), 1, 'marked, so the next publish may follow it');

  await conn.lpush(keys.activeList(q), 'j0'); // the router is appending something of its own
  await conn.hset(keys.job(q, 'j3'), 'name', 'events');
  assert.equal(await run(keys, 'j3', [message('z')], ['j3'], true), 'deferred');
});

test('the router re-routing an event appended at publish (another chunk id, same ingress job) reuses its cursor; another job is a duplicate', async () => {
  const keys = busKeys(`a${randomUUID().slice(0, 8)}`);
  const e = message('w');
  const first = await run(keys, 'job-9', [e], ['job-9']);
  assert.ok(first !== 'deferred');
  const cursor = first.outcomes[0]?.status === 'new' ? first.outcomes[0].cursor : undefined;
  const rerun = await run(keys, 'g-group', [e], ['job-9']);
  assert.ok(rerun !== 'deferred');
  assert.deepEqual(rerun.outcomes[0], { status: 'reprocessed', cursor });
  const other = await run(keys, 'g-other', [e], ['job-10']);
  assert.ok(other !== 'deferred');
  assert.deepEqual(other.outcomes[0], { status: 'duplicate' });
  assert.equal(await conn.xlen(keys.stream(e.room)), 1, 'appended once');
});
