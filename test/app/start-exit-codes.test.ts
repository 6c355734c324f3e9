import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCommand } from '../../src/cli/start.ts';
import type { Io } from '../../src/cli/args.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { freePort } from '../helpers/ports.ts';
import { stubbornClient } from '../helpers/raw-upgrade.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge } from '../e2e/bridge-process.ts';
import { runStart } from '../helpers/run-start.ts';

const ALICE = 'sb_test_alice_token_for_exit_code_tests';
const LOBBY = { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' };

after(async () => { await killAllBridges(); });


function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => s.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** The error code of a TCP connect to 127.0.0.1:port (undefined when something listens). */
function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(undefined); });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

test('start with the HTTP port already taken: the CLI exits 3; in-process nothing is left listening (not even the MTProto port)', async () => {
  const httpPort = await freePort();
  const mtprotoPort = await freePort();
  const blocker = await listenOn(httpPort);
  const tree = makeConfigTree([
    `log: { level: silent }\nhttp: { port: ${httpPort} }\n`,
    `mtproto:\n  enabled: true\n  port: ${mtprotoPort}\n  rsaKeyFile: ./keys/rsa.pem\n`,
  ].join(''), LOBBY);
  try {
    mkdirSync(join(tree.dir, 'keys'));
    writeServerKey(join(tree.dir, 'keys', 'rsa.pem'));

    const r = await runStart(tree.configFile);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /switchboard could not start: .*EADDRINUSE/);
    assert.doesNotMatch(r.stdout, /Switchboard is running/);

    // In-process the same failure must close what it opened before the HTTP listener (MTProto TCP).
    let stderr = '';
    let stdout = '';
    const io: Io = { out: (l) => { stdout += `${l}\n`; }, err: (l) => { stderr += `${l}\n`; } };
    const code = await startCommand(['--config', tree.configFile], io);
    assert.equal(code, 3, `${stdout}\n${stderr}`);
    assert.match(stderr, /EADDRINUSE/);
    assert.equal(await connectError(mtprotoPort), 'ECONNREFUSED', 'the MTProto listener was closed again');
    assert.equal(process.listenerCount('SIGTERM'), 0, 'no signal handler installed by a failed start');
  } finally {
    blocker.close();
    tree.cleanup();
  }
});

test('start with bus.driver redis on a closed port: exit 3 and the message names the URL', async () => {
  const closedPort = await freePort();
  const url = `redis://127.0.0.1:${closedPort}`;
  const tree = makeConfigTree(`http: { port: 0 }\nbus:\n  driver: redis\n  redis:\n    url: ${url}\n`, LOBBY);
  try {
    const r = await runStart(tree.configFile);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.ok(r.stderr.includes(`switchboard could not start: cannot reach Redis at ${url}`), r.stderr);
    assert.doesNotMatch(r.stdout, /Switchboard is running/);
  } finally {
    tree.cleanup();
  }
});


test('a second SIGTERM during the drain exits 130 at once', async () => {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    'shutdown: { drainTimeoutMs: 20000 }\n',
    `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
  ].join(''), LOBBY);
  let client: Socket | undefined;
  let pid: number | undefined;
  try {
    const bridge = await spawnBridge(tree.configFile);
    pid = bridge.pid;
    client = await stubbornClient(Number(new URL(bridge.httpUrl).port), ALICE);
    bridge.signal('SIGTERM');
    // Wait until the first signal is being handled (the drain is now held up by the client).
    const until = Date.now() + 10_000;
    while (!/"msg":"signal received"/.test(bridge.output())) {
      if (Date.now() > until) throw new Error(`no "signal received" log:\n${bridge.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    bridge.signal('SIGTERM');
    const exit = await bridge.exited;
    const ms = Date.now() - t0;
    assert.deepEqual(exit, { code: 130, signal: null }, bridge.output());
    assert.ok(ms < 3_000, `exited ${ms} ms after the second SIGTERM (the drain would take ~5 s)`);
    assert.match(bridge.output(), /SIGTERM again: exiting without waiting for the drain/);
  } finally {
    client?.destroy();
    if (pid !== undefined) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    tree.cleanup();
  }
});
