/**
 * Issue #9's chat bench: messages from a stock gramjs client through the bridge to a WebSocket
 * client, beside WebSocket -> WebSocket through the same kind of bridge, in the same run, on the
 * same redis-server. One app per round (redis driver, WS and MTProto on, one room linking a WS
 * room and an MTProto chat), started fresh on an emptied Redis, warmed up, then measured with the
 * harness's scenarios (bench/scenarios.ts): throughput (best of the rounds) and latency at
 * 500 msg/s (pooled over the rounds). Targets: MTProto -> WS throughput >= 0.7x WS -> WS, its p99
 * <= 1.5x WS -> WS's. Beside them, not targets: the floor (the same stock client against an
 * MTProto endpoint that costs nothing behind its session layer: bench/mtproto-floor.ts), which
 * bounds what the MTProto path can reach on this machine, and the bridge thread's busy time per
 * message on each path, which is the bridge's own share.
 *
 * Alone: `node --import tsx bench/mtproto-chat.ts`.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { generateServerRsaKey, loadServerRsaKey } from '../src/connectors/mtproto/crypto/rsa.ts';
import { generateBotToken, hashBotToken } from '../src/connectors/mtproto/chat/bot-tokens.ts';
import { generateKek } from '../src/connectors/mtproto/store/key-ring.ts';
import { generateToken, hashToken } from '../src/connectors/websocket/tokens.ts';
import { latencyClients, throughputClients, throughputClientsWithCpu } from './client-runner.ts';
import { MtprotoFloor, type FloorBus } from './mtproto-floor.ts';
import type { LinkSpec } from './link.ts';
import { RedisProbe, startBenchRedis } from './redis.ts';
import type { BenchResult } from './result.ts';
import type { LatencyOptions, LatencyResult, ThroughputOptions, ThroughputResult } from './scenarios.ts';
import { summarize } from './stats.ts';

export const TARGET_THROUGHPUT_RATIO = 0.7;
export const TARGET_P99_RATIO = 1.5;

const ROOM = 'a';
const CHAT_ID = 2001;
const BOT_ID = 5001;
const WS_TO_WS = 'ws -> ws';
/** WS -> WS with a transaction id per send (publishOnce, as every MTProto send): not a target, it tells the bus's share from the MTProto side's. */
const WS_TXN_TO_WS = 'ws -> ws (txn)';
const MTPROTO_TO_WS = 'mtproto -> ws';
/** gramjs -> an MTProto endpoint that costs nothing behind its session layer -> a plain WS (bench/mtproto-floor.ts): the best the MTProto path could do here. */
const FLOOR = 'mtproto floor -> ws';
/**
 * gramjs -> the same endpoint publishing into the bridge's bus and answering once the bus holds the
 * message, as a WS send is acknowledged -> the bridge -> WS (bench/mtproto-floor.ts): the best any
 * MTProto chat layer on this bus could do here.
 */
const BUS_FLOOR = 'mtproto bus floor -> ws';
const PATHS = [WS_TO_WS, WS_TXN_TO_WS, MTPROTO_TO_WS, FLOOR, BUS_FLOOR];
const FLOORS: ReadonlySet<string> = new Set([FLOOR, BUS_FLOOR]);

const WARMUP: ThroughputOptions = { messages: 1_000, window: 500, maxSendMs: 5_000, drainTimeoutMs: 20_000 };
const THROUGHPUT: ThroughputOptions = { messages: 8_000, window: 1_000, maxSendMs: 10_000, drainTimeoutMs: 20_000 };
/**
 * Each latency client first sends for warmupMs at the same rate, uncounted: a fresh gramjs client
 * takes seconds to warm up (JIT), and on two cores its extra CPU meanwhile slows the bridge too
 * (p50 8-10 ms in its first second, 2-3 ms after five); a fresh WS client warms in about one.
 * The bridge itself is warmed by WARMUP before each path.
 */
const LATENCY: LatencyOptions = { ratePerSecond: 500, warmupMs: 4_000, durationMs: 4_000, tickMs: 1, drainTimeoutMs: 20_000 };
const THROUGHPUT_ROUNDS = 2;
const LATENCY_ROUNDS = 2;

/** One bridge with both networks on, limits out of the way: the bench measures the path, not the limiters. */
export class ChatRelay {
  private constructor(private readonly app: App, private readonly dir: string, private readonly secrets: { ws: [string, string]; bot: string; key: { n: string; e: string; fingerprint: string } }) {}

  static async start(redisUrl: string): Promise<ChatRelay> {
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-mtproto-'));
    try {
      const ws: [string, string] = [generateToken(), generateToken()];
      const bot = generateBotToken(BOT_ID);
      const { privateKeyPem } = generateServerRsaKey();
      const rsa = loadServerRsaKey(privateKeyPem);
      mkdirSync(join(dir, 'bridges'));
      mkdirSync(join(dir, 'mappings'));
      writeFileSync(join(dir, 'server.pem'), privateKeyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'bridges', `${ROOM}.yaml`), `room: ${ROOM}\nendpoints:\n  - websocket: ${ROOM}\n  - mtproto: ${CHAT_ID}\n`);
      writeFileSync(join(dir, 'config.yaml'), [
        `log: { level: ${process.env['BENCH_LOG'] ?? 'silent'} }`,
        `bus: { driver: redis, redis: { url: "${redisUrl}", prefix: sbbenchmt } }`,
        'http: { host: 127.0.0.1, port: 0, metrics: true }',
        'websocket:',
        '  rateLimit: { perSecond: 100000, burst: 1000000 }',
        '  maxBufferedBytes: 67108864',
        '  tokens:',
        `    - { name: bench-sender, hash: "${hashToken(ws[0])}", rooms: ["${ROOM}"] }`,
        `    - { name: bench-receiver, hash: "${hashToken(ws[1])}", rooms: ["${ROOM}"] }`,
        'mtproto:',
        '  enabled: true',
        '  port: 0',
        '  rsaKeyFile: ./server.pem',
        // Stored auth keys sealed, as a deployment has them (the key is opened once per load, not per message).
        `  keyEncryptionKey: "${generateKek()}"`,
        '  flood: { send: { perSecond: 1000000, burst: 10000000 }, read: { perSecond: 1000000, burst: 10000000 } }',
        // gramjs sends a paced message in a frame of its own: 500 msg/s is 500 frames/s on one connection.
        '  framesPerSecond: 100000',
        '  frameBurst: 1000000',
        '  accounts:',
        `    - { id: ${BOT_ID}, bot: true, firstName: Bench Bot, tokenHash: "${hashBotToken(bot)}", rooms: ["${ROOM}"] }`,
        '',
      ].join('\n'));
      const app = await startApp(await loadConfig(join(dir, 'config.yaml')), {});
      return new ChatRelay(app, dir, { ws, bot, key: { n: rsa.n.toString(), e: rsa.e.toString(), fingerprint: BigInt.asIntN(64, rsa.fingerprint).toString() } });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private get wsUrl(): string {
    const url = this.app.listings().find((l) => l.label === 'WebSocket')?.value;
    if (url === undefined) throw new Error('the bench bridge runs no WebSocket connector');
    return url;
  }

  link(kind: string): LinkSpec {
    if (kind === WS_TO_WS || kind === WS_TXN_TO_WS) return { kind: 'switchboard', url: this.wsUrl, room: ROOM, tokens: this.secrets.ws, txn: kind === WS_TXN_TO_WS };
    const port = Number(/:(\d+) \(TCP\)/.exec(this.app.listings().find((l) => l.label === 'MTProto')?.value ?? '')?.[1]);
    if (!Number.isInteger(port) || port <= 0) throw new Error('the bench bridge runs no MTProto listener');
    return { kind: 'mtproto', port, botToken: this.secrets.bot, chatId: CHAT_ID, serverKey: this.secrets.key, wsUrl: this.wsUrl, wsToken: this.secrets.ws[1], room: ROOM };
  }

  /** The bus floor's way into this bridge: its bus, the linked chat, and a WS receiver's link. */
  busFloor(): FloorBus {
    return { bus: this.app.bus, room: ROOM, chatId: CHAT_ID, senderId: BOT_ID, ws: { url: this.wsUrl, token: this.secrets.ws[1], room: ROOM } };
  }

  async close(): Promise<void> {
    try {
      await this.app.close();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** What a measurement got, and how busy the bench's main thread (where the bridge runs) was per message meanwhile. */
interface Measured<T> {
  readonly result: T;
  /** Event-loop busy time of the bridge's thread per message, µs (the clients run in a worker). */
  readonly bridgeMicros: number;
  /** CPU time of the clients' thread per message, µs (undefined where the OS does not tell). */
  readonly clientMicros?: number;
}

async function withRelay<T extends { messages?: number; count?: number }>(redisUrl: string, probe: RedisProbe, kind: string, measure: (spec: LinkSpec) => Promise<{ result: T; clientCpuMs?: number }>): Promise<Measured<T>> {
  await probe.reset();
  const relay = kind === FLOOR ? undefined : await ChatRelay.start(redisUrl);
  try {
    const floor = kind === FLOOR ? await MtprotoFloor.start() : kind === BUS_FLOOR ? await MtprotoFloor.start(relay!.busFloor()) : undefined;
    const link = () => (floor !== undefined ? floor.link(CHAT_ID) : relay!.link(kind));
    try {
      await throughputClients(link(), WARMUP);
      const before = performance.eventLoopUtilization();
      const { result, clientCpuMs } = await measure(link());
      const busy = performance.eventLoopUtilization(before);
      const messages = result.messages ?? result.count ?? 1;
      return { result, bridgeMicros: (busy.active * 1000) / messages, ...(clientCpuMs !== undefined ? { clientMicros: (clientCpuMs * 1000) / messages } : {}) };
    } finally {
      await floor?.close();
    }
  } finally {
    await relay?.close();
  }
}

export async function runMtprotoChatBench(log: (line: string) => void = (l) => console.log(l)): Promise<BenchResult[]> {
  const redis = await startBenchRedis();
  const probe = new RedisProbe(redis.url);
  const throughput = new Map<string, ThroughputResult[]>();
  const latency = new Map<string, LatencyResult[]>();
  const bridgeMicros = new Map<string, number[]>();
  const clientMicros = new Map<string, number[]>();
  try {
    for (let round = 1; round <= THROUGHPUT_ROUNDS; round++) {
      for (const kind of PATHS) {
        const { result: r, bridgeMicros: us, clientMicros: cus } = await withRelay(redis.url, probe, kind, (spec) => throughputClientsWithCpu(spec, THROUGHPUT));
        throughput.set(kind, [...(throughput.get(kind) ?? []), r]);
        bridgeMicros.set(kind, [...(bridgeMicros.get(kind) ?? []), us]);
        if (cus !== undefined) clientMicros.set(kind, [...(clientMicros.get(kind) ?? []), cus]);
        log(`chat throughput ${round}/${THROUGHPUT_ROUNDS} ${kind}: ${r.perSecond.toFixed(0)} msg/s (${r.messages} in ${r.seconds.toFixed(2)} s${r.timeLimited ? ', send time ran out' : ''}; bridge thread busy ${us.toFixed(0)} µs/msg${cus !== undefined ? `, client thread CPU ${cus.toFixed(0)} µs/msg` : ''})`);
      }
    }
    for (let round = 1; round <= LATENCY_ROUNDS; round++) {
      for (const kind of PATHS) {
        const { result: r } = await withRelay(redis.url, probe, kind, async (spec) => ({ result: await latencyClients(spec, LATENCY) }));
        latency.set(kind, [...(latency.get(kind) ?? []), r]);
        log(`chat latency ${round}/${LATENCY_ROUNDS} @${LATENCY.ratePerSecond}/s after ${LATENCY.warmupMs ?? 0} ms of warm-up ${kind}: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} max ${r.max.toFixed(2)} ms (sent ${r.sentPerSecond.toFixed(0)}/s, pacer lag <= ${r.pacerLagMs.toFixed(1)} ms)`);
      }
    }
  } finally {
    await probe.close();
    await redis.stop();
  }
  return results(throughput, latency, bridgeMicros, clientMicros);
}

function results(throughput: Map<string, ThroughputResult[]>, latency: Map<string, LatencyResult[]>, bridgeMicros: Map<string, number[]>, clientMicros: Map<string, number[]>): BenchResult[] {
  const best = (kind: string) => throughput.get(kind)?.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const pooled = (kind: string) => {
    const runs = latency.get(kind) ?? [];
    return runs.length === 0 ? undefined : summarize(runs.flatMap((r) => r.samples));
  };
  const out: BenchResult[] = [];
  const wsTp = best(WS_TO_WS);
  const mtTp = best(MTPROTO_TO_WS);
  for (const kind of [WS_TO_WS, WS_TXN_TO_WS]) {
    const b = best(kind);
    if (b) out.push({ name: `chat throughput, ${kind}`, value: b.perSecond, unit: 'msg/s', note: `best of ${throughput.get(kind)!.map((r) => r.perSecond.toFixed(0)).join(', ')}` });
  }
  if (mtTp) {
    const r: BenchResult = { name: `chat throughput, ${MTPROTO_TO_WS}`, value: mtTp.perSecond, unit: 'msg/s', note: `best of ${throughput.get(MTPROTO_TO_WS)!.map((x) => x.perSecond.toFixed(0)).join(', ')}` };
    if (wsTp) {
      r.baseline = { name: WS_TO_WS, value: wsTp.perSecond };
      r.ratio = mtTp.perSecond / wsTp.perSecond;
      r.note = `${r.ratio >= TARGET_THROUGHPUT_RATIO ? 'PASS' : 'MISS'} (target >= ${TARGET_THROUGHPUT_RATIO}x); ${r.note}`;
    }
    out.push(r);
  }
  for (const kind of FLOORS) {
    const floorTp = best(kind);
    if (!floorTp) continue;
    const r: BenchResult = { name: `chat throughput, ${kind}`, value: floorTp.perSecond, unit: 'msg/s', note: `not a target: a bound on ${MTPROTO_TO_WS}; best of ${throughput.get(kind)!.map((x) => x.perSecond.toFixed(0)).join(', ')}` };
    if (wsTp) {
      r.baseline = { name: WS_TO_WS, value: wsTp.perSecond };
      r.ratio = floorTp.perSecond / wsTp.perSecond;
    }
    out.push(r);
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [what, per, note] of [
    ['bridge thread busy', bridgeMicros, 'event-loop busy time of the bridge\'s thread during the throughput rounds'],
    ['client thread CPU', clientMicros, 'CPU time of the clients\' worker thread (sender and receiver) during the throughput rounds'],
  ] as const) {
    const base = per.get(WS_TO_WS);
    for (const kind of PATHS) {
      const us = per.get(kind);
      if (!us || us.length === 0) continue;
      const r: BenchResult = { name: `chat ${what} per message, ${kind}`, value: mean(us), unit: 'µs', note: `${note} (${us.map((x) => x.toFixed(0)).join(', ')})` };
      if (kind !== WS_TO_WS && base && base.length > 0) {
        r.baseline = { name: WS_TO_WS, value: mean(base) };
        r.ratio = mean(us) / mean(base);
      }
      out.push(r);
    }
  }
  const wsLat = pooled(WS_TO_WS);
  const mtLat = pooled(MTPROTO_TO_WS);
  for (const [kind, l] of [[WS_TO_WS, wsLat], [WS_TXN_TO_WS, pooled(WS_TXN_TO_WS)], [MTPROTO_TO_WS, mtLat], [FLOOR, pooled(FLOOR)], [BUS_FLOOR, pooled(BUS_FLOOR)]] as const) {
    if (!l) continue;
    for (const q of ['p50', 'p99', 'max'] as const) {
      const r: BenchResult = { name: `chat latency @${LATENCY.ratePerSecond}/s ${q}, ${kind}`, value: l[q], unit: 'ms' };
      if (q === 'p99') r.note = `${l.count} messages over ${latency.get(kind)!.length} rounds; per round ${latency.get(kind)!.map((x) => x.p99.toFixed(1)).join(', ')}`;
      if ((kind === MTPROTO_TO_WS || FLOORS.has(kind)) && wsLat) {
        r.baseline = { name: WS_TO_WS, value: wsLat[q] };
        r.ratio = l[q] / wsLat[q];
        if (q === 'p99' && kind === MTPROTO_TO_WS) r.note = `${r.ratio <= TARGET_P99_RATIO ? 'PASS' : 'MISS'} (target <= ${TARGET_P99_RATIO}x); ${r.note}`;
        if (q === 'p99' && FLOORS.has(kind)) r.note = `not a target: a bound on ${MTPROTO_TO_WS}; ${r.note}`;
      }
      out.push(r);
    }
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runMtprotoChatBench().then((rs) => {
    for (const r of rs) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}x ${r.baseline?.name})` : ''}${r.note ? ` - ${r.note}` : ''}`);
    process.exit(0);
  }, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
