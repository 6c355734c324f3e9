import { Job, Queue, Worker, type JobsOptions, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';

/**
 * EVERY place where the redis driver relies on BullMQ beyond its documented public API: its key
 * layout, its list moves, a hand-built job, Lua that reads its lists. The rest of the driver uses
 * only Queue/Worker/Job's public methods and this module.
 *
 * BullMQ changes these between minor versions, so package.json pins it exactly, and
 * test/bus/bullmq-assumptions.test.ts checks each assumption below, by the name given here,
 * against a real redis-server: the first BullMQ version that breaks one fails that test by name.
 * Before upgrading BullMQ, run that file; then read the changelog for anything it cannot see.
 */
export const BULLMQ_VERSION = '5.81.5';

/**
 * Assumption "key layout": a queue's keys are `<prefix>:<queue>:<suffix>`; `wait` and `active`
 * are lists of job ids; a job is the hash `<prefix>:<queue>:<id>`, its lock `<prefix>:<queue>:<id>:lock`.
 */
export function queueKeys(prefix: string, queue: string) {
  const base = `${prefix}:${queue}`;
  return {
    wait: `${base}:wait`,
    active: `${base}:active`,
    job: (id: string) => `${base}:${id}`,
    lock: (id: string) => `${base}:${id}:lock`,
  };
}

/**
 * Options of every queue the driver opens. The events stream (`<queue>:events`, which BullMQ
 * writes on every add, move and completion, and nothing of ours reads) is capped at about this
 * many entries instead of BullMQ's 10,000 (public option; that workers keep to it is assumption
 * "events stream cap").
 */
export const EVENTS_STREAM_MAX_LEN = 100;
export function queueOptions(connection: Redis, prefix: string, defaultJobOptions?: JobsOptions): QueueOptions {
  return { connection, prefix, streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } }, ...(defaultJobOptions ? { defaultJobOptions } : {}) };
}

/**
 * A Worker for manual processing (getNextJob / moveToCompleted, both public) with BullMQ's stalled
 * checker off: it would move a job whose lock expired back to the wait list some time later, after
 * a consumer that took over has processed newer jobs (docs/bus.md, "Leases, order and crash
 * takeover"); the driver takes orphaned jobs over itself (takeOverActiveJobs). Assumption
 * "no stalled checker": with skipStalledCheck nobody moves an active job whose lock expired.
 */
export function manualWorker(queue: string, connection: Redis, prefix: string, lockDurationMs: number): Worker {
  return new Worker(queue, null, { connection, prefix, concurrency: 1, lockDuration: lockDurationMs, skipStalledCheck: true });
}

/** The close of each worker closeWorker was asked to close. */
const closings = new WeakMap<Worker, Promise<void>>();

/**
 * Closes a worker of manualWorker (forcibly: a blocked fetch returns at once), never while it is
 * still opening its blocking connection. Assumption "close while connecting": a Worker opens that
 * connection (a duplicate of the one it was given) in the background, connect then INFO; closed
 * before that finished, the connection's init fails with "Connection is closed." and BullMQ emits
 * the failure as 'error' on the connection after its close removed every listener: an uncaught
 * exception that ends the process (a start that failed a few ms after a consumer took its lease:
 * test/app/start-failure-redis.test.ts). So the close waits for the worker to be ready first, a
 * round trip, since Redis answered the lease just before it was made; at most `readyWaitMs`, past
 * which it is closed in the background once it is ready or its connection failed (Redis went away
 * meanwhile). Idempotent per worker. Never rejects: a close that fails is logged.
 */
export function closeWorker(worker: Worker, logger: Logger, readyWaitMs = 5_000): Promise<void> {
  let closing = closings.get(worker);
  if (closing === undefined) {
    const close = () => worker.close(true).catch((err: unknown) => logger.warn({ err }, 'worker close failed'));
    const ready = worker.waitUntilReady().then(() => true, () => true);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), readyWaitMs); });
    closing = Promise.race([ready, waited]).then(async (inTime) => {
      clearTimeout(timer);
      if (inTime) return close();
      logger.warn({ queue: worker.name, ms: readyWaitMs }, 'worker connection still not ready: it is closed once it is');
      void ready.then(close);
    });
    closings.set(worker, closing);
  }
  return closing;
}

/**
 * Takes up to `count` waiting jobs without blocking, oldest first, in one round trip: the fetches
 * are sent together. Assumption "fetch order": concurrent non-blocking getNextJob calls send their
 * moves in call order on one connection, so the jobs come back in queue order. Never rejects;
 * `failed` tells whether a fetch failed (then an empty answer does not mean an empty queue).
 */
export async function fetchWaiting(worker: Worker, token: string, count: number): Promise<{ jobs: Job[]; failed: boolean }> {
  let failed = false;
  const got = await Promise.all(Array.from({ length: count }, () => worker.getNextJob(token, { block: false }).catch(() => { failed = true; return undefined; })));
  return { jobs: got.filter((j): j is Job => j !== undefined && j !== null), failed };
}

/**
 * The jobs a dead consumer left active, oldest first, each now locked with `token` so that it may
 * be completed (or handed back) with it. Ids whose job hash is gone are dropped from the list.
 * Assumptions "active order" (a fetch pushes onto the left of `active`, so the oldest is at the
 * right end) and "lock takeover" (a job's lock key holds the token its moves are checked against).
 */
export async function takeOverActiveJobs(redis: Redis, prefix: string, queueName: string, token: string, lockDurationMs: number): Promise<Job[]> {
  const keys = queueKeys(prefix, queueName);
  const ids = (await redis.lrange(keys.active, 0, -1)).reverse();
  if (ids.length === 0) return [];
  const queue = new Queue(queueName, { connection: redis, prefix });
  try {
    const jobs: Job[] = [];
    for (const id of ids) {
      await redis.set(keys.lock(id), token, 'PX', lockDurationMs);
      const job = await Job.fromId(queue, id);
      if (job) jobs.push(job);
      else await redis.lrem(keys.active, 1, id);
    }
    return jobs;
  } finally {
    await queue.close();
  }
}

/**
 * Puts held jobs back at the head of the wait list, the oldest next. Assumption "hand-back to the
 * head": moveToWait (public) pushes a job onto the fetch end of `wait`, so pushing the newest first
 * leaves the oldest to be fetched next.
 */
export async function handBackToHead(jobs: readonly Job[], token: string, logger: Logger): Promise<void> {
  for (const job of [...jobs].reverse()) {
    await job.moveToWait(token).catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'hand-back failed; the job stays active for takeover'));
  }
}

/**
 * Adds a HELD job with the queue's connection `client` and sends the command NOW: a command issued
 * on the same connection right after this call runs after the add, without waiting for its reply
 * (routing at publish sends its append right behind the add). Queue.add awaits things before
 * sending. Assumption "hand-built job": `new Job(...).addJob(client)` sends the add synchronously.
 *
 * Held: the job is added with a delay of `holdMs`, which no worker
 * takes before then unless it is promoted. Routing at publish adds its ingress job this way: when
 * it routes the job itself, it removes it and the router never has to wake for it; when it does
 * not, it promotes it; if the process dies in between, the job becomes due and the router routes it.
 * Assumption "held job": a delayed job is in neither `wait` nor `active` (so UNFINISHED_JOBS_LUA
 * does not list it) but its hash exists from its add on; `promote` moves it to the fetch side of
 * `wait`, behind the jobs already waiting; `remove` deletes it; once due, a worker blocked on the
 * queue takes it.
 */
export function addHeldJob(queue: Queue, client: Awaited<Queue['client']>, name: string, data: unknown, opts: JobsOptions & { jobId: string }, holdMs: number): { job: Job; added: Promise<string> } {
  const job = new Job(queue, name, data, { ...opts, delay: holdMs }, opts.jobId);
  return { job, added: job.addJob(client) };
}

/**
 * Lua for a script that must know, atomically with its own writes, which jobs of a queue are not
 * finished yet. Assumption "lists in Lua": the ids of a queue's jobs not fetched yet are in `wait`,
 * those fetched and not completed in `active`, and a job's hash exists from its add on.
 *
 * Defines `bullmqJobExists(jobKey)` and `bullmqUnfinished(waitKey, activeKey, most)`: the ids in
 * both lists, or nil when either holds more than `most`.
 */
export const UNFINISHED_JOBS_LUA = `
local function bullmqJobExists(jobKey)
  return redis.call('EXISTS', jobKey) == 1
end
local function bullmqUnfinished(waitKey, activeKey, most)
  local all = {}
  for _, list in ipairs({ waitKey, activeKey }) do
    local ids = redis.call('LRANGE', list, 0, most)
    if #ids > most then return nil end
    for _, id in ipairs(ids) do all[#all + 1] = id end
  end
  return all
end
`;
