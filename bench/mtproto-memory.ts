/**
 * Resident memory per idle MTProto connection at 10,000 connections (issue #9: <= 16 KiB).
 * The server runs alone in a child process (bench/mtproto-server-process.ts), the clients in
 * another (this file with --client), both with the file-descriptor limit raised; so the figure is
 * the server's RSS growth alone, divided by the connections, after two full GCs on both sides of
 * the measurement. Two kinds of idle connection, each on a fresh server:
 *  - authenticated: transport header, then one encrypted ping answered with pong on a session
 *    of its own (all on one auth key made by one real handshake): what a connected client that
 *    has nothing to say looks like to the server;
 *  - header-only: the 4-byte transport header and nothing else (the server's handshake deadline
 *    is raised for the run, or it would close them after 30 s).
 * Bounded: at most CONNECT_SECONDS to open them; runnable alone: `node --import tsx bench/mtproto-memory.ts`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerUsage } from './mtproto-server-process.ts';
import type { BenchResult } from './result.ts';
import { SpecConnection, SpecSession, specHandshake, type PinnedKey } from '../test/mtproto/spec-client.ts';

const CONNECTIONS = 10_000;
const WARMUP = 200;
const CONCURRENCY = 100;
const CONNECT_SECONDS = 180;
const TARGET_BYTES = 16 * 1024;

type Kind = 'authenticated' | 'header-only';

interface ClientRequest { cmd: 'open'; port: number; pin: { n: string; e: string; fingerprint: string }; kind: Kind; count: number }
type ClientReply = { type: 'opened'; ok: number; failed: number; seconds: number } | { type: 'closed' };

/** The client side, in its own process: opens `count` connections of `kind` and keeps them. */
async function runClient(): Promise<void> {
  const held: SpecConnection[] = [];
  let auth: Awaited<ReturnType<typeof specHandshake>> | undefined;
  process.on('message', (m: ClientRequest | { cmd: 'close' }) => {
    void (async () => {
      if (m.cmd === 'close') {
        for (const c of held.splice(0)) c.close();
        process.send?.({ type: 'closed' } satisfies ClientReply);
        return;
      }
      const pin: PinnedKey = { n: BigInt(m.pin.n), e: BigInt(m.pin.e), fingerprint: BigInt(m.pin.fingerprint) };
      if (m.kind === 'authenticated' && auth === undefined) {
        const c = await SpecConnection.connect(m.port, 'intermediate');
        auth = await specHandshake(c, pin);
        c.close();
      }
      const t0 = performance.now();
      const deadline = t0 + CONNECT_SECONDS * 1000;
      let next = 0;
      let ok = 0;
      let failed = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < m.count && performance.now() < deadline) {
          next++;
          try {
            const c = await SpecConnection.connect(m.port, 'intermediate');
            held.push(c);
            if (m.kind === 'authenticated') {
              const s = new SpecSession(c, auth!);
              if (!(await s.ping(30_000))) throw new Error('no pong');
            }
            ok++;
          } catch {
            failed++;
          }
        }
      }));
      process.send?.({ type: 'opened', ok, failed, seconds: (performance.now() - t0) / 1000 } satisfies ClientReply);
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

function startClientProcess(): { request(m: ClientRequest | { cmd: 'close' }, timeoutMs: number): Promise<ClientReply>; stop(): void } {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], {
    execPath: '/bin/sh',
    execArgv: ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "${process.execPath}" --import tsx "$0" "$@"`],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const kill = () => { try { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.once('exit', kill);
  return {
    request: (m, timeoutMs) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client process: no answer in ${timeoutMs} ms`)), timeoutMs);
      child.once('message', (r: ClientReply) => { clearTimeout(timer); resolve(r); });
      child.send(m);
    }),
    stop: () => { kill(); process.off('exit', kill); },
  };
}

interface Measured { kind: Kind; opened: number; failed: number; seconds: number; before: ServerUsage; after: ServerUsage }

async function measure(kind: Kind): Promise<Measured> {
  const srv = await startServerProcess({ handshakeTimeoutMs: 30 * 60_000, maxConnections: CONNECTIONS + WARMUP + 100 });
  const client = startClientProcess();
  try {
    const pin = { n: srv.pin.n.toString(), e: srv.pin.e.toString(), fingerprint: srv.pin.fingerprint.toString() };
    // Warm-up: code paths compiled, pools and caches filled, then closed again.
    await client.request({ cmd: 'open', port: srv.port, pin, kind, count: WARMUP }, 120_000);
    await client.request({ cmd: 'close' }, 60_000);
    const drained = performance.now() + 30_000;
    while ((await srv.usage()).connections > 0 && performance.now() < drained) await new Promise((r) => setTimeout(r, 200));
    const before = await srv.usage();
    const r = await client.request({ cmd: 'open', port: srv.port, pin, kind, count: CONNECTIONS }, (CONNECT_SECONDS + 60) * 1000);
    if (r.type !== 'opened') throw new Error('client process: unexpected reply');
    // Let the server settle (answers written, timers armed), then measure.
    await new Promise((res) => setTimeout(res, 1000));
    const after = await srv.usage();
    return { kind, opened: after.connections - before.connections, failed: r.failed, seconds: r.seconds, before, after };
  } finally {
    client.stop();
    await srv.stop();
  }
}

export async function runMtprotoMemoryBench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const kind of ['authenticated', 'header-only'] as const) {
    const m = await measure(kind);
    if (m.opened < CONNECTIONS * 0.95) throw new Error(`memory bench (${kind}): only ${m.opened} of ${CONNECTIONS} connections open (${m.failed} failed)`);
    const per = (k: keyof ServerUsage) => (m.after[k] - m.before[k]) / m.opened;
    const kib = (bytes: number) => Math.round((bytes / 1024) * 100) / 100;
    results.push({
      name: `mtproto resident memory per idle connection, ${kind} (${m.opened} connections)`,
      value: kib(per('rss')), unit: 'KiB',
      baseline: { name: 'target', value: TARGET_BYTES / 1024 },
      ratio: Math.round((per('rss') / TARGET_BYTES) * 100) / 100,
      note: `server RSS ${Math.round(m.before.rss / 2 ** 20)} -> ${Math.round(m.after.rss / 2 ** 20)} MiB; per connection: V8 heap ${kib(per('heapUsed'))} KiB, external ${kib(per('external'))} KiB (array buffers ${kib(per('arrayBuffers'))} KiB); opened in ${m.seconds.toFixed(1)} s`,
    });
  }
  return results;
}

if (process.argv[2] === '--client') {
  await runClient();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await runMtprotoMemoryBench();
  for (const r of results) console.log(`${r.name}: ${r.value} ${r.unit} (target ${r.baseline?.value} KiB; ${r.note ?? ''})`);
}
