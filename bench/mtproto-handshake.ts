/**
 * MTProto server benchmark: full auth-key handshakes per second (req_pq_multi .. dh_gen_ok with
 * RSA_PAD, 2048-bit DH on both sides) and encrypted ping/pong messages per second, against our
 * server on loopback with the spec-built test client; and the server's own CPU time per
 * handshake, with the server in a process of its own (bench/mtproto-server-process.ts) so the
 * client's DH is not counted. Bounded in count and time; runnable alone:
 * `node --import tsx bench/mtproto-handshake.ts`.
 */
import { fileURLToPath } from 'node:url';
import { createRegistry } from '../src/core/metrics.ts';
import { silentLogger } from '../src/core/logger.ts';
import { generateServerRsaKey, loadServerRsaKey } from '../src/connectors/mtproto/crypto/rsa.ts';
import { StateAuthKeyStore } from '../src/connectors/mtproto/store/state-auth-key-store.ts';
import { generateKek, KeyRing, parseKek } from '../src/connectors/mtproto/store/key-ring.ts';
import { LocalState } from '../src/bus/memory/state-store.ts';
import { createMtprotoServer } from '../src/connectors/mtproto/server.ts';
import { connectAndAuth, SpecConnection, specHandshake, type PinnedKey } from '../test/mtproto/spec-client.ts';
import type { BenchResult } from './result.ts';
import { startServerProcess } from './mtproto-server-process.ts';

const HANDSHAKE_SECONDS = 3;
const MAX_HANDSHAKES = 2000;
const PARALLEL = 4;
const PING_SECONDS = 2;
const PING_WINDOW = 64;
const CPU_HANDSHAKES = 200;
const CPU_WARMUP = 10;
const CPU_SECONDS = 60;

/**
 * Server CPU time (user + system, from the server process itself) per complete handshake, over
 * up to CPU_HANDSHAKES handshakes after CPU_WARMUP for the JIT; PARALLEL clients in this process.
 */
export async function measureServerCpuPerHandshake(): Promise<BenchResult> {
  const srv = await startServerProcess();
  try {
    const once = async () => {
      const c = await SpecConnection.connect(srv.port, 'intermediate');
      try {
        await specHandshake(c, srv.pin);
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < CPU_WARMUP; i++) await once();
    const before = await srv.usage();
    const deadline = performance.now() + CPU_SECONDS * 1000;
    let started = 0;
    let done = 0;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (started < CPU_HANDSHAKES && performance.now() < deadline) {
        started++;
        await once();
        done++;
      }
    }));
    const after = await srv.usage();
    const msPer = (after.cpuMicros - before.cpuMicros) / 1000 / done;
    return {
      name: 'mtproto server CPU per auth-key handshake (server in its own process)', value: Math.round(msPer * 100) / 100, unit: 'ms CPU',
      note: `${done} handshakes (req_pq_multi .. dh_gen_ok, RSA_PAD, keys sealed and stored) by ${PARALLEL} out-of-process clients; user+system time of the server process incl. its event loop and GC; client DH not counted`,
    };
  } finally {
    await srv.stop();
  }
}

export async function runMtprotoHandshakeBench(): Promise<BenchResult[]> {
  const rsaKey = loadServerRsaKey(generateServerRsaKey().privateKeyPem);
  const server = createMtprotoServer({
    host: '127.0.0.1', port: 0, rsaKey, logger: silentLogger,
    // As the connector stores keys: sealed under a KEK, in the bus's state (here in memory).
    keyStore: new StateAuthKeyStore(new LocalState().store('mtproto'), new KeyRing(parseKek(generateKek())), { logger: silentLogger }),
    registry: createRegistry(false), framesPerSecond: 1e9, frameBurst: 1e9, handshakesPerMinute: 1e9, handshakeBurst: 1e9,
  });
  const { port } = await server.start();
  const pin: PinnedKey = { n: rsaKey.n, e: rsaKey.e, fingerprint: rsaKey.fingerprint };
  try {
    // Handshakes: PARALLEL clients, each doing one handshake per fresh connection.
    let done = 0;
    const t0 = performance.now();
    const deadline = t0 + HANDSHAKE_SECONDS * 1000;
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (performance.now() < deadline && done < MAX_HANDSHAKES) {
        const c = await SpecConnection.connect(port, 'intermediate');
        try {
          await specHandshake(c, pin);
          done++;
        } finally {
          c.close();
        }
      }
    }));
    const handshakeSeconds = (performance.now() - t0) / 1000;

    // Encrypted messages: one session, PING_WINDOW pings in flight.
    const s = await connectAndAuth(port, pin, 'intermediate');
    let pongs = 0;
    let sent = 0;
    const p0 = performance.now();
    const pEnd = p0 + PING_SECONDS * 1000;
    try {
      while (performance.now() < pEnd) {
        for (let i = 0; i < PING_WINDOW; i++) { s.send({ _: 'ping', ping_id: BigInt(++sent) }); }
        let got = 0;
        while (got < PING_WINDOW) {
          const r = await s.recv(5000);
          if (!Array.isArray(r)) throw new Error(`ping bench: ${JSON.stringify(r)}`);
          for (const m of r) if (m.obj._ === 'pong') got++;
        }
        pongs += got;
      }
    } finally {
      s.conn.close();
    }
    const pingSeconds = (performance.now() - p0) / 1000;
    const cpu = await measureServerCpuPerHandshake();
    return [
      cpu,
      { name: 'mtproto full auth-key handshakes', value: Math.round((done / handshakeSeconds) * 10) / 10, unit: 'handshakes/s',
        note: `${done} handshakes in ${handshakeSeconds.toFixed(1)} s, ${PARALLEL} parallel clients, loopback; client DH cost included` },
      { name: 'mtproto encrypted ping->pong', value: Math.round(pongs / pingSeconds), unit: 'msgs/s',
        note: `${pongs} pongs in ${pingSeconds.toFixed(1)} s, one session, window ${PING_WINDOW}` },
    ];
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await runMtprotoHandshakeBench();
  for (const r of results) console.log(`${r.name}: ${r.value} ${r.unit} (${r.note ?? ''})`);
}
