import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { wsUrlOf } from '../helpers/app.ts';

const ALICE = 'sb_test_alice_fast_paths';
const BOB = 'sb_test_bob_fast_paths';

async function routedAtPublishAndDirect(fastPaths: string, redisUrl: string, prefix: string): Promise<[number, number]> {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `bus:\n  driver: redis\n  redis: { url: "${redisUrl}", prefix: ${prefix} }\n  fastPaths: ${fastPaths}\n`,
    `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  try {
    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    for (let i = 0; i < 5; i++) {
      await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `m${i}` } });
      await bob.collectEvents(1, 30_000);
    }
    await alice.close();
    await bob.close();
    const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
    const sum = (name: string) => [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    return [sum('switchboard_bus_routed_at_publish_batches_total'), sum('switchboard_bus_direct_deliveries_total')];
  } finally {
    await app.close();
    tree.cleanup();
  }
}

test('bus.fastPaths in config.yaml reaches the redis driver: all off, no batch takes a fast path', { timeout: 90_000 }, async () => {
  const redis = await startRedis();
  try {
    const off = await routedAtPublishAndDirect('{ directDelivery: false, routeAtPublish: false, skipLonelyFanout: false, corkWrites: false, batchClaims: false }', redis.url, 'fpoff');
    assert.deepEqual(off, [0, 0]);
    const on = await routedAtPublishAndDirect('{}', redis.url, 'fpon');
    assert.ok(on[0] + on[1] > 0, `with the defaults some batches take a fast path (${on.join(', ')})`);
  } finally {
    await redis.stop();
  }
});
