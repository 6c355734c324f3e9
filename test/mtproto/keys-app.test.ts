// Keys and sessions users can rely on, through the whole app: a restart of `switchboard start`
// on the embedded defaults (memory driver, its state file) does not orphan a stock gramjs client;
// with Redis a second instance accepts the first one's key; a wrong or missing key-encryption
// key stops the start with one clear error.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { within } from '../helpers/wait.ts';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { generateKek, parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis } from '../helpers/redis.ts';
import { mtprotoOf } from '../helpers/app.ts';
import { killAllBridges, spawnBridge } from '../e2e/bridge-process.ts';
import { readFileSync } from 'node:fs';
import { authKeyId } from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { GramApi, pinServerKey, stockClient, stockClientWithKey, type StockClient } from './gramjs-client.ts';

after(async () => { await killAllBridges(); });

interface GramNearestDc { className: string; thisDc: number }

/** A config tree with the MTProto server on, its RSA key and (unless `kek: false`) its KEK file. */
function mtprotoTree(head: string, opts: { kek?: boolean } = {}): ConfigTree {
  const tree = makeConfigTree(head, { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}, {mtproto: 1001}]\n' });
  tree.write('keys/.keep', '');
  writeServerKey(join(tree.dir, 'keys', 'server.pem'));
  pinServerKey(loadServerRsaKey(readFileSync(join(tree.dir, 'keys', 'server.pem'), 'utf8')));
  if (opts.kek !== false) writeKekFile(join(tree.dir, 'keys', 'kek.key'));
  return tree;
}

async function metricsText(httpUrl: string): Promise<string> {
  return await (await fetch(`${httpUrl}/metrics`)).text();
}

/** The value of a counter line (0 when the series is absent). */
function counterValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('`switchboard start` restarted on the memory driver: a connected stock gramjs client reconnects with its key and goes on, a saved key works in a new client, no new key, no -404', { timeout: 120_000 }, async () => {
  const [httpPort, mtPort] = [await freePort(), await freePort()];
  const tree = mtprotoTree([
    `http: { port: ${httpPort} }`,
    'bus: { driver: memory, stateFile: ./data/state.jsonl }',
    'mtproto:',
    '  enabled: true',
    `  port: ${mtPort}`,
    '  rsaKeyFile: ./keys/server.pem',
    '  keyEncryptionKeyFile: ./keys/kek.key',
    '',
  ].join('\n'));
  let client: StockClient | undefined;
  let saved: StockClient | undefined;
  try {
    let bridge = await spawnBridge(tree.configFile);
    // A user's client: gramjs defaults (auto-reconnect on), retrying for a while as apps do.
    client = stockClient(mtPort, 'full', { autoReconnect: true, connectionRetries: 200, retryDelay: 250 });
    assert.equal(await within(30_000, 'connect', client.connect()), true);
    const key = client.session.getAuthKey(2)?.getKey();
    assert.ok(key, 'the client made a key');
    // One handshake, or two when gramjs dropped a leading zero byte of the first key (about 1 in
    // 200: it rejects our correct answer and runs another); the first key then stays unused.
    const handshakes = counterValue(await metricsText(bridge.httpUrl), 'switchboard_mtproto_handshakes_ok_total');
    assert.ok(handshakes >= 1 && handshakes <= 2, `handshakes: ${handshakes}`);
    // On disk (bus.stateFile) the key is sealed under the key file's KEK.
    const kekId = parseKek(readFileSync(join(tree.dir, 'keys', 'kek.key'), 'utf8')).id;
    const stateLines = readFileSync(join(tree.dir, 'data', 'state.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"mtproto:authkey:'));
    // The client's key: written by the handshake, then again with its first use recorded (its ttl
    // moves from "unused" to "idle", see docs/mtproto.md, "Keys nobody uses").
    const all = stateLines.map((l) => JSON.parse(l) as [string, string, string, number | null]);
    assert.equal(new Set(all.map((r) => r[1])).size, handshakes, 'one key per handshake');
    const stateRecords = all.filter((r) => r[1] === `mtproto:authkey:${authKeyIdHex(authKeyId(new Uint8Array(key)))}`);
    assert.ok(stateRecords.length >= 2, 'the client\'s key, stored and then used');
    for (const r of stateRecords) assert.match(r[2], new RegExp(`^enc1:${kekId}:`));
    const kept = stateRecords.at(-1)![3];
    assert.ok(kept !== null && kept > Date.now() + 179 * 86_400_000, `used: kept 180 days (until ${kept})`);

    bridge.signal('SIGTERM');
    assert.deepEqual(await bridge.exited, { code: 0, signal: null }, bridge.output());
    bridge = await spawnBridge(tree.configFile);

    const dc = (await within(40_000, 'a call after the restart', client.invoke(new GramApi.help.GetNearestDc()))) as GramNearestDc;
    assert.equal(dc.className, 'NearestDc');
    assert.equal(dc.thisDc, 2);
    assert.deepEqual(client.session.getAuthKey(2)?.getKey(), key, 'the same key: nothing asked the user to start over');

    // The user's bot restarts too: a new client object from the saved key.
    saved = await stockClientWithKey(mtPort, key, { connectionRetries: 5, retryDelay: 100 });
    assert.equal(await within(30_000, 'connect with the saved key', saved.connect()), true);
    assert.equal(((await within(20_000, 'call with the saved key', saved.invoke(new GramApi.help.GetNearestDc()))) as GramNearestDc).thisDc, 2);
    assert.deepEqual(saved.session.getAuthKey(2)?.getKey(), key);

    const metrics = await metricsText(bridge.httpUrl);
    assert.equal(counterValue(metrics, 'switchboard_mtproto_handshakes_ok_total'), 0, 'the restarted bridge made no key');
    assert.equal(counterValue(metrics, 'switchboard_mtproto_transport_errors_total', 'reason="unknown-auth-key"'), 0, 'no -404');
    assert.ok(counterValue(metrics, 'switchboard_mtproto_api_calls_total', 'outcome="ok"') >= 2);
    bridge.signal('SIGTERM');
    await bridge.exited;
  } finally {
    await client?.destroy().catch(() => undefined);
    await saved?.destroy().catch(() => undefined);
    await killAllBridges();
    tree.cleanup();
  }
});

test('redis driver: a key made on one instance is accepted by a second instance (same Redis, same KEK), which makes none', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const kek = generateKek();
  const tree = mtprotoTree([
    'http: { port: 0 }',
    `bus: { driver: redis, redis: { url: "${redis.url}", prefix: sbkeys } }`,
    'mtproto:',
    '  enabled: true',
    '  port: 0',
    '  rsaKeyFile: ./keys/server.pem',
    '  keyEncryptionKey: ${SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY}',
    '',
  ].join('\n'), { kek: false });
  const env = { SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek };
  const apps: App[] = [];
  const clients: StockClient[] = [];
  try {
    const start = async () => { const app = await startApp(await loadConfig(tree.configFile, { env }), { logger: silentLogger, httpPortOverride: 0 }); apps.push(app); return app; };
    const a = await start();
    const b = await start();
    const portOf = (app: App) => mtprotoOf(app)!.listeningOn!.port;
    const onA = stockClient(portOf(a));
    clients.push(onA);
    assert.equal(await within(30_000, 'connect to A', onA.connect()), true);
    const key = onA.session.getAuthKey(2)?.getKey();
    assert.ok(key);

    const onB = await stockClientWithKey(portOf(b), key);
    clients.push(onB);
    assert.equal(await within(30_000, 'connect to B', onB.connect()), true);
    assert.equal(((await within(20_000, 'call on B', onB.invoke(new GramApi.help.GetNearestDc()))) as GramNearestDc).thisDc, 2);
    assert.deepEqual(onB.session.getAuthKey(2)?.getKey(), key);
    const metricsB = await (await fetch(`${b.httpUrl}/metrics`)).text();
    assert.equal(counterValue(metricsB, 'switchboard_mtproto_handshakes_ok_total'), 0, 'B made no key');
    assert.equal(counterValue(metricsB, 'switchboard_mtproto_transport_errors_total', 'reason="unknown-auth-key"'), 0);
    // In Redis the key is sealed under the KEK, never in the clear.
    const { Redis } = await import('ioredis');
    const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      // One key per handshake A made: one, or two when gramjs dropped a leading zero byte of the
      // first (about 1 in 200: it rejects our correct answer and runs another). The client's is
      // among them, and every one is sealed.
      const handshakesA = counterValue(await (await fetch(`${a.httpUrl}/metrics`)).text(), 'switchboard_mtproto_handshakes_ok_total');
      assert.ok(handshakesA >= 1 && handshakesA <= 2, `handshakes on A: ${handshakesA}`);
      const keys = await r.keys('sbkeys:state:mtproto:authkey:*');
      assert.equal(keys.length, handshakesA, 'one stored key per handshake');
      assert.ok(keys.includes(`sbkeys:state:mtproto:authkey:${authKeyIdHex(authKeyId(new Uint8Array(key)))}`), 'the client\'s key is stored');
      for (const k of keys) assert.match((await r.get(k))!, new RegExp(`^enc1:${parseKek(kek).id}:`));
    } finally {
      r.disconnect();
    }
  } finally {
    for (const c of clients) await c.destroy().catch(() => undefined);
    for (const app of apps) await app.close();
    await redis.stop();
    tree.cleanup();
  }
});

test('a wrong or missing key-encryption key: the start fails with one error naming the key ids; a rotation through previousKeyEncryptionKeys starts', { timeout: 60_000 }, async () => {
  const kek1 = generateKek();
  const kek2 = generateKek();
  const config = (previous: boolean) => [
    'http: { port: 0 }',
    'bus: { driver: memory, stateFile: ./data/state.jsonl }',
    'mtproto:',
    '  enabled: true',
    '  port: 0',
    '  rsaKeyFile: ./keys/server.pem',
    '  keyEncryptionKey: ${SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY:-}',
    '  keyEncryptionKeyFile: ./keys/none.key',
    ...(previous ? ['  previousKeyEncryptionKeys: ["${OLD_KEK}"]'] : []),
    '',
  ].join('\n');
  const tree = mtprotoTree(config(false), { kek: false });
  const start = async (env: Record<string, string>) => startApp(await loadConfig(tree.configFile, { env }), { logger: silentLogger, httpPortOverride: 0 });
  try {
    const first = await start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek1 });
    await first.close();

    const id1 = parseKek(kek1).id;
    const id2 = parseKek(kek2).id;
    await assert.rejects(start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek2 }),
      (err: Error) => err.message.includes(`sealed with key-encryption key ${id1}, but the configured one is ${id2}`) && err.message.includes('mtproto.keyEncryptionKey'));
    await assert.rejects(start({}), (err: Error) => err.message.includes(`sealed with key-encryption key ${id1}, but no key-encryption key is configured`));
    await assert.rejects(start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: 'c2hvcnQ=' }), /keyEncryptionKey: a key-encryption key is 32 bytes/);
    // Rotation: the new key with the old one listed starts, and so does the new one alone afterwards.
    tree.write('config.yaml', config(true));
    const rotated = await start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek2, OLD_KEK: kek1 });
    await rotated.close();
    tree.write('config.yaml', config(false));
    const rotatedAlone = await start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek2 });
    await rotatedAlone.close();
    await assert.rejects(start({ SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY: kek1 }), /sealed with key-encryption key/);
  } finally {
    tree.cleanup();
  }
});
