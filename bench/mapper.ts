import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { validateEvent } from '../src/core/event.ts';
import { newEventId } from '../src/core/ids.ts';
import { silentLogger } from '../src/core/logger.ts';
import { createRegistry } from '../src/core/metrics.ts';
import type { Delivery } from '../src/bus/types.ts';
import { WEBSOCKET_CAPABILITIES } from '../src/connectors/websocket/connector.ts';
import { Mapper } from '../src/mapper/mapper.ts';
import { EMPTY_TABLES } from '../src/mapper/tables.ts';
import { BridgedRelay } from './bridged.ts';
import { throughputClients } from './client-runner.ts';
import type { RedisProbe } from './redis.ts';
import { THROUGHPUT, WARMUP } from './relay-bench.ts';
import type { BenchResult } from './result.ts';
import type { ThroughputResult } from './scenarios.ts';

/**
 * Issue #10: WS -> WS throughput with the mapper in the path, beside the same path without it
 * (`mapper.enabled: false`), in the same run on the same redis-server (target >= 0.9x). Rounds
 * alternate between the two, each on a freshly started bridge and an emptied Redis, and each
 * keeps its best round, as the relay bench does (bench/relay-bench.ts says why).
 */
export const MAPPER_TARGET_RATIO = 0.9;
const ROUNDS = 5;
const WITH = 'switchboard, mapper on';
const WITHOUT = 'switchboard, mapper off';

/**
 * CPU time of this process's main thread (where the whole bridge runs; the bench clients are in a
 * worker thread), in ms, from /proc: unlike wall-clock throughput, it barely moves when other
 * processes compete for the cores. Undefined where /proc is not there.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
    return (ticks * 1_000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export async function runMapperThroughputBench(redisUrl: string, probe: RedisProbe, log: (line: string) => void): Promise<{ results: BenchResult[]; runs: Record<string, ThroughputResult[]> }> {
  const runs: Record<string, ThroughputResult[]> = { [WITHOUT]: [], [WITH]: [] };
  const cpu: Record<string, number[]> = { [WITHOUT]: [], [WITH]: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, mapper] of [[WITHOUT, false], [WITH, true]] as const) {
      await probe.reset();
      const relay = await BridgedRelay.start(redisUrl, { mapper });
      try {
        await throughputClients(relay.linkSpec(), WARMUP);
        const cpu0 = mainThreadCpuMs();
        const result = await throughputClients(relay.linkSpec(), THROUGHPUT);
        const cpu1 = mainThreadCpuMs();
        runs[name]?.push(result);
        const perMessage = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) * 1_000) / result.messages : undefined;
        if (perMessage !== undefined) cpu[name]?.push(perMessage);
        log(`mapper throughput ${round}/${ROUNDS} ${name}: ${result.perSecond.toFixed(0)} msg/s (${result.messages} in ${result.seconds.toFixed(2)} s${result.timeLimited ? ', send time ran out' : ''})`
          + `${perMessage !== undefined ? `, bridge CPU ${perMessage.toFixed(1)} µs/msg` : ''}`);
      } finally {
        await relay.close();
      }
    }
  }
  const best = (name: string) => (runs[name] ?? []).reduce<ThroughputResult | undefined>((a, b) => (!a || b.perSecond > a.perSecond ? b : a), undefined);
  const off = best(WITHOUT);
  const on = best(WITH);
  const results: BenchResult[] = [];
  if (off) results.push({ name: `ws->ws throughput, ${WITHOUT}`, value: off.perSecond, unit: 'msg/s', note: `best of ${runs[WITHOUT]?.map((r) => r.perSecond.toFixed(0)).join(', ')}` });
  if (on && off) {
    const ratio = on.perSecond / off.perSecond;
    results.push({
      name: `ws->ws throughput, ${WITH}`, value: on.perSecond, unit: 'msg/s', baseline: { name: WITHOUT, value: off.perSecond }, ratio,
      note: `${ratio >= MAPPER_TARGET_RATIO ? 'PASS' : 'MISS'} (target >= ${MAPPER_TARGET_RATIO}x); best of ${runs[WITH]?.map((r) => r.perSecond.toFixed(0)).join(', ')}`,
    });
  }
  const median = (xs: readonly number[] | undefined) => {
    const sorted = [...(xs ?? [])].sort((a, b) => a - b);
    return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
  };
  const cpuOff = median(cpu[WITHOUT]);
  const cpuOn = median(cpu[WITH]);
  if (cpuOff !== undefined && cpuOn !== undefined) {
    results.push({
      name: 'bridge main-thread CPU per message, mapper on', value: cpuOn, unit: 'µs', baseline: { name: WITHOUT, value: cpuOff }, ratio: cpuOn / cpuOff,
      note: `median of ${ROUNDS} rounds each (on: ${cpu[WITH]?.map((x) => x.toFixed(1)).join(', ')}; off: ${cpu[WITHOUT]?.map((x) => x.toFixed(1)).join(', ')}); `
        + 'what the mapper costs per message, nearly independent of other load on the machine',
    });
  }
  return { results, runs };
}

/**
 * The mapper alone, in this process: batches of plain text messages (as the WS -> WS bench sends)
 * through the websocket target's mapper to a handler that does nothing. A figure that the machine's
 * other load moves far less than the end-to-end one: what the mapper adds per delivery.
 */
export async function runMapperCostBench(): Promise<BenchResult> {
  const mapper = new Mapper(EMPTY_TABLES, {
    registry: createRegistry(false), logger: silentLogger,
    idMap: { link: async () => {}, nativeOf: async () => undefined, canonicalOf: async () => undefined },
  });
  const handler = mapper.target('websocket', WEBSOCKET_CAPABILITIES).wrap(async () => {});
  const target = { connector: 'websocket', address: 'a' };
  const batches: Delivery[][] = [];
  let seq = 0;
  for (let b = 0; b < 2_000; b++) {
    const batch: Delivery[] = [];
    for (let i = 0; i < 32; i++, seq++) {
      const r = validateEvent({
        v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: 'a', text: `message ${seq} of the bench`,
        sender: { network: 'websocket', id: `bench-sender-${seq % 2}` }, origin: { connector: 'websocket', endpoint: 'a', session: 's1' },
      });
      if (!r.ok) throw new Error(r.error);
      batch.push({ event: r.event, target, cursor: `1700000000000-${seq}` });
    }
    batches.push(batch);
  }
  for (const batch of batches.slice(0, 200)) await handler(batch); // warm-up
  // CPU time, best of five passes: the figure is the mapper's, not the other processes' on the machine.
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const batch of batches) await handler(batch);
    const c = process.cpuUsage(c0);
    passes.push(Math.min(c.user + c.system, (performance.now() - t0) * 1_000) / seq);
  }
  return {
    name: 'mapper CPU per WS message delivery (in process)', value: Math.min(...passes), unit: 'µs',
    note: `${seq} plain-text deliveries in batches of 32, no-op handler; best of ${passes.map((p) => p.toFixed(2)).join(', ')}`,
  };
}
