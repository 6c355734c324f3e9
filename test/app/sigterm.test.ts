import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type ServerFrame } from '../helpers/ws-client.ts';
import { freePort } from '../helpers/ports.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge } from '../e2e/bridge-process.ts';

const ALICE = 'sb_test_alice_sigterm';
const BOB = 'sb_test_bob_sigterm';

after(async () => { await killAllBridges(); });

test('SIGTERM on `switchboard start`: stops accepting, answers what it received, closes clients with 1001, exits 0', async () => {
  const port = await freePort();
  const tree = makeConfigTree([
    `http: { port: ${port} }\n`,
    'shutdown: { drainTimeoutMs: 5000 }\n',
    'websocket:\n  rateLimit: { perSecond: 100000, burst: 100000 }\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  try {
    const bridge = await spawnBridge(tree.configFile);
    const alice = await connectClient(bridge.wsUrl, ALICE);
    const bob = await connectClient(bridge.wsUrl, BOB);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });

    // Keep sending while the signal arrives: a bounded burst, then SIGTERM once some are acked.
    const total = 300;
    for (let i = 0; i < total; i++) alice.send({ type: 'send', ref: `m${i}`, room: 'lobby', event: { kind: 'message', text: `n${i}` } });
    await alice.next((f) => f.type === 'ack' && f.ref === 'm50', 10_000);
    const t0 = Date.now();
    bridge.signal('SIGTERM');

    const [exit, aliceClosed, bobClosed] = await Promise.all([bridge.exited, alice.closed, bob.closed]);
    const ms = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null }, bridge.output());
    assert.ok(ms < 5_000 + 3_000, `exited in ${ms} ms (drain timeout 5000)`);
    assert.equal(aliceClosed.code, 1001);
    assert.equal(bobClosed.code, 1001);

    // Every frame alice sent was either answered (ack) or never read; nothing got an error.
    const answers = alice.frames.filter((f: ServerFrame) => f.ref !== undefined && f.ref.startsWith('m'));
    assert.ok(answers.length >= 51);
    assert.deepEqual(answers.filter((f) => f.type !== 'ack'), []);
    // What bob got is exactly a prefix of what was acked, in order (memory driver: the rest is gone with the process).
    const acked = answers.map((f) => f['id']);
    const received = bob.events.map((e) => e.event.id);
    assert.deepEqual(received, acked.slice(0, received.length));

    assert.match(bridge.output(), /"msg":"shut down"/);
    assert.match(bridge.output(), /"drained":true/);
    await assert.rejects(fetch(`${bridge.httpUrl}/healthz`), 'the port is released');
  } finally {
    tree.cleanup();
  }
});
