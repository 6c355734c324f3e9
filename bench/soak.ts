/**
 * `npm run bench -- --soak[=seconds]`: sustained publishing through the redis bus against its own
 * redis-server, sampling Redis memory (`INFO memory`) and the size of every key family, to show
 * that what the bus keeps levels off once the room streams hold their retention (issue #7, §4).
 *
 * Bounded in time (default 240 s of publishing) and in count (rate x time). The shape: ROOMS rooms,
 * RATE events/s, each published once with a client transaction id (publishOnce, as the WS connector
 * does for a `send` with `txn`), routed to a direct target (websocket-like) and a queued one
 * (xmpp-like) that links each event to a native id (the id map) and rejects 1 delivery batch in
 * POISON_EVERY with maxAttempts 1, so dead letters pile up too. The count bounds that depend on
 * traffic (maxEventsPerRoom, idMapPerEndpoint) are shrunk to 10,000 so that they fill within the
 * run; every other bound is the default one. Writes bench/soak-last.json.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisBus } from '../src/bus/redis/redis-bus.ts';
import type { BusOptions } from '../src/bus/options.ts';
import { newEventId } from '../src/core/ids.ts';
import { silentLogger } from '../src/core/logger.ts';
import { createRegistry } from '../src/core/metrics.ts';
import type { CanonicalEvent } from '../src/core/event.ts';
import { describeRun } from './machine.ts';
import { startBenchRedis } from './redis.ts';

const ROOMS = 10;
const RATE = 1_000;
const POISON_EVERY = 50;
const SAMPLE_EVERY_MS = 10_000;
const PREFIX = 'soak';

export interface SoakOptions {
  readonly seconds: number;
  readonly log: (line: string) => void;
}

interface Sample {
  readonly t: number;
  readonly published: number;
  readonly usedMemoryMiB: number;
  readonly streamEntries: number;
  readonly marks: number;
  readonly markOrder: number;
  readonly completedJobs: number;
  readonly waitingJobs: number;
  readonly deadLetters: number;
  readonly bullEvents: number;
  readonly routedAtPublish: number;
  readonly transactions: number;
  readonly idMap: number;
  readonly keys: number;
}

const rooms = Array.from({ length: ROOMS }, (_, i) => `room-${i}`);
const queues = [`${PREFIX}-ingress`, `${PREFIX}-egress-websocket`, `${PREFIX}-egress-xmpp`];

function event(n: number): CanonicalEvent {
  const room = rooms[n % ROOMS] ?? 'room-0';
  return {
    v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room,
    text: `${n % POISON_EVERY === 0 ? 'poison' : 'hello'} ${n}: a chat line of ordinary length, about the size people type`,
    sender: { network: 'websocket', id: `user-${n % 97}` },
    origin: { connector: 'websocket', endpoint: room },
  };
}

async function sample(admin: Redis, t: number, published: number): Promise<Sample> {
  const info = await admin.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  const pipeline = admin.pipeline();
  for (const room of rooms) {
    pipeline.xlen(`${PREFIX}:stream:${room}`).hlen(`${PREFIX}:marks:${room}`).llen(`${PREFIX}:marks-order:${room}`)
      .hlen(`${PREFIX}:txn:${room}`).hlen(`${PREFIX}:idmap:xmpp:${room}:c2n`);
  }
  for (const q of queues) pipeline.zcard(`${PREFIX}:${q}:completed`).llen(`${PREFIX}:${q}:wait`).xlen(`${PREFIX}:${q}:events`);
  pipeline.xlen(`${PREFIX}:dead`).zcard(`${PREFIX}:routed-at-publish`).dbsize();
  const replies = ((await pipeline.exec()) ?? []).map(([err, v]) => (err ? 0 : Number(v)));
  let i = 0;
  const take = () => replies[i++] ?? 0;
  let streamEntries = 0; let marks = 0; let markOrder = 0; let transactions = 0; let idMap = 0;
  for (let r = 0; r < ROOMS; r++) { streamEntries += take(); marks += take(); markOrder += take(); transactions += take(); idMap += take(); }
  let completedJobs = 0; let waitingJobs = 0; let bullEvents = 0;
  for (let q = 0; q < queues.length; q++) { completedJobs += take(); waitingJobs += take(); bullEvents += take(); }
  return { t, published, usedMemoryMiB: used / 2 ** 20, streamEntries, marks, markOrder, completedJobs, waitingJobs, bullEvents,
    deadLetters: take(), routedAtPublish: take(), transactions, idMap, keys: take() };
}

/** Bytes per item of each key family, from MEMORY USAGE of one room's keys (SAMPLES 0: exact). */
async function bytesPerItem(admin: Redis): Promise<Record<string, number>> {
  const room = rooms[0] ?? '';
  const usage = async (key: string) => Number(await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') ?? 0);
  const per = async (key: string, count: number) => (count > 0 ? (await usage(key)) / count : 0);
  return {
    'stream entry': await per(`${PREFIX}:stream:${room}`, await admin.xlen(`${PREFIX}:stream:${room}`)),
    'dedupe mark (hash field)': await per(`${PREFIX}:marks:${room}`, await admin.hlen(`${PREFIX}:marks:${room}`)),
    'dedupe mark (order list item)': await per(`${PREFIX}:marks-order:${room}`, await admin.llen(`${PREFIX}:marks-order:${room}`)),
    'dead letter': await per(`${PREFIX}:dead`, await admin.xlen(`${PREFIX}:dead`)),
    'transaction (hash field + order member)': (await usage(`${PREFIX}:txn:${room}`) + await usage(`${PREFIX}:txn-order:${room}`))
      / Math.max(1, await admin.hlen(`${PREFIX}:txn:${room}`)),
    'id map entry (both hashes + order member)': (await usage(`${PREFIX}:idmap:xmpp:${room}:c2n`) + await usage(`${PREFIX}:idmap:xmpp:${room}:n2c`)
      + await usage(`${PREFIX}:idmap:xmpp:${room}:order`)) / Math.max(1, await admin.hlen(`${PREFIX}:idmap:xmpp:${room}:c2n`)),
  };
}

export async function runSoak({ seconds, log }: SoakOptions): Promise<{ samples: Sample[]; perItem: Record<string, number>; levelled: boolean }> {
  const redis = await startBenchRedis();
  const admin = new Redis(redis.url);
  const opts: BusOptions = {
    batch: { maxEvents: 256, maxWaitMs: 0 },
    retention: { maxEventsPerRoom: 10_000, dedupeSeconds: 7 * 86_400, transactionSeconds: 3_600, transactionsPerRoom: 10_000, idMapPerEndpoint: 10_000 },
    delivery: { maxAttempts: 1, backoffMs: 100, maxBackoffMs: 10_000 },
    logger: silentLogger,
    registry: createRegistry(false),
  };
  const bus = await RedisBus.connect({ ...opts, url: redis.url, prefix: PREFIX, instanceId: 'soak' });
  const routing = bus.startRouting((e) => [{ connector: 'websocket', address: e.room }, { connector: 'xmpp', address: e.room }]);
  const ws = bus.consumeEgress('websocket', async () => undefined, { direct: true });
  const xmpp = bus.consumeEgress('xmpp', async (deliveries) => {
    if (deliveries.some((d) => d.event.kind === 'message' && d.event.text.startsWith('poison'))) throw new Error('target rejects poison');
    // As a native connector does once the server answered: the event's id over there.
    await Promise.all(deliveries.map((d) => bus.idMap.link(d.event.id, d.target, `native-${d.cursor}`)));
  });
  const samples: Sample[] = [];
  let published = 0;
  const started = performance.now();
  try {
    log(`soak: ${seconds} s at ${RATE} events/s over ${ROOMS} rooms, retention ${JSON.stringify(opts.retention)}`);
    samples.push(await sample(admin, 0, 0));
    let nextSample = SAMPLE_EVERY_MS;
    const total = RATE * seconds;
    const inFlight = new Set<Promise<void>>();
    while (published < total) {
      const elapsed = performance.now() - started;
      const due = Math.min(total, Math.floor((elapsed / 1000) * RATE));
      while (published < due && inFlight.size < 2_000) {
        const n = published++;
        const p = bus.publishOnce(event(n), { scope: `user-${n % 97}`, id: `txn-${n}` }).then(() => undefined).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (elapsed >= nextSample) {
        const s = await sample(admin, Math.round(elapsed / 1000), published);
        samples.push(s);
        log(`t=${String(s.t).padStart(4)} s  published ${String(s.published).padStart(7)}  used_memory ${s.usedMemoryMiB.toFixed(1).padStart(6)} MiB  `
          + `stream ${s.streamEntries}  marks ${s.marks}  completed jobs ${s.completedJobs}  waiting jobs ${s.waitingJobs}  dead ${s.deadLetters}  `
          + `bull events ${s.bullEvents}  routed-at-publish ${s.routedAtPublish}  txn ${s.transactions}  id map ${s.idMap}  keys ${s.keys}`);
        nextSample += SAMPLE_EVERY_MS;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
    samples.push(await sample(admin, Math.round((performance.now() - started) / 1000), published));
    const perItem = await bytesPerItem(admin);
    // Levelled off: over the last third of the run, memory grew by less than 5% of what it is.
    const last = samples[samples.length - 1];
    const third = samples.find((s) => s.t >= (last?.t ?? 0) * (2 / 3));
    const levelled = !!last && !!third && last.usedMemoryMiB - third.usedMemoryMiB < 0.05 * last.usedMemoryMiB;
    log(`bytes per item: ${Object.entries(perItem).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    log(`used_memory ${third?.usedMemoryMiB.toFixed(1)} MiB at t=${third?.t} s, ${last?.usedMemoryMiB.toFixed(1)} MiB at t=${last?.t} s: ${levelled ? 'LEVELLED OFF' : 'STILL GROWING'}`);
    return { samples, perItem, levelled };
  } finally {
    await Promise.all([routing.close(), ws.close(), xmpp.close()]);
    await bus.close();
    await admin.quit();
    await redis.stop();
  }
}

/** Entry point of `npm run bench -- --soak[=seconds]` (bench/run.ts). */
export async function soakMain(seconds: number): Promise<number> {
  const context = describeRun();
  console.log(`soak: ${context.date}, commit ${context.commit}${context.dirty ? ' (uncommitted changes)' : ''}, ${context.cpus} x ${context.cpuModel}, node ${context.node}, redis ${context.redis}, load ${context.loadAverage}`);
  const result = await runSoak({ seconds, log: (line) => console.log(line) });
  const outFile = fileURLToPath(new URL('./soak-last.json', import.meta.url));
  writeFileSync(outFile, `${JSON.stringify({ context, rate: RATE, rooms: ROOMS, poisonEvery: POISON_EVERY, ...result }, null, 2)}\n`);
  console.log(`wrote ${outFile}`);
  return result.levelled ? 0 : 1;
}
