import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { freePort } from '../helpers/ports.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge, waitForOutput, type BridgeProcess } from '../e2e/bridge-process.ts';

/**
 * mappings/ changes on SIGHUP, on a real `switchboard start` process: a valid change is in force
 * for the next deliveries without a restart; a broken one is refused with file:line:field and the
 * tables in force stay. What a WS client sees proves it: alice's presence flaps reach bob one by one
 * without a window, and coalesced with one.
 */

const ALICE = 'sb_test_alice_sighup';
const BOB = 'sb_test_bob_sighup';

after(async () => { await killAllBridges(); });

const IDENTITIES = 'identities:\n  - canonical: carol\n    xmpp: carol@example.org\n';
const presenceYaml = (coalesceMs: number) => `states:\n  xmpp:\n    available: available\n    away: away\ncoalesceMs: ${coalesceMs}\n`;

async function metric(bridge: BridgeProcess, line: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${bridge.httpUrl}/metrics`)).text();
  return text.split('\n').find((l) => line.test(l));
}

/** Alice changes her presence through `states`, then says `marker`; answers what bob receives up to that message. */
async function flapThenSpeak(alice: TestClient, bob: TestClient, states: readonly string[], marker: string): Promise<string[]> {
  for (const state of states) {
    await alice.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state } });
  }
  await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: marker } });
  const seen: string[] = [];
  for (;;) {
    const [frame] = await bob.collectEvents(1, 10_000);
    const e = frame!.event as { kind: string; state?: string; text?: string };
    seen.push(e.kind === 'presence' ? `presence:${e.state}` : `${e.kind}:${e.text}`);
    if (e.kind === 'message' && e.text === marker) return seen;
  }
}

test('SIGHUP applies a changed mappings/ without a restart, and refuses a broken one (file:line:field) keeping the old tables', async () => {
  const port = await freePort();
  const tree = makeConfigTree([
    `http: { port: ${port} }\n`,
    'websocket:\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), {
    'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n',
    'mappings/identities.yaml': IDENTITIES,
    'mappings/presence.yaml': presenceYaml(0),
  });
  try {
    const bridge = await spawnBridge(tree.configFile);
    const alice = await connectClient(bridge.wsUrl, ALICE);
    const bob = await connectClient(bridge.wsUrl, BOB);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });

    // No window: every change reaches bob.
    assert.deepEqual(await flapThenSpeak(alice, bob, ['away', 'available', 'away'], 'one'),
      ['presence:away', 'presence:available', 'presence:away', 'message:one']);
    assert.match(await metric(bridge, /^switchboard_mapper_identities /) ?? '', / 1$/);

    // A one-minute window and one more identity, in force at SIGHUP.
    tree.write('mappings/presence.yaml', presenceYaml(60_000));
    tree.write('mappings/identities.yaml', `${IDENTITIES}  - canonical: dave\n    mtproto: 4242\n`);
    let mark = bridge.output().length;
    bridge.signal('SIGHUP');
    await waitForOutput(bridge, /"msg":"mappings reloaded"/, mark);
    assert.match(await metric(bridge, /^switchboard_mapper_identities /) ?? '', / 2$/);
    // The first change goes at once and opens the window; back again within it is a no-op: nothing more.
    assert.deepEqual(await flapThenSpeak(alice, bob, ['available', 'away', 'available'], 'two'), ['presence:available', 'message:two']);

    // A broken identities.yaml (one account claimed twice), together with a window of 0: refused, all of it.
    tree.write('mappings/presence.yaml', presenceYaml(0));
    tree.write('mappings/identities.yaml', `${IDENTITIES}  - canonical: erin\n    xmpp: carol@example.org\n`);
    mark = bridge.output().length;
    bridge.signal('SIGHUP');
    const refusal = await waitForOutput(bridge, /identities\.yaml:5: identities\.1\.xmpp: xmpp:carol@example\.org already appears in identities\.0[^\n"]*/, mark);
    assert.ok(refusal);
    await waitForOutput(bridge, /"msg":"mappings reload refused: the tables in force stay"/, mark);
    assert.match(await metric(bridge, /^switchboard_mapper_reloads_total\{result="refused"\}/) ?? '', / 1$/);
    assert.match(await metric(bridge, /^switchboard_mapper_identities /) ?? '', / 2$/, 'the identities in force are still the two');
    // Still the one-minute window (still open, too): away waits, back is a no-op, away again waits and goes out ahead of the message.
    assert.deepEqual(await flapThenSpeak(alice, bob, ['away', 'available', 'away'], 'three'), ['presence:away', 'message:three']);

    // Still serving, and it still stops cleanly.
    bridge.signal('SIGTERM');
    assert.deepEqual(await bridge.exited, { code: 0, signal: null });
  } finally {
    tree.cleanup();
  }
});
