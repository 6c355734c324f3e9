import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { wsUrlOf } from '../helpers/app.ts';

/**
 * Two instances on one Redis, one bridges/ folder (what README's "Linking rooms without a
 * restart" asks of operators: SIGHUP every instance). Each instance answers from its own table:
 * until it reloads, its clients cannot join a room linked elsewhere; once both did, clients on
 * either instance talk in it, and both are told when it is unlinked.
 */

const ALICE = 'sb_test_alice_reload_instances';
const BOB = 'sb_test_bob_reload_instances';

test('a room linked and unlinked on two instances sharing a Redis, each reloaded', { timeout: 90_000 }, async () => {
  const redis = await startRedis();
  const trees: ConfigTree[] = [];
  const apps: App[] = [];
  const clients: TestClient[] = [];
  try {
    const shared = makeConfigTree('', { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
    trees.push(shared);
    for (const name of ['one', 'two']) {
      const tree = makeConfigTree([
        `instance: { id: ${name} }\n`,
        `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: reload }\n`,
        `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
        `bridgesDir: ${join(shared.dir, 'bridges')}\n`,
      ].join(''));
      trees.push(tree);
      apps.push(await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 }));
    }
    const [one, two] = apps as [App, App];
    const alice = await connectClient(wsUrlOf(one), ALICE);
    const bob = await connectClient(wsUrlOf(two), BOB);
    clients.push(alice, bob);

    shared.write('bridges/side.yaml', 'endpoints: [{websocket: side}]\n');
    assert.equal((await one.reloadBridges()).ok, true);
    assert.equal((await alice.request({ type: 'join', room: 'side' }))['type'], 'joined');
    assert.equal((await bob.request({ type: 'join', room: 'side' }))['code'], 'unknown_room', 'instance two has not reloaded yet');

    assert.equal((await two.reloadBridges()).ok, true);
    assert.equal((await bob.request({ type: 'join', room: 'side' }))['type'], 'joined');
    await alice.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'from one' } });
    await bob.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'from two' } });
    // A sender's own session gets none of its events back.
    const text = async (client: TestClient) => ((await client.collectEvents(1, 30_000))[0]!.event as { text?: string }).text;
    assert.equal(await text(alice), 'from two');
    assert.equal(await text(bob), 'from one');

    rmSync(join(shared.dir, 'bridges/side.yaml'));
    for (const app of apps) assert.equal((await app.reloadBridges()).ok, true);
    for (const client of [alice, bob]) assert.deepEqual(await client.next((f) => f.type === 'left', 10_000), { type: 'left', room: 'side', reason: 'unlinked' });
    assert.equal((await bob.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'gone' } }))['code'], 'unknown_room');
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    for (const app of apps) await app.close();
    for (const tree of trees) tree.cleanup();
    await redis.stop();
  }
});
