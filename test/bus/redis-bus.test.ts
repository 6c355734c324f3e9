import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { createBus } from '../../src/bus/create.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, Collector, lobbyRouter, message, ROOM, settle } from './harness.ts';

/** Redis-only behaviour: crash takeover, the router lease, several instances on one Redis. */

const DOOMED = fileURLToPath(new URL('./fixtures/doomed-consumer.ts', import.meta.url));

let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

const newPrefix = () => `t${randomUUID().slice(0, 8)}`;
const connect = (prefix: string, name: string, opts = busOptions(), leaseMs = 1_000) =>
  RedisBus.connect({ ...opts, url: redis.url, prefix, instanceId: `${name}-${randomUUID()}`, leaseMs });

/** Starts the doomed child and resolves its report lines one by one. */
function startDoomed(prefix: string, mode: 'router'): { child: ChildProcess; next(what: string): Promise<string[]> } {
  const child = spawn(process.execPath, ['--import', 'tsx', DOOMED, redis.url, prefix, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: { what: string; ids: string[] }[] = [];
  const waiters: (() => void)[] = [];
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as { what: string; ids: string[] });
      for (const w of waiters.splice(0)) w();
    });
  }
  return {
    child,
    async next(what) {
      const until = Date.now() + 20_000;
      for (;;) {
        const found = lines.find((l) => l.what === what);
        if (found) return found.ids;
        if (Date.now() > until || child.exitCode !== null) throw new Error(`child never reported ${what}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    },
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGKILL');
  await exited;
}

describe('redis bus', () => {
  test('connect fails with an error naming the URL when Redis is unreachable', async () => {
    const port = await freePort();
    await assert.rejects(
      RedisBus.connect({ ...busOptions(), url: `redis://127.0.0.1:${port}`, prefix: 'x', instanceId: 'x' }),
      (err: Error) => err.message.includes(`redis://127.0.0.1:${port}`),
    );
  });

  test('createBus picks the driver from config, and hands bus.fastPaths to the redis driver', async () => {
    const deps = { logger: silentLogger, registry: createRegistry(false), instanceId: 'i1' };
    const memory = await createBus(ConfigSchema.parse({}).bus, deps);
    assert.equal(memory.driver, 'memory');
    assert.equal(memory.durable, false);
    await memory.close();
    const config = ConfigSchema.parse({ bus: { driver: 'redis', redis: { url: redis.url, prefix: newPrefix() }, fastPaths: { directDelivery: false } } });
    const durable = await createBus(config.bus, deps);
    try {
      assert.equal(durable.driver, 'redis');
      assert.equal(durable.durable, true);
      assert.equal(await durable.healthy(), true);
      // bus.fastPaths reaches the driver: the one switched off is off, the others keep their default (on).
      assert.deepEqual((durable as unknown as { fast: unknown }).fast, { directDelivery: false, routeAtPublish: true, skipLonelyFanout: true, corkWrites: true, batchClaims: true });
    } finally {
      await durable.close();
    }
    assert.equal(await durable.healthy(), false);
  });

  test('a router SIGKILLed mid-batch of several jobs: the next router re-processes them (grouped differently) without losing, appending or delivering twice', async () => {
    const prefix = newPrefix();
    const bus = await connect(prefix, 'survivor');
    let doomed: ReturnType<typeof startDoomed> | undefined;
    let mt: Collector | undefined;
    let routing: { close(): Promise<void> } | undefined;
    try {
      mt = new Collector(bus, 'mtproto');
      // Queued before any router runs: the doomed one takes [j0], then [j1], then [j2, j3] together
      // (what it fetched ahead), and freezes inside that batch with j4 and j5 fetched ahead.
      const jobs = [[message('j0')], [message('j1')], [message('a'), message('freeze'), message('b')], [message('j3')], [message('j4')], [message('j5')]];
      for (const events of jobs) await bus.publish(events);
      doomed = startDoomed(prefix, 'router');
      await doomed.next('routing'); // its batch is appended to the stream already, its deliveries not yet enqueued
      await kill(doomed.child);
      const later = message('c');
      await bus.publish([later]);
      routing = bus.startRouting((e) => lobbyRouter().route(e));
      const all = [...jobs.flat(), later].map((e) => e.id);
      await waitFor(() => mt!.deliveries.length >= all.length, { what: `${all.length} deliveries` });
      const stream = (await bus.readStream(ROOM, undefined, 100)).entries;
      await settle(bus, [mt]);
      assert.deepEqual(mt.deliveries.map((d) => d.event.id), all, 'every event once, in order');
      assert.deepEqual(stream.map((e) => e.event.id), all, 'appended once each');
      assert.deepEqual(mt.deliveries.map((d) => d.cursor), stream.map((e) => e.cursor), 'cursors reused on re-processing');
    } finally {
      if (doomed) await kill(doomed.child);
      await mt?.close();
      await routing?.close();
      await bus.close();
    }
  });

  test('two instances: only one routes; when it stops the other takes over; nothing lost or duplicated', async () => {
    const prefix = newPrefix();
    // A lease of 3 s: on a loaded 2-core machine a 1 s lease can lapse in an event-loop stall and
    // move (correctly) while both publish, which is not what this test looks at. Closing the
    // router releases it at once, so the takeover below does not wait for it.
    const a = await connect(prefix, 'a', busOptions(), 3_000);
    const b = await connect(prefix, 'b', busOptions(), 3_000);
    const routedBy = { a: 0, b: 0 };
    const routerA = a.startRouting((e) => { routedBy.a++; return lobbyRouter().route(e); });
    const routerB = b.startRouting((e) => { routedBy.b++; return lobbyRouter().route(e); });
    const mt = new Collector(b, 'mtproto');
    let aClosed = false;
    try {
      // Both instances publish concurrently, each in its own order.
      const publishFrom = async (bus: RedisBus, name: string, from: number, count: number) => {
        const sent: string[] = [];
        for (let i = from; i < from + count; i += 4) {
          const events = Array.from({ length: 4 }, (_, k) => message(`${name}:${i + k}`));
          await bus.publish(events);
          sent.push(...events.map((e) => e.id));
        }
        return sent;
      };
      const [sentA, sentB] = await Promise.all([publishFrom(a, 'a', 0, 200), publishFrom(b, 'b', 0, 200)]);
      await waitFor(() => mt.deliveries.length >= 400, { what: '400 deliveries' });
      assert.ok((routedBy.a === 0) !== (routedBy.b === 0), `exactly one instance routed (a=${routedBy.a}, b=${routedBy.b})`);
      const firstRouter = routedBy.a > 0 ? 'a' : 'b';
      const before = { ...routedBy };

      // Stop the routing instance entirely; the other takes the lease over.
      const survivor = firstRouter === 'a' ? b : a;
      if (firstRouter === 'a') { await routerA.close(); await a.close(); aClosed = true; } else { await routerB.close(); }
      const sentLater = await publishFrom(survivor, 'later', 0, 100);
      await waitFor(() => mt.deliveries.length >= 500, { what: '500 deliveries' });
      const stream = (await b.readStream(ROOM, undefined, 1_000)).entries;
      await settle(survivor, [mt]);
      const other = firstRouter === 'a' ? 'b' : 'a';
      assert.ok(routedBy[other] > before[other], 'the other instance took over routing');

      const got = mt.deliveries.map((d) => d.event.id);
      assert.equal(got.length, 500);
      assert.equal(new Set(got).size, 500, 'no duplicates');
      const position = new Map<string, number>(got.map((id, i) => [id, i]));
      for (const sent of [sentA, sentB, sentLater]) {
        const positions = sent.map((id) => position.get(id) ?? -1);
        assert.ok(positions.every((p) => p >= 0), 'nothing lost');
        assert.deepEqual(positions, [...positions].sort((x, y) => x - y), 'each producer\'s order holds');
      }
      assert.deepEqual(stream.map((e) => e.event.id), got, 'stream order = delivery order');
    } finally {
      await mt.close();
      await routerB.close();
      if (!aClosed) { await routerA.close(); await a.close(); }
      await b.close();
    }
  });

  test('every key lives under the prefix', async () => {
    const prefix = newPrefix();
    const bus = await connect(prefix, 'keys');
    const routing = bus.startRouting((e) => lobbyRouter().route(e));
    const mt = new Collector(bus, 'mtproto');
    const probe = new Redis(redis.url);
    try {
      await bus.publish([message('k')]);
      await waitFor(() => mt.deliveries.length === 1, { what: 'delivery' });
      const keys = await probe.keys('*');
      const ours = keys.filter((k) => k.includes(prefix));
      assert.ok(ours.length > 0);
      assert.deepEqual(ours.filter((k) => !k.startsWith(`${prefix}:`)), []);
    } finally {
      probe.disconnect();
      await mt.close();
      await routing.close();
      await bus.close();
    }
  });
});
