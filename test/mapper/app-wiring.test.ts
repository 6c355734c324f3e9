import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { wsUrlOf } from '../helpers/app.ts';
import { makeConfigTree } from '../config/fixture.ts';

/**
 * The app puts the mapper between the bus and each delivering connector, and `mapper.enabled:
 * false` takes it out: a WS client sees the difference in what reaches it (repeated presences are
 * no-ops with the mapper, delivered as they are without it), and /metrics shows the mapper's work.
 */

const ALICE = 'sb_test_alice_wiring';
const BOB = 'sb_test_bob_wiring';

async function presencesBobSees(enabled: boolean): Promise<{ states: string[]; metrics: string }> {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `mapper: { enabled: ${enabled} }\n`,
    'websocket:\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'mappings/presence.yaml': 'coalesceMs: 0\n' });
  const app = await startApp(await loadConfig(tree.configFile), { httpPortOverride: 0 });
  try {
    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    for (const state of ['away', 'away', 'away', 'available']) await alice.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state } });
    await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'end' } });
    const states: string[] = [];
    for (;;) {
      const [frame] = await bob.collectEvents(1, 10_000);
      const e = frame!.event as { kind: string; state?: string };
      if (e.kind === 'message') break;
      states.push(e.state ?? e.kind);
    }
    alice.ws.close();
    bob.ws.close();
    return { states, metrics: await app.registry.metrics() };
  } finally {
    await app.close();
    tree.cleanup();
  }
}

test('with the mapper (the default) repeated presences are dropped as no-ops and counted; without it they all arrive', async () => {
  const on = await presencesBobSees(true);
  assert.deepEqual(on.states, ['away', 'available']);
  assert.match(on.metrics, /switchboard_mapper_degraded_total\{target="websocket",kind="presence",how="no_op"\} 2/);
  assert.match(on.metrics, /switchboard_mapper_batch_seconds_count\{target="websocket"\} [1-9]/);

  const off = await presencesBobSees(false);
  assert.deepEqual(off.states, ['away', 'away', 'away', 'available']);
  assert.doesNotMatch(off.metrics, /switchboard_mapper_/);
});
