/**
 * `npm run bench`: issue #2's relay benchmark (bridged Switchboard vs a naive BullMQ relay, same
 * run, same redis-server), issue #10's mapper figures (WS -> WS with and without the mapper on the
 * same redis-server, the presence-storm reduction), then issue #3's MTProto benchmarks when their
 * files exist. Prints a
 * table with PASS/MISS against the targets, writes bench/last-run.json, and exits non-zero only
 * when a scenario fails to complete: missing a target is a result, not an error.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeRun } from './machine.ts';
import { RedisProbe, startBenchRedis, type CommandStats, type RedisServer } from './redis.ts';
import { NaiveRelay } from './naive-relay.ts';
import { BASELINE, SUBJECT, relayBench, type RelayBenchOutcome, type RelayFactory } from './relay-bench.ts';
import type { BenchResult } from './result.ts';

/** Everything must be over in a few minutes; this is the hard stop if something hangs. */
const HARD_LIMIT_MS = 6 * 60_000;

interface ExtraBench {
  readonly file: string;
  readonly exportName: string;
  readonly what: string;
}

const MTPROTO_BENCHES: readonly ExtraBench[] = [
  { file: 'mtproto-crypto.ts', exportName: 'runMtprotoCryptoBench', what: 'MTProto AES-IGE MB/s vs native CBC and gramjs (issue #3)' },
  { file: 'mtproto-handshake.ts', exportName: 'runMtprotoHandshakeBench', what: 'MTProto msgs/s, handshakes/s (issue #3) and server CPU per handshake (issue #9)' },
  { file: 'mtproto-memory.ts', exportName: 'runMtprotoMemoryBench', what: 'MTProto resident memory per idle connection at 10,000 connections (issue #9)' },
];

async function relayFactories(redisUrl: string, failures: string[]): Promise<RelayFactory[]> {
  const factories: RelayFactory[] = [{ name: BASELINE, start: () => NaiveRelay.start(redisUrl) }];
  try {
    // Imported late so that a broken bridged path still leaves the baseline's numbers standing.
    const { BridgedRelay } = await import('./bridged.ts');
    factories.push({ name: SUBJECT, start: () => BridgedRelay.start(redisUrl) });
  } catch (err) {
    failures.push(`bridged path did not load: ${(err as Error).stack ?? String(err)}`);
  }
  return factories;
}

async function runExtra(bench: ExtraBench, results: BenchResult[], failures: string[], missing: string[]): Promise<void> {
  const url = new URL(`./${bench.file}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    missing.push(`bench/${bench.file} (${bench.what})`);
    return;
  }
  try {
    const mod = (await import(url.href)) as Record<string, unknown>;
    const fn = mod[bench.exportName];
    if (typeof fn !== 'function') throw new Error(`bench/${bench.file} does not export ${bench.exportName}()`);
    const out = await (fn as () => Promise<BenchResult[]>)();
    results.push(...out);
  } catch (err) {
    failures.push(`bench/${bench.file}: ${(err as Error).stack ?? String(err)}`);
  }
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function printTable(results: readonly BenchResult[]): void {
  const rows = results.map((r) => [
    r.name,
    `${formatValue(r.value)} ${r.unit}`,
    r.baseline ? `${formatValue(r.baseline.value)} (${r.baseline.name})` : '',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '',
    r.note ?? '',
  ]);
  const head = ['figure', 'value', 'baseline', 'ratio', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<number> {
  const context = describeRun();
  console.log(`bench: ${context.date}, commit ${context.commit}${context.dirty ? ' (uncommitted changes)' : ''}, ${context.cpus} x ${context.cpuModel}, ${context.memoryGiB} GiB, node ${context.node}, redis ${context.redis}, load ${context.loadAverage}`);
  if (context.loadAverage > context.cpus / 2) {
    console.log(`WARNING: load average ${context.loadAverage} on ${context.cpus} CPUs before the run: other work competes with both relays, so these figures are noisy.`);
  }
  const results: BenchResult[] = [];
  const failures: string[] = [];
  const missing: string[] = [];
  let commandStats: Record<string, CommandStats> = {};
  let runs: RelayBenchOutcome['runs'] | undefined;
  let redis: RedisServer | undefined;
  let probe: RedisProbe | undefined;
  let mapperRuns: Record<string, unknown> | undefined;
  try {
    redis = await startBenchRedis();
    probe = new RedisProbe(redis.url);
    const relay = await relayBench(await relayFactories(redis.url, failures), probe, (msg) => console.log(msg));
    results.push(...relay.results);
    failures.push(...relay.failures);
    commandStats = relay.commandStats;
    runs = relay.runs;
  } catch (err) {
    failures.push(`relay bench: ${(err as Error).stack ?? String(err)}`);
  }
  try {
    // Issue #10: the same WS -> WS path with and without the mapper, on the same redis-server.
    if (redis && probe) {
      const { runMapperCostBench, runMapperThroughputBench } = await import('./mapper.ts');
      const mapper = await runMapperThroughputBench(redis.url, probe, (msg) => console.log(msg));
      results.push(...mapper.results, await runMapperCostBench());
      mapperRuns = mapper.runs;
    }
  } catch (err) {
    failures.push(`mapper bench: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await probe?.close();
    await redis?.stop();
  }
  try {
    console.log('running bench/presence.ts ...');
    const { runPresenceBench } = await import('./presence.ts');
    results.push(...await runPresenceBench());
  } catch (err) {
    failures.push(`presence bench: ${(err as Error).stack ?? String(err)}`);
  }
  for (const bench of MTPROTO_BENCHES) {
    console.log(`running bench/${bench.file} ...`);
    await runExtra(bench, results, failures, missing);
  }

  printTable(results);
  for (const m of missing) console.log(`MISSING: ${m} is not there yet; not run.`);
  for (const f of failures) console.error(`FAILED: ${f}`);
  const outFile = fileURLToPath(new URL('./last-run.json', import.meta.url));
  const loadAfter = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  console.log(`load average at the end: ${loadAfter}`);
  writeFileSync(outFile, `${JSON.stringify({ context: { ...context, loadAverageAfter: loadAfter }, results, runs, mapperRuns, commandStats, missing, failures }, null, 2)}\n`);
  console.log(`\nwrote ${outFile}`);
  return failures.length > 0 ? 1 : 0;
}

const hardStop = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 1000} s; giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

main().then((code) => {
  // Connections a failed scenario left open must not keep the process alive.
  process.exit(code);
}, (err: unknown) => {
  console.error(err);
  process.exit(1);
});
