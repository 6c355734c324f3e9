import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { freePort } from '../helpers/ports.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge, waitForOutput } from './bridge-process.ts';

/**
 * bridges/ on SIGHUP, on a real `switchboard start` process: a new room is linked while the
 * clients stay connected; a broken folder is refused, printed as file:line: field: message, and
 * everything in force stays (the reload is whole: mappings/ is not put in force either).
 */

const ALICE = 'sb_test_alice_sighup_bridges';
const BOB = 'sb_test_bob_sighup_bridges';

after(async () => { await killAllBridges(); });

test('SIGHUP links a room from a new bridges/ file without a restart, and refuses a broken one keeping the rooms in force', async () => {
  const port = await freePort();
  const tree = makeConfigTree([
    `http: { port: ${port} }\n`,
    'websocket:\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  try {
    const bridge = await spawnBridge(tree.configFile);
    const alice = await connectClient(bridge.wsUrl, ALICE);
    const bob = await connectClient(bridge.wsUrl, BOB);
    assert.equal((await alice.request({ type: 'join', room: 'side' }))['code'], 'unknown_room');

    tree.write('bridges/side.yaml', 'endpoints: [{websocket: side}]\n');
    let mark = bridge.output().length;
    bridge.signal('SIGHUP');
    await waitForOutput(bridge, /"msg":"config reloaded"/, mark);
    await waitForOutput(bridge, /"msg":"mappings reloaded"/, mark);
    await alice.request({ type: 'join', room: 'side' });
    await bob.request({ type: 'join', room: 'side' });
    await alice.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'linked without a restart' } });
    const [got] = await bob.collectEvents(1);
    assert.equal((got!.event as { text?: string }).text, 'linked without a restart');

    // A broken file beside the removal of side: refused whole, side stays linked.
    tree.write('bridges/side.yaml', 'endpoints: [{websocket: side}\n');
    mark = bridge.output().length;
    bridge.signal('SIGHUP');
    await waitForOutput(bridge, /reload refused \(what is in force stays\):\n[^\n]*bridges\/side\.yaml:\d+/, mark);
    await waitForOutput(bridge, /"msg":"mappings reload refused: the tables in force stay"/, mark);
    await alice.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'still linked' } });
    const [again] = await bob.collectEvents(1);
    assert.equal((again!.event as { text?: string }).text, 'still linked');
    assert.equal(bob.frames.some((f) => f.type === 'left'), false);

    bridge.signal('SIGTERM');
    assert.deepEqual(await bridge.exited, { code: 0, signal: null });
  } finally {
    tree.cleanup();
  }
});
