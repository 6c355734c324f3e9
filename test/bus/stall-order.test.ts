import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { queueKeys } from '../../src/bus/redis/bullmq-adapter.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, Collector, lobbyRouter, message, ROOM, settle, waitForLease } from './harness.ts';

/**
 * What happens to a room's order when an egress consumer stalls in the middle of a batch, holding
 * jobs it fetched ahead (docs/bus.md, "Leases, order and crash takeover"): killed there, or frozen
 * longer than its lease and then resumed. BullMQ's own stalled checker would bring such jobs back
 * late and out of order (bullmq-assumptions.test.ts); the bus keeps it off and takes them over.
 */

const STALLING = fileURLToPath(new URL('./fixtures/stalling-consumer.ts', import.meta.url));

let redis: RedisServer;
let admin: Redis;
before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
after(async () => {
  await admin.quit();
  await redis.stop();
});

interface Report { readonly what: string; readonly call?: number; readonly ids?: string[] }

/** The stalling consumer in its own process, and what it reported so far. */
function startStalling(prefix: string, mode: 'kill' | 'stall'): { child: ChildProcess; reports: Report[]; has(what: string): boolean } {
  const child = spawn(process.execPath, ['--import', 'tsx', STALLING, redis.url, prefix, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reports: Report[] = [];
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => reports.push(JSON.parse(line) as Report));
  return { child, reports, has: (what) => reports.some((r) => r.what === what) };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGKILL');
  await exited;
}

const ids = (events: readonly CanonicalEvent[]) => events.map((e) => e.id);

/**
 * Sets the scene: the stalling consumer takes e1 and, while it handles it, e2..e7 are queued one
 * egress job each; it then handles e2 (fetching e3 ahead), and stalls handling e3 with e4 and e5
 * fetched ahead: three jobs active under its lock, e6 and e7 waiting behind them.
 */
async function stallMidBatch(bus: RedisBus, prefix: string, mode: 'kill' | 'stall') {
  const stalling = startStalling(prefix, mode);
  await waitFor(() => stalling.has('ready') || stalling.child.exitCode !== null, { what: 'the stalling consumer to start' });
  const events = Array.from({ length: 7 }, (_, i) => message(`e${i + 1}`));
  await bus.publish([events[0]!]);
  await waitFor(() => stalling.reports.some((r) => r.call === 1), { what: 'its first call' });
  for (const e of events.slice(1)) {
    await bus.publish([e]);
    await waitFor(async () => (await bus.readStream(ROOM, undefined, 100)).entries.some((x) => x.event.id === e.id), { what: `${e.id} routed` });
  }
  stalling.child.stdin?.write('go\n');
  await waitFor(() => stalling.has('froze'), { what: 'the consumer to stall in its third call' });
  return { stalling, events };
}

describe('per-room order when an egress consumer stalls mid-batch', () => {
  test('killed mid-batch: the next consumer takes the orphaned jobs first, oldest first, as one batch, then the rest; nothing lost', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix, instanceId: `survivor-${randomUUID()}`, leaseMs: 1_000 });
    const routing = bus.startRouting((e) => lobbyRouter().route(e));
    let stalling: ReturnType<typeof startStalling> | undefined;
    let mt: Collector | undefined;
    try {
      const scene = await stallMidBatch(bus, prefix, 'kill');
      stalling = scene.stalling;
      const events = scene.events;
      assert.deepEqual(stalling.reports.find((r) => r.call === 3)?.ids, [events[2]?.id], 'it stalled handling e3');
      await kill(stalling.child);
      const active = await admin.lrange(queueKeys(prefix, `${prefix}-egress-mtproto`).active, 0, -1);
      assert.equal(active.length, 3, 'e3, and e4 and e5 fetched ahead, are left active');

      mt = new Collector(bus, 'mtproto');
      await waitFor(() => mt!.deliveries.length >= 5, { what: 'e3..e7 at the next consumer' });
      await settle(bus, [mt]);
      assert.deepEqual(mt.ids(), ids(events.slice(2)), 'in room order, once each');
      assert.deepEqual(mt.calls[0]?.map((d) => d.event.id), ids(events.slice(2, 5)), 'the orphans first, oldest first, as one batch');
    } finally {
      if (stalling) await kill(stalling.child);
      await mt?.close();
      await routing.close();
      await bus.close();
    }
  });

  test('frozen longer than its lease, then resumed: the next consumer takes over in order; the resumed one stops at once and takes nothing more', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const bus = await RedisBus.connect({ ...busOptions(), url: redis.url, prefix, instanceId: `survivor-${randomUUID()}`, leaseMs: 1_000 });
    const routing = bus.startRouting((e) => lobbyRouter().route(e));
    let stalling: ReturnType<typeof startStalling> | undefined;
    let mt: Collector | undefined;
    try {
      const scene = await stallMidBatch(bus, prefix, 'stall');
      stalling = scene.stalling;
      const events = scene.events;
      mt = new Collector(bus, 'mtproto');
      await waitFor(() => mt!.deliveries.length >= 5, { what: 'e3..e7 at the consumer that took over' });
      await waitFor(() => stalling!.has('lease-lost'), { what: 'the resumed consumer to give its lease up' });
      assert.ok(stalling.has('returned'), 'its stalled call returned (that batch was handled twice: at least once)');
      const later = message('e8');
      await bus.publish([later]);
      await settle(bus, [mt]);
      assert.deepEqual(mt.ids(), ids([...events.slice(2), later]), 'in room order, once each');
      assert.deepEqual(mt.calls[0]?.map((d) => d.event.id), ids(events.slice(2, 5)), 'the stalled batch and what was fetched ahead, first');
      assert.deepEqual(stalling.reports.filter((r) => r.what === 'took').map((r) => r.call), [1, 2, 3],
        'after the stall it handled nothing more: not e4 and e5 it had fetched ahead, not e8');
      await waitForLease(bus, 'egress:mtproto');
    } finally {
      if (stalling) await kill(stalling.child);
      await mt?.close();
      await routing.close();
      await bus.close();
    }
  });
});
