/** Starts an MTProto server on an ephemeral loopback port for one test file. */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { silentLogger, createLogger } from '../../src/core/logger.ts';
import { generateServerRsaKey, loadServerRsaKey, type ServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import type { AuthKeyStore } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { StateAuthKeyStore } from '../../src/connectors/mtproto/store/state-auth-key-store.ts';
import { KeyRing } from '../../src/connectors/mtproto/store/key-ring.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { StateStore } from '../../src/bus/types.ts';
import { createMtprotoServer, type MtprotoServer, type MtprotoServerOptions } from '../../src/connectors/mtproto/server.ts';
import { connectAndAuth, type InMessage, type PinnedKey, type SpecSession } from './spec-client.ts';

let cachedKey: ServerRsaKey | undefined;
/** One RSA key per test process: generating 2048-bit keys is slow and not what is tested. */
export function testRsaKey(): ServerRsaKey {
  return (cachedKey ??= loadServerRsaKey(generateServerRsaKey().privateKeyPem));
}

export function pinned(key: ServerRsaKey): PinnedKey {
  return { n: key.n, e: key.e, fingerprint: key.fingerprint };
}

/** A state store of this process only (the memory bus driver without a state file). */
export function memoryState(): StateStore {
  return new LocalState().store('mtproto');
}

/** Auth keys in a state store (default: a fresh in-memory one), sealed under `ring` (default: plaintext). */
export function stateKeyStore(state: StateStore = memoryState(), ring: KeyRing = KeyRing.plaintext()): AuthKeyStore {
  return new StateAuthKeyStore(state, ring, { logger: silentLogger });
}

export interface Running {
  server: MtprotoServer;
  port: number;
  registry: Registry;
  keyStore: AuthKeyStore;
  rsaKey: ServerRsaKey;
  stop(): Promise<void>;
}

export async function startServer(extra: Partial<MtprotoServerOptions> = {}): Promise<Running> {
  const registry = createRegistry(false);
  const keyStore = extra.keyStore ?? stateKeyStore();
  const rsaKey = extra.rsaKey ?? testRsaKey();
  const logger = process.env['MTPROTO_TEST_LOG'] ? createLogger('debug') : silentLogger;
  const server = createMtprotoServer({ host: '127.0.0.1', port: 0, rsaKey, keyStore, logger, registry, ...extra });
  const { port } = await server.start();
  return { server, port, registry, keyStore, rsaKey, stop: () => server.stop() };
}

/**
 * An HTTP server on a free loopback port that hands every upgrade to the MTProto server, as the
 * app's HTTP server does for /apiws (anything else: 404). close() drops its connections.
 */
export async function listenForUpgrades(srv: Running): Promise<{ port: number; close(): Promise<void> }> {
  const http = createHttpServer((_req, res) => { res.writeHead(404).end(); });
  http.on('upgrade', (req, socket, head) => srv.server.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const { port } = http.address() as AddressInfo;
  return {
    port,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  let sum = 0;
  for (const v of data.values) {
    if (Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val)) sum += v.value;
  }
  return sum;
}

/** A session on `srv` over intermediate framing, already answering pings. */
export async function readySession(srv: Running): Promise<SpecSession> {
  const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
  if (!(await s.ping())) throw new Error('fresh session did not answer ping');
  return s;
}

/** Matches the bad_msg_notification with this code for this msg_id. */
export function isBadMsg(code: number, msgId: bigint) {
  return (m: InMessage) => m.obj._ === 'bad_msg_notification' && m.obj['error_code'] === code && m.obj['bad_msg_id'] === msgId;
}
