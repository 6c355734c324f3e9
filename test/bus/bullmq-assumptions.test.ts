import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  addHeldJob, BULLMQ_VERSION, EVENTS_STREAM_MAX_LEN, fetchWaiting, handBackToHead, manualWorker, queueKeys, queueOptions,
  takeOverActiveJobs, UNFINISHED_JOBS_LUA,
} from '../../src/bus/redis/bullmq-adapter.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { killNow, track } from '../helpers/children.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Each assumption bullmq-adapter.ts makes about BullMQ's internals, checked by name against a real
 * redis-server. When a BullMQ upgrade breaks one, the test named after it fails: fix the adapter
 * (and only the adapter) before taking that version.
 */

const CLOSE_WHILE_CONNECTING = fileURLToPath(new URL('./fixtures/close-while-connecting.ts', import.meta.url));

let redis: RedisServer;
let conn: Redis;
let workerConn: Redis;
before(async () => {
  redis = await startRedis();
  conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
});
after(async () => {
  await conn.quit();
  await workerConn.quit();
  await redis.stop();
});

/** A fresh queue (its own prefix), a manual worker on it, and cleanup. */
async function withQueue(body: (q: { queue: Queue; worker: Worker; prefix: string; name: string; keys: ReturnType<typeof queueKeys> }) => Promise<void>): Promise<void> {
  const prefix = `q${randomUUID().slice(0, 8)}`;
  const name = `${prefix}-test`;
  const queue = new Queue(name, queueOptions(conn, prefix));
  const worker = manualWorker(name, workerConn, prefix, 5_000);
  try {
    await body({ queue, worker, prefix, name, keys: queueKeys(prefix, name) });
  } finally {
    await worker.close(true);
    await queue.close();
  }
}

const token = () => `t-${randomUUID()}`;

describe(`BullMQ ${BULLMQ_VERSION} as bullmq-adapter.ts assumes it`, () => {
  test('the installed BullMQ is the pinned version', () => {
    const version = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
    assert.equal(version, BULLMQ_VERSION, 'package.json pins bullmq exactly; update BULLMQ_VERSION only after this file passes');
  });

  test('key layout: wait and active are lists of job ids, a job is the hash <prefix>:<queue>:<id>, its lock <id>:lock holds the token', () =>
    withQueue(async ({ queue, worker, keys }) => {
      await queue.add('x', { n: 1 }, { jobId: 'j1' });
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), ['j1']);
      assert.equal(await conn.exists(keys.job('j1')), 1);
      const t = token();
      const job = await worker.getNextJob(t, { block: false });
      assert.equal(job?.id, 'j1');
      assert.deepEqual(await conn.lrange(keys.active, 0, -1), ['j1']);
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), []);
      assert.equal(await conn.get(keys.lock('j1')), t);
    }));

  test('active order: a fetch pushes onto the left of the active list, so the oldest active job is at the right end', () =>
    withQueue(async ({ queue, worker, keys }) => {
      for (const id of ['a', 'b', 'c']) await queue.add('x', {}, { jobId: id });
      const t = token();
      for (let i = 0; i < 3; i++) await worker.getNextJob(t, { block: false });
      assert.deepEqual(await conn.lrange(keys.active, 0, -1), ['c', 'b', 'a']);
    }));

  test('lock takeover: whoever writes its token into a job\'s lock key may extend and complete the job; the old token may not', () =>
    withQueue(async ({ queue, worker, prefix, name }) => {
      await queue.add('x', {}, { jobId: 'j1' });
      const dead = token();
      await worker.getNextJob(dead, { block: false });
      const heir = token();
      const [job] = await takeOverActiveJobs(conn, prefix, name, heir, 5_000);
      assert.equal(job?.id, 'j1');
      assert.ok(job);
      await assert.rejects(job.moveToCompleted('done', dead, false), 'the dead owner\'s token no longer completes it');
      assert.equal(await job.extendLock(heir, 5_000), 1);
      await job.moveToCompleted('done', heir, false);
      assert.equal(await job.getState(), 'completed');
    }));

  test('active order + lock takeover: takeOverActiveJobs returns the active jobs oldest first and drops ids whose job is gone', () =>
    withQueue(async ({ queue, worker, prefix, name, keys }) => {
      for (const id of ['a', 'b', 'c']) await queue.add('x', { id }, { jobId: id });
      const t = token();
      await fetchWaiting(worker, t, 3);
      await conn.lpush(keys.active, 'ghost'); // an id whose job hash is gone
      const jobs = await takeOverActiveJobs(conn, prefix, name, token(), 5_000);
      assert.deepEqual(jobs.map((j) => j.id), ['a', 'b', 'c']);
      assert.deepEqual(await conn.lrange(keys.active, 0, -1), ['c', 'b', 'a']);
    }));

  test('fetch order: concurrent non-blocking getNextJob calls take the waiting jobs in queue order', () =>
    withQueue(async ({ queue, worker }) => {
      for (let i = 0; i < 20; i++) await queue.add('x', { i }, { jobId: `j${i}` });
      const { jobs, failed } = await fetchWaiting(worker, token(), 12);
      assert.equal(failed, false);
      assert.deepEqual(jobs.map((j) => j.id), Array.from({ length: 12 }, (_, i) => `j${i}`));
      const rest = await fetchWaiting(worker, token(), 12);
      assert.deepEqual(rest.jobs.map((j) => j.id), Array.from({ length: 8 }, (_, i) => `j${i + 12}`), 'an empty list answers nothing, not an error');
    }));

  test('hand-back to the head: moveToWait puts a job at the fetch end, so handing back the newest first leaves the oldest next', () =>
    withQueue(async ({ queue, worker }) => {
      for (const id of ['a', 'b', 'c', 'd']) await queue.add('x', {}, { jobId: id });
      const t = token();
      const { jobs } = await fetchWaiting(worker, t, 2);
      assert.deepEqual(jobs.map((j) => j.id), ['a', 'b']);
      await handBackToHead(jobs, t, silentLogger);
      const again = await fetchWaiting(worker, token(), 4);
      assert.deepEqual(again.jobs.map((j) => j.id), ['a', 'b', 'c', 'd']);
    }));

  test('hand-built job: Job#addJob sends the add at once, on the connection the queue was given, ahead of the next command on it', () =>
    withQueue(async ({ queue, worker, keys }) => {
      const client = await queue.client;
      const { job, added } = addHeldJob(queue, client, 'events', [{ n: 1 }], { jobId: 'built', removeOnComplete: { count: 10 } }, 60_000);
      const existsRightAfter = conn.exists(keys.job('built')); // not awaited: sent right behind the add
      assert.equal(await existsRightAfter, 1);
      assert.equal(await added, 'built');
      await job.promote();
      const taken = await worker.getNextJob(token(), { block: false });
      assert.deepEqual([taken?.id, taken?.name, taken?.data], ['built', 'events', [{ n: 1 }]]);
    }));

  test('held job: not in wait or active (the unfinished lists) though its hash exists; promote puts it behind the waiting jobs; remove deletes it; once due a blocked worker takes it', () =>
    withQueue(async ({ queue, worker, keys }) => {
      const client = await queue.client;
      const unfinished = `${UNFINISHED_JOBS_LUA}
        local all = bullmqUnfinished(KEYS[1], KEYS[2], 8)
        table.sort(all)
        return { table.concat(all, ','), bullmqJobExists(KEYS[3]) and 1 or 0 }`;
      const look = (id: string) => conn.eval(unfinished, 3, keys.wait, keys.active, keys.job(id), '') as Promise<[string, number]>;
      // Promoted: behind a job that was waiting already, data and name as added.
      await queue.add('x', {}, { jobId: 'before' });
      const held = addHeldJob(queue, client, 'events', [{ n: 1 }], { jobId: 'held' }, 60_000);
      await held.added;
      assert.deepEqual(await look('held'), ['before', 1], 'held: in neither list, its hash exists');
      assert.equal(await worker.getNextJob(token(), { block: false }).then((j) => j?.id), 'before');
      assert.equal(await worker.getNextJob(token(), { block: false }), undefined, 'a worker does not take a held job');
      await held.job.promote();
      const promoted = await worker.getNextJob(token(), { block: false });
      assert.equal(promoted?.id, 'held');
      assert.deepEqual([promoted?.name, promoted?.data], ['events', [{ n: 1 }]]);
      // Removed: nothing is left of it, and no worker ever gets it.
      const gone = addHeldJob(queue, client, 'events', [{ n: 2 }], { jobId: 'gone' }, 300);
      await gone.added;
      await gone.job.remove();
      assert.equal(await conn.exists(keys.job('gone')), 0);
      // Due: a worker blocked on the queue takes it once its hold is over.
      const due = addHeldJob(queue, client, 'events', [{ n: 3 }], { jobId: 'due' }, 300);
      await due.added;
      const startedAt = Date.now();
      let taken: Job | undefined;
      while (taken === undefined && Date.now() - startedAt < 5_000) taken = await worker.getNextJob(token(), { block: true });
      assert.equal(taken?.id, 'due', 'the removed job never came; the due one did');
      assert.ok(Date.now() - startedAt >= 250, `taken only once due (after ${Date.now() - startedAt} ms)`);
    }));

  test('lists in Lua: unfinished jobs are the ids in wait and active, and a job\'s hash exists from its add on', () =>
    withQueue(async ({ queue, worker, keys }) => {
      const probe = `${UNFINISHED_JOBS_LUA}
        local all = bullmqUnfinished(KEYS[1], KEYS[2], tonumber(ARGV[1]))
        if not all then return { 'too many', bullmqJobExists(KEYS[3]) and 1 or 0 } end
        table.sort(all)
        return { table.concat(all, ','), bullmqJobExists(KEYS[3]) and 1 or 0 }`;
      const run = (most: number) => conn.eval(probe, 3, keys.wait, keys.active, keys.job('a'), String(most)) as Promise<[string, number]>;
      assert.deepEqual(await run(8), ['', 0]);
      for (const id of ['a', 'b', 'c']) await queue.add('x', {}, { jobId: id });
      const t = token();
      const job = await worker.getNextJob(t, { block: false });
      assert.deepEqual(await run(8), ['a,b,c', 1], 'a active, b and c waiting');
      assert.deepEqual(await run(1), ['too many', 1]);
      await (job as Job).moveToCompleted('done', t, false);
      assert.deepEqual(await run(8), ['b,c', 1], 'completed: in neither list (its hash is kept a while)');
    }));

  test('no stalled checker: a manual worker with skipStalledCheck never marks or moves active jobs whose lock expired', () =>
    withQueue(async ({ queue, worker, keys, prefix, name }) => {
      await queue.add('x', {}, { jobId: 'j1' });
      await worker.getNextJob(token(), { block: false });
      await conn.del(keys.lock('j1')); // its owner died: the lock expired
      await worker.startStalledCheckTimer(); // what Worker#run would start; a no-op with skipStalledCheck
      await worker.startStalledCheckTimer();
      assert.equal(await conn.exists(`${prefix}:${name}:stalled-check`), 0, 'the checker never ran');
      assert.equal(await conn.scard(`${prefix}:${name}:stalled`), 0, 'nothing marked as stalled');
      assert.deepEqual(await conn.lrange(keys.active, 0, -1), ['j1'], 'the job stays active for our takeover');
    }));

  test('events stream cap: with streams.events.maxLen set, the queue\'s events stream stays near that length', () =>
    withQueue(async ({ queue, worker, prefix, name }) => {
      for (let i = 0; i < 300; i++) await queue.add('x', {}, { jobId: `j${i}`, removeOnComplete: { count: 10 } });
      const t = token();
      for (let i = 0; i < 300; i += 20) {
        const { jobs } = await fetchWaiting(worker, t, 20);
        for (const job of jobs) await job.moveToCompleted('done', t, false);
      }
      const length = await conn.xlen(`${prefix}:${name}:events`);
      assert.ok(length <= EVENTS_STREAM_MAX_LEN + 100, `events stream holds ${length} entries (cap ${EVENTS_STREAM_MAX_LEN}, trimmed approximately)`);
    }));

  test('re-add of a kept job: adding a job id that is still kept (waiting, active or completed) adds nothing; removeOnComplete.count bounds the kept ones', () =>
    withQueue(async ({ queue, worker, keys, prefix, name }) => {
      const t = token();
      for (let i = 0; i < 30; i++) await queue.add('x', { i }, { jobId: `j${i}`, removeOnComplete: { age: 3600, count: 10 } });
      const { jobs } = await fetchWaiting(worker, t, 30);
      for (const job of jobs) await job.moveToCompleted('done', t, false);
      assert.equal(await conn.zcard(`${prefix}:${name}:completed`), 10, 'the newest 10 completed jobs are kept');
      await queue.add('x', { again: true }, { jobId: 'j29', removeOnComplete: { count: 10 } });
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), [], 'a kept id: a no-op');
      await queue.add('x', { again: true }, { jobId: 'j0', removeOnComplete: { count: 10 } });
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), ['j0'], 'an id no longer kept is a new job');
    }));

  test('a broken id counter: a non-number in <queue>:id makes every add fail before it writes anything (used by a direct-delivery test)', () =>
    withQueue(async ({ queue, keys, prefix, name }) => {
      await conn.set(`${prefix}:${name}:id`, 'broken');
      await assert.rejects(queue.add('x', {}, { jobId: 'j1' }));
      assert.equal(await conn.exists(keys.job('j1')), 0);
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), []);
      await conn.set(`${prefix}:${name}:id`, '10');
      await queue.add('x', {}, { jobId: 'j1' });
      assert.deepEqual(await conn.lrange(keys.wait, 0, -1), ['j1']);
    }));

  test('close while connecting: a worker closed before its blocking connection is ready ends the process ("Connection is closed." emitted on a connection with no listener); closeWorker waits for it and does not', async () => {
    const run = (mode: string) => new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CLOSE_WHILE_CONNECTING, redis.url, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      track(child);
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
      const timer = setTimeout(() => { void killNow(child); reject(new Error(`${mode}: no exit in 20 s:\n${output}`)); }, 20_000);
      child.once('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
    });
    const [bullmq, ours] = await Promise.all([run('bullmq'), run('closeWorker')]);
    assert.notEqual(bullmq.code, 0, `BullMQ's own close survived: if it no longer crashes, closeWorker's wait may go\n${bullmq.output}`);
    assert.match(bullmq.output, /Connection is closed\.[\s\S]*Emitted 'error' event on RedisConnection/);
    assert.equal(ours.code, 0, ours.output);
    assert.equal(ours.output, 'survived\n');
  });
});

describe(`BullMQ ${BULLMQ_VERSION}'s stalled checker, which the bus keeps off (docs/bus.md)`, () => {
  test('it returns stalled jobs to the fetch end of the wait list only on its second run, each pushed there in turn: the last pushed is fetched first', () =>
    withQueue(async ({ queue, worker, keys, prefix, name }) => {
      // BullMQ's own ids (1, 2, 3): the stalled set is then an intset, whose order (ascending) is the order of the pushes.
      for (let i = 0; i < 3; i++) await queue.add('x', {});
      const t = token();
      const { jobs } = await fetchWaiting(worker, t, 2);
      assert.deepEqual(jobs.map((j) => j.id), ['1', '2']);
      await conn.del(keys.lock('1'), keys.lock('2')); // their consumer died; job 3 still waits
      const checker = new Worker(name, async () => undefined, { connection: workerConn, prefix, autorun: false, stalledInterval: 50, maxStalledCount: 5 });
      try {
        void checker.startStalledCheckTimer(); // runs at once (marks), then every 50 ms (moves)
        await waitFor(async () => (await conn.llen(keys.active)) === 0, { what: 'the stalled jobs to leave the active list' });
      } finally {
        await checker.close(true);
      }
      const again = await fetchWaiting(worker, token(), 3);
      assert.deepEqual(again.jobs.map((j) => j.id), ['2', '1', '3'],
        'both stalled jobs come before the newer job 3, but 2 before 1: a consumer would see the room out of order');
    }));
});
