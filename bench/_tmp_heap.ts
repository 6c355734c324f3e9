import { writeHeapSnapshot } from 'node:v8';
import { readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRegistry } from '../src/core/metrics.ts';
import { createLogger } from '../src/core/logger.ts';
import { generateServerRsaKey, loadServerRsaKey } from '../src/connectors/mtproto/crypto/rsa.ts';
import { createMtprotoServer } from '../src/connectors/mtproto/server.ts';
import { LocalState } from '../src/bus/memory/state-store.ts';
import { generateKek, KeyRing, parseKek } from '../src/connectors/mtproto/store/key-ring.ts';
import { openMtprotoStores } from '../src/connectors/mtproto/store/open-stores.ts';
import { SpecConnection, SpecSession, specHandshake } from '../test/mtproto/spec-client.ts';

function summarize(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const f = snap.snapshot.meta.node_fields as string[];
  const types = snap.snapshot.meta.node_types[0] as string[];
  const nodes = snap.nodes as number[]; const strings = snap.strings as string[];
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < nodes.length; i += f.length) {
    const type = types[nodes[i]!]!; const name = strings[nodes[i + 1]!]!; const size = nodes[i + 3]!;
    const key = `${type}:${type === 'object' || type === 'closure' || type === 'native' ? name : ''}`;
    const e = out.get(key) ?? { count: 0, size: 0 }; e.count++; e.size += size; out.set(key, e);
  }
  return out;
}

if (process.argv[2] === '--client') {
  process.on('message', async (m: any) => {
    const held: SpecConnection[] = [];
    const c = await SpecConnection.connect(m.port, 'intermediate');
    const auth = await specHandshake(c, { n: BigInt(m.n), e: BigInt(m.e), fingerprint: BigInt(m.fp) });
    for (let i = 0; i < m.count; i++) {
      const conn = await SpecConnection.connect(m.port, 'intermediate'); held.push(conn);
      if (!(await new SpecSession(conn, auth).ping(10000))) throw new Error('no pong');
    }
    process.send!('done');
  });
} else {
  const rsaKey = loadServerRsaKey(generateServerRsaKey().privateKeyPem);
  const logger = createLogger('info');
  const registry = createRegistry(false);
  const stores = await openMtprotoStores({ state: new LocalState().store('mtproto'), driver: 'memory', ring: new KeyRing(parseKek(generateKek())), logger, registry });
  const server = createMtprotoServer({ host: '127.0.0.1', port: 0, rsaKey, logger, registry, keyStore: stores.keyStore, clientInfo: stores.clientInfo, saltSecret: stores.saltSecret, framesPerSecond: 1e9, frameBurst: 1e9 });
  const { port } = await server.start();
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const gc = (globalThis as any).gc;
  gc(); gc();
  const a = writeHeapSnapshot('/tmp/mtheap/a.heapsnapshot');
  const N = 2000;
  await new Promise<void>((r) => { child.once('message', () => r()); child.send({ port, n: rsaKey.n.toString(), e: rsaKey.e.toString(), fp: rsaKey.fingerprint.toString(), count: N }); });
  await new Promise((r) => setTimeout(r, 500));
  gc(); gc();
  const b = writeHeapSnapshot('/tmp/mtheap/b.heapsnapshot');
  const sa = summarize(a), sb = summarize(b);
  const rows = [...sb].map(([k, v]) => { const o = sa.get(k) ?? { count: 0, size: 0 }; return { k, dc: (v.count - o.count) / N, ds: (v.size - o.size) / N }; }).sort((x, y) => y.ds - x.ds);
  let total = 0; for (const r of rows) total += r.ds;
  console.log('total heap bytes per connection', total.toFixed(0));
  for (const r of rows.slice(0, 45)) console.log(r.ds.toFixed(0).padStart(6), r.dc.toFixed(2).padStart(6), r.k);
  child.kill(); await server.stop(); process.exit(0);
}
