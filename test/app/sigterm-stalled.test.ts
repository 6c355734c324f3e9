import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge } from '../e2e/bridge-process.ts';

const ALICE = 'sb_test_alice_sigterm_stalled';

after(async () => { await killAllBridges(); });

test('SIGTERM while Redis hangs: /healthz says draining within a second, clients get 1001, the process exits within drainTimeoutMs', { timeout: 60_000 }, async () => {
  const redis = await startRedis();
  const drainTimeoutMs = 3_000;
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: stalled }\n`,
    `shutdown: { drainTimeoutMs: ${drainTimeoutMs} }\n`,
    `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  try {
    const bridge = await spawnBridge(tree.configFile);
    const alice = await connectClient(bridge.wsUrl, ALICE);
    await alice.request({ type: 'join', room: 'lobby' });
    await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'before the stall' } });

    process.kill(redis.pid, 'SIGSTOP');
    // Work in flight against the hanging Redis: a publish that will never be answered.
    alice.send({ type: 'send', ref: 'stuck', room: 'lobby', event: { kind: 'message', text: 'into the void' } });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    bridge.signal('SIGTERM');

    const healthStarted = Date.now();
    let status: unknown;
    for (let i = 0; i < 20 && status !== 'draining'; i++) {
      const res = await fetch(`${bridge.httpUrl}/healthz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      status = res ? ((await res.json()) as Record<string, unknown>)['status'] : undefined;
    }
    assert.equal(status, 'draining');
    assert.ok(Date.now() - healthStarted < 1_000, `/healthz answered "draining" after ${Date.now() - healthStarted} ms`);

    const closed = await alice.closed;
    assert.equal(closed.code, 1001, 'clients are told to go away, not cut off');
    const exit = await bridge.exited;
    const took = Date.now() - t0;
    assert.ok(took < drainTimeoutMs + 1_500, `exited after ${took} ms (drainTimeoutMs ${drainTimeoutMs})`);
    assert.deepEqual(exit, { code: 0, signal: null }, bridge.output());
    assert.equal(alice.frames.some((f) => f.ref === 'stuck' && f.type === 'ack'), false, 'nothing unpublished was acknowledged');
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await killAllBridges();
    await redis.stop();
    tree.cleanup();
  }
});
