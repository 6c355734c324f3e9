import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { stubbornClient, upgradeStatus } from '../helpers/raw-upgrade.ts';
import { mtprotoOf } from '../helpers/app.ts';

const ALICE = 'sb_test_alice_token_for_shutdown_tests';

function config(extra = ''): string {
  return `http: { port: 0 }\nwebsocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n${extra}`;
}

/** Resolves with the error code of a TCP connect to `port` (undefined when something listens). */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(undefined); });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

async function start(tree: ConfigTree, logger: Logger = silentLogger): Promise<App> {
  return startApp(await loadConfig(tree.configFile, { env: {} }), { logger });
}

test('while draining, the listener stays open: /healthz answers 503 draining and WS upgrades 503; then the port is released', async () => {
  const tree = makeConfigTree(config(), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  try {
    const app = await start(tree);
    const client = await stubbornClient(app.httpPort, ALICE);
    const closed = app.close();
    try {
      const res = await fetch(`${app.httpUrl}/healthz`);
      assert.equal(res.status, 503);
      assert.equal((await res.json() as Record<string, unknown>)['status'], 'draining');
      assert.match(await upgradeStatus(app.httpPort, '/ws', ALICE), /^HTTP\/1\.1 503/);
    } finally {
      client.destroy(); // lets the drain finish
      await closed;
    }
    assert.equal(await connectError(app.httpPort), 'ECONNREFUSED', 'the port is released after close()');
  } finally {
    tree.cleanup();
  }
});

test('a drain that times out still closes everything: close() resolves, logs drained:false, HTTP and MTProto ports are closed', async () => {
  const tree = makeConfigTree(config('shutdown: { drainTimeoutMs: 100 }\nmtproto:\n  enabled: true\n  port: 0\n  rsaKeyFile: ./keys/server.pem\n'),
    { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  let client: Socket | undefined;
  try {
    tree.write('keys/.keep', '');
    writeServerKey(join(tree.dir, 'keys', 'server.pem'));
    const app = await start(tree, pino({ level: 'info' }, sink));
    const mtprotoPort = mtprotoOf(app)?.listeningOn?.port ?? 0;
    assert.equal(await connectError(mtprotoPort), undefined, 'MTProto listens before close()');
    client = await stubbornClient(app.httpPort, ALICE);
    const t0 = Date.now();
    await app.close();
    // The stubborn client keeps the WebSocket connector closing for its 5 s close timeout.
    assert.ok(Date.now() - t0 < 4_000, `close() resolved in ${Date.now() - t0} ms, not after the connector's close timeout`);
    const done = lines.find((l) => l['msg'] === 'shut down');
    assert.equal(done?.['drained'], false);
    assert.equal(await connectError(app.httpPort), 'ECONNREFUSED', 'HTTP port closed');
    assert.equal(await connectError(mtprotoPort), 'ECONNREFUSED', 'MTProto port closed');
  } finally {
    client?.destroy();
    tree.cleanup();
  }
});
