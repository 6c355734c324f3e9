import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { appendBatch, appendIfFree, defineAppendScript, type AppendResult } from '../../src/bus/redis/append-script.ts';
import { queueKeys } from '../../src/bus/redis/bullmq-adapter.ts';
import { busKeys } from '../../src/bus/redis/keys.ts';
import { dedupeMarksPerRoom } from '../../src/bus/retention.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { message, XMPP } from './harness.ts';

/** The append script against a real redis-server: dedupe marks per room and their bounds, re-runs, and the "if free" mode. */

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
const newKeys = () => busKeys(`a${randomUUID().slice(0, 8)}`);

function append(keys: ReturnType<typeof busKeys>, events: CanonicalEvent[], ingressJobId: string, ret = retention): Promise<AppendResult> {
  return appendBatch(conn, keys, { events, ingressJobIds: events.map(() => ingressJobId), instanceId: 'me', retention: ret });
}

function ifFree(keys: ReturnType<typeof busKeys>, jobId: string, events: CanonicalEvent[]) {
  const q = queueKeys(keys.prefix, keys.ingressQueue);
  return appendIfFree(conn, keys, { events, ingressJobIds: events.map(() => jobId), instanceId: 'me', retention },
    { jobId, waitList: q.wait, activeList: q.active, jobKey: q.job(jobId) });
}

test('a re-run of the same ingress job reuses its cursor; the same id from another job is a duplicate; the same id twice in one call counts once', async () => {
  const keys = newKeys();
  const e = message('w');
  const first = await append(keys, [e, e], 'job-9');
  assert.equal(first.outcomes[0]?.status, 'new');
  assert.deepEqual(first.outcomes[1], { status: 'duplicate' });
  const cursor = first.outcomes[0]?.status === 'new' ? first.outcomes[0].cursor : undefined;
  assert.deepEqual((await append(keys, [e], 'job-9')).outcomes[0], { status: 'reprocessed', cursor });
  assert.deepEqual((await append(keys, [e], 'job-10')).outcomes[0], { status: 'duplicate' });
  assert.equal(await conn.xlen(keys.stream(e.room)), 1, 'appended once');
});

test('marks are per room and bounded by count: a room keeps the marks of its newest N events, older ids are appended again', async () => {
  const keys = newKeys();
  const small = { maxEventsPerRoom: 100, dedupeSeconds: 3_600 };
  const n = dedupeMarksPerRoom(small);
  assert.equal(n, 100);
  const events = Array.from({ length: 500 }, (_, i) => message(`m${i}`));
  const other = message('other room', XMPP, 'elsewhere');
  for (let i = 0; i < events.length; i += 50) await append(keys, [...events.slice(i, i + 50), ...(i === 0 ? [other] : [])], `job-${i}`, small);
  const room = events[0]?.room ?? '';
  const marks = await conn.hlen(keys.marks(room));
  assert.ok(marks >= n && marks <= n + 1 + 50, `marks kept: ${marks}`);
  assert.equal(await conn.llen(keys.marksOrder(room)), marks, 'the order list and the hash agree');
  assert.equal(await conn.hlen(keys.marks('elsewhere')), 1, 'another room keeps its own marks');
  const ttl = await conn.ttl(keys.marks(room));
  assert.ok(ttl > 3_500 && ttl <= 3_600, `marks expire dedupeSeconds after the last append (ttl ${ttl})`);

  const recent = events[events.length - n];
  const old = events[events.length - n - 60];
  assert.ok(recent && old);
  const again = await append(keys, [recent, old], 'job-late', small);
  assert.deepEqual(again.outcomes[0], { status: 'duplicate' }, 'at most N newer events: still a duplicate');
  assert.equal(again.outcomes[1]?.status, 'new', 'more than N newer events: forgotten');
  const stream = await conn.xlen(keys.stream(room));
  assert.ok(stream >= 100 && stream <= 102, `the stream keeps its own retention (${stream})`);
});

test('marks whose order list was deleted by hand stay bounded: past twice their bound both keys are dropped', async () => {
  const keys = newKeys();
  const small = { maxEventsPerRoom: 100, dedupeSeconds: 3_600 };
  const room = message('x').room;
  for (let round = 0; round < 6; round++) {
    await append(keys, Array.from({ length: 50 }, (_, i) => message(`r${round}.${i}`)), `job-${round}`, small);
    await conn.del(keys.marksOrder(room));
  }
  const marks = await conn.hlen(keys.marks(room));
  assert.ok(marks <= 2 * (100 + 1) + 50, `hash bounded (${marks})`);
});

test('if free: defers when its own job does not exist (its add failed), and appends nothing', async () => {
  const keys = newKeys();
  const e = message('x');
  assert.equal(await ifFree(keys, 'job-1', [e]), 'deferred');
  assert.equal(await conn.xlen(keys.stream(e.room)), 0);
});

test('if free: defers behind a job nobody appended yet, or appended more than 10 s ago; appends (and marks itself) behind jobs appended at publish', async () => {
  const keys = newKeys();
  const q = queueKeys(keys.prefix, keys.ingressQueue);
  await conn.hset(q.job('j2'), 'name', 'events');
  await conn.lpush(q.wait, 'j1', 'j2'); // j1 waits, unrouted; j2 is ours
  const e = message('y');
  assert.equal(await ifFree(keys, 'j2', [e]), 'deferred');
  assert.equal(await conn.xlen(keys.stream(e.room)), 0);

  const [seconds] = await conn.time();
  await conn.zadd(keys.routedAtPublish, Number(seconds) * 1000 - 20_000, 'j1'); // appended at publish, but long ago
  assert.equal(await ifFree(keys, 'j2', [e]), 'deferred');
  await conn.zadd(keys.routedAtPublish, Number(seconds) * 1000, 'j1'); // appended at publish just now
  const done = await ifFree(keys, 'j2', [e]);
  assert.notEqual(done, 'deferred');
  assert.equal(done === 'deferred' ? undefined : done.outcomes[0]?.status, 'new');
  assert.notEqual(await conn.zscore(keys.routedAtPublish, 'j2'), null, 'marked, so the next publish may follow it');

  await conn.lpush(q.active, 'j0'); // the router is appending something of its own
  await conn.hset(q.job('j3'), 'name', 'events');
  assert.equal(await ifFree(keys, 'j3', [message('z')]), 'deferred');
});

test('if free: the set of jobs appended at publish keeps only its newest 64', async () => {
  const keys = newKeys();
  const q = queueKeys(keys.prefix, keys.ingressQueue);
  for (let i = 0; i < 100; i++) {
    await conn.hset(q.job(`j${i}`), 'name', 'events');
    assert.notEqual(await ifFree(keys, `j${i}`, [message(`e${i}`)]), 'deferred');
  }
  assert.equal(await conn.zcard(keys.routedAtPublish), 64);
});
