/**
 * `npm run bench`: issue #2's relay benchmark (bridged Switchboard vs a naive BullMQ relay, same
 * run, same redis-server), issue #10's mapper figures (WS -> WS with and without the mapper on the
 * same redis-server, the presence-storm reduction), then issue #3's MTProto benchmarks when their
 * files exist. Prints a
 * table with PASS/MISS against the targets, writes bench/last-run.json, and exits non-zero only
 * when a scenario fails to complete: missing a target is a result, not an error.
 *
 * `npm run bench -- --fast-paths[=name,...]`: the bus's fast paths on vs off instead (issue #7):
 * Switchboard with every fast path on, the same again (an A/A pair: the run's own noise), then
 * with each named fast path (default: every one) switched off alone, all of them off, and the
 * naive relay, rounds alternating. No mapper, presence, MTProto or media benches in that mode.
 *
 * `npm run bench -- --soak[=seconds]`: the Redis memory soak instead (bench/soak.ts, default 240 s).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeRun } from './machine.ts';
import { RedisProbe, startBenchRedis, type CommandStats, type RedisServer } from './redis.ts';
import { NaiveRelay } from './naive-relay.ts';
import { BASELINE, SUBJECT, relayBench, type RelayBenchOutcome, type RelayFactory } from './relay-bench.ts';
import type { BenchResult } from './result.ts';
import { ALL_FAST_PATHS_OFF, FAST_PATH_NAMES, type FastPaths } from '../src/bus/redis/fast-paths.ts';

/** Everything must be over in a few minutes; this is the hard stop if something hangs. */
const HARD_LIMIT_MS = 6 * 60_000;
/** A fast-path run measures more relays: about a minute each. */
const HARD_LIMIT_PER_VARIANT_MS = 90_000;

interface ExtraBench {
  readonly file: string;
  readonly exportName: string;
  readonly what: string;
}

const CONNECTOR_BENCHES: readonly ExtraBench[] = [
  { file: 'mtproto-crypto.ts', exportName: 'runMtprotoCryptoBench', what: 'MTProto AES-IGE MB/s vs native CBC and gramjs (issue #3)' },
  { file: 'mtproto-handshake.ts', exportName: 'runMtprotoHandshakeBench', what: 'MTProto msgs/s, handshakes/s (issue #3) and server CPU per handshake (issue #9)' },
  { file: 'mtproto-gzip.ts', exportName: 'runMtprotoGzipBench', what: 'MTProto gzip_packed of large API results: µs and size at level 1 vs 6 (issue #9)' },
  { file: 'mtproto-memory.ts', exportName: 'runMtprotoMemoryBench', what: 'MTProto resident memory per idle connection at 10,000 connections (issue #9)' },
  { file: 'mtproto-chat.ts', exportName: 'runMtprotoChatBench', what: 'gramjs -> bridge -> WS beside WS -> WS: msg/s and latency at 500 msg/s (issue #9)' },
  { file: 'xmpp.ts', exportName: 'runXmppBench', what: 'XMPP client -> MUC -> bridge -> WS vs Prosody\'s own client -> MUC -> client (issue #8)' },
];

/**
 * Issue #10's media bench moves a few GiB through loopback and disk (30-60 s): on a busy machine
 * the default run would pass its hard stop with it, so it runs with `npm run bench -- --media`
 * (or alone: `node --import tsx bench/media.ts`).
 */
const MEDIA_BENCH: ExtraBench = { file: 'media.ts', exportName: 'runMediaBench', what: 'media upload/download vs plain node:http, RSS while 500 MiB pass (issue #10)' };
const WITH_MEDIA = process.argv.includes('--media');

/** `--fast-paths` alone: every fast path; `--fast-paths=a,b`: those; absent: undefined (the usual run). */
function fastPathsAsked(argv: readonly string[]): (keyof FastPaths)[] | undefined {
  const arg = argv.find((a) => a === '--fast-paths' || a.startsWith('--fast-paths='));
  if (arg === undefined) return undefined;
  const names = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1).split(',').filter(Boolean) : FAST_PATH_NAMES;
  const unknown = names.filter((n) => !(FAST_PATH_NAMES as string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown fast path(s) ${unknown.join(', ')}; known: ${FAST_PATH_NAMES.join(', ')}`);
  return names as (keyof FastPaths)[];
}

async function relayFactories(redisUrl: string, failures: string[], ablate: readonly (keyof FastPaths)[] | undefined): Promise<RelayFactory[]> {
  const factories: RelayFactory[] = [{ name: BASELINE, start: () => NaiveRelay.start(redisUrl) }];
  try {
    // Imported late so that a broken bridged path still leaves the baseline's numbers standing.
    const { BridgedRelay } = await import('./bridged.ts');
    factories.push({ name: SUBJECT, start: () => BridgedRelay.start(redisUrl), comparedWith: BASELINE });
    if (ablate) {
      factories.push({ name: `${SUBJECT} again (A/A)`, start: () => BridgedRelay.start(redisUrl), comparedWith: SUBJECT });
      for (const name of ablate) {
        factories.push({ name: `${SUBJECT} without ${name}`, start: () => BridgedRelay.start(redisUrl, { fastPaths: { [name]: false } }), comparedWith: SUBJECT });
      }
      if (ablate.length > 1) {
        factories.push({ name: `${SUBJECT}, every fast path off`, start: () => BridgedRelay.start(redisUrl, { fastPaths: ALL_FAST_PATHS_OFF }), comparedWith: SUBJECT });
      }
    }
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

async function main(ablate: readonly (keyof FastPaths)[] | undefined): Promise<number> {
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
    const relay = await relayBench(await relayFactories(redis.url, failures, ablate), probe, (msg) => console.log(msg));
    results.push(...relay.results);
    failures.push(...relay.failures);
    commandStats = relay.commandStats;
    runs = relay.runs;
  } catch (err) {
    failures.push(`relay bench: ${(err as Error).stack ?? String(err)}`);
  }
  try {
    // Issue #10: the same WS -> WS path with and without the mapper, on the same redis-server.
    if (redis && probe && !ablate) {
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
  if (!ablate) {
    try {
      console.log('running bench/presence.ts ...');
      const { runPresenceBench } = await import('./presence.ts');
      results.push(...await runPresenceBench());
    } catch (err) {
      failures.push(`presence bench: ${(err as Error).stack ?? String(err)}`);
    }
    try {
      console.log('running bench/router-ignore.ts ...');
      const { runRouterIgnoreBench } = await import('./router-ignore.ts');
      results.push(...await runRouterIgnoreBench());
    } catch (err) {
      failures.push(`router ignore bench: ${(err as Error).stack ?? String(err)}`);
    }
  }
  for (const bench of ablate ? [] : WITH_MEDIA ? [...CONNECTOR_BENCHES, MEDIA_BENCH] : CONNECTOR_BENCHES) {
    console.log(`running bench/${bench.file} ...`);
    await runExtra(bench, results, failures, missing);
  }
  if (!WITH_MEDIA) console.log('media bench not run: `npm run bench -- --media` or `node --import tsx bench/media.ts`');

  printTable(results);
  for (const m of missing) console.log(`MISSING: ${m} is not there yet; not run.`);
  for (const f of failures) console.error(`FAILED: ${f}`);
  const outFile = fileURLToPath(new URL('./last-run.json', import.meta.url));
  const loadAfter = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  console.log(`load average at the end: ${loadAfter}`);
  writeFileSync(outFile, `${JSON.stringify({ context: { ...context, loadAverageAfter: loadAfter, fastPathsOff: ablate }, results, runs, mapperRuns, commandStats, missing, failures }, null, 2)}\n`);
  console.log(`\nwrote ${outFile}`);
  return failures.length > 0 ? 1 : 0;
}

const argv = process.argv.slice(2);
const soakArg = argv.find((a) => a === '--soak' || a.startsWith('--soak='));
const soakSeconds = soakArg === undefined ? undefined : Number(soakArg.includes('=') ? soakArg.slice(soakArg.indexOf('=') + 1) : 240);
if (soakSeconds !== undefined && !(soakSeconds > 0 && soakSeconds <= 3_600)) throw new Error(`--soak takes a duration in seconds (1..3600), not ${soakArg}`);
const ablate = fastPathsAsked(argv);
// naive + switchboard + A/A + one per fast path (+ all off when several); a soak: its time and a margin.
const limitMs = soakSeconds !== undefined ? (soakSeconds + 120) * 1000 : ablate ? (4 + ablate.length) * HARD_LIMIT_PER_VARIANT_MS : HARD_LIMIT_MS;
const hardStop = setTimeout(() => {
  console.error(`bench: still running after ${limitMs / 1000} s; giving up`);
  process.exit(2);
}, limitMs);
hardStop.unref();

(soakSeconds !== undefined ? import('./soak.ts').then(({ soakMain }) => soakMain(soakSeconds)) : main(ablate)).then((code) => {
  // Connections a failed scenario left open must not keep the process alive.
  process.exit(code);
}, (err: unknown) => {
  console.error(err);
  process.exit(1);
});
