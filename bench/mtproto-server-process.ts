/**
 * The MTProto server alone in a child process, for the benchmarks that must not count the
 * client's work or memory: server CPU per handshake (bench/mtproto-handshake.ts) and resident
 * memory per idle connection (bench/mtproto-memory.ts).
 *
 * It runs what production runs: src/ compiled by `scripts/build.mjs` (into a temp dir) under
 * plain node, not tsx. That matters for memory: tsx (esbuild's keepNames) gives every function a
 * property store of its own, about 256 bytes more per closure, which alone put ~3 KiB on each
 * connection. Stores as the connector has them (sealed keys in a state store: the memory
 * driver's, in memory), a real pino logger at info writing to /dev/null, the file-descriptor
 * limit raised for many connections. IPC: { cmd: 'usage' } -> CPU time, memory after two full
 * GCs, open connections; { cmd: 'stop' }.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ServerUsage {
  /** process.cpuUsage(): user + system µs since the child started. */
  cpuMicros: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

export interface ServerProcessOptions {
  /** Handshake deadline of the server (the memory bench keeps header-only connections open). */
  handshakeTimeoutMs?: number;
  maxConnections?: number;
}

export interface ServerProcess {
  readonly port: number;
  readonly pin: { n: bigint; e: bigint; fingerprint: bigint };
  readonly pid: number;
  usage(): Promise<ServerUsage>;
  stop(): Promise<void>;
}

type Reply = { type: 'ready'; port: number; n: string; e: string; fingerprint: string } | ({ type: 'usage' } & ServerUsage);

let built: string | undefined;

/**
 * Compiles src/ once per bench process (scripts/build.mjs --out <dir>), into a directory under
 * node_modules/.cache so the compiled modules resolve their dependencies from node_modules.
 */
function buildOnce(): string {
  if (built !== undefined) return built;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'switchboard-bench-dist-'));
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('bench: building src/ failed (scripts/build.mjs)');
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  built = out;
  return out;
}

/** The child, in plain JavaScript: it imports the compiled modules of `dist`. */
function childSource(dist: string): string {
  const mod = (p: string) => JSON.stringify(pathToFileURL(join(dist, p)).href);
  return `
const { createRegistry } = await import(${mod('core/metrics.js')});
const { createLogger } = await import(${mod('core/logger.js')});
const { generateServerRsaKey, loadServerRsaKey } = await import(${mod('connectors/mtproto/crypto/rsa.js')});
const { createMtprotoServer } = await import(${mod('connectors/mtproto/server.js')});
const { LocalState } = await import(${mod('bus/memory/state-store.js')});
const { generateKek, KeyRing, parseKek } = await import(${mod('connectors/mtproto/store/key-ring.js')});
const { openMtprotoStores } = await import(${mod('connectors/mtproto/store/open-stores.js')});
const opts = JSON.parse(process.argv[1] ?? '{}');
const rsaKey = loadServerRsaKey(generateServerRsaKey().privateKeyPem);
const logger = createLogger('info');
const registry = createRegistry(false);
const stores = await openMtprotoStores({ state: new LocalState().store('mtproto'), driver: 'memory', ring: new KeyRing(parseKek(generateKek())), logger, registry });
const server = createMtprotoServer({
  host: '127.0.0.1', port: 0, rsaKey, logger, registry,
  keyStore: stores.keyStore, clientInfo: stores.clientInfo, saltSecret: stores.saltSecret,
  framesPerSecond: 1e9, frameBurst: 1e9, handshakesPerMinute: 1e9, handshakeBurst: 1e9, maxPendingHandshakes: 4096,
  maxConnections: opts.maxConnections ?? 20000, handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 30000,
});
const { port } = await server.start();
process.on('message', (m) => {
  if (m.cmd === 'usage') {
    globalThis.gc(); globalThis.gc();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send({ type: 'usage', cpuMicros: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers, connections: server.connections });
  } else if (m.cmd === 'stop') {
    server.stop().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', port, n: rsaKey.n.toString(), e: rsaKey.e.toString(), fingerprint: rsaKey.fingerprint.toString() });
`;
}

/**
 * Builds src/ (once) and forks the server on it, with the file-descriptor limit raised for many
 * connections (`ulimit -n` up to the hard limit, through sh; node itself cannot raise it).
 */
export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dist = buildOnce();
  // fork() runs execPath [...execArgv, modulePath, ...args]: sh -c '<script>' <node> <source> <opts>.
  const child = fork(process.execPath, [childSource(dist), JSON.stringify(opts)], {
    execPath: '/bin/sh',
    execArgv: ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" --expose-gc --input-type=module -e "$1" "$2"'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server process');
  const waiters: Array<(r: Reply) => void> = [];
  child.on('message', (m: Reply) => waiters.shift()?.(m));
  const next = (timeoutMs: number): Promise<Reply> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process did not answer in ${timeoutMs} ms`)), timeoutMs);
    waiters.push((r) => { clearTimeout(timer); resolve(r); });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    for (const w of waiters.splice(0)) w({ type: 'usage', cpuMicros: NaN, rss: NaN, heapUsed: NaN, external: NaN, arrayBuffers: NaN, connections: -1 });
    resolve();
  }));
  const kill = () => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', kill);
  let ready: Reply;
  try {
    ready = await next(60_000);
  } catch (err) {
    kill();
    throw err;
  }
  if (ready.type !== 'ready') throw new Error('server process exited before it was ready (its error is above)');
  return {
    port: ready.port,
    pid,
    pin: { n: BigInt(ready.n), e: BigInt(ready.e), fingerprint: BigInt(ready.fingerprint) },
    async usage() {
      child.send({ cmd: 'usage' });
      const r = await next(60_000);
      if (r.type !== 'usage') throw new Error('server process: unexpected reply');
      return r;
    },
    async stop() {
      child.send({ cmd: 'stop' });
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
}
