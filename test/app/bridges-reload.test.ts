import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

/**
 * bridges/ reloaded in a running app (what SIGHUP does): rooms linked, unlinked and moved while
 * the WS clients stay connected, and a reload with any problem refused whole, the rooms in force
 * unchanged. Real WS clients on a real app (memory bus).
 */

const ALICE = 'sb_test_alice_bridges_reload';
const BOB = 'sb_test_bob_bridges_reload';
const BOT = 'sb_test_bot_bridges_reload';
const OPS = 'sb_test_ops_bridges_reload';

const CONFIG = [
  'websocket:\n  tokens:\n',
  `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
  `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  `    - { name: bot, hash: "${hashToken(BOT)}", scope: bot }\n`,
  // Names a room: a reload that stops declaring it is refused (a restart would refuse it too).
  `    - { name: ops, hash: "${hashToken(OPS)}", rooms: [ops] }\n`,
].join('');

const trees: ConfigTree[] = [];
const apps: App[] = [];
after(async () => {
  for (const app of apps) await app.close();
  for (const tree of trees) tree.cleanup();
});

async function startWith(files: Record<string, string>): Promise<{ app: App; tree: ConfigTree }> {
  const tree = makeConfigTree(CONFIG, files);
  trees.push(tree);
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 });
  apps.push(app);
  return { app, tree };
}

async function metric(app: App, name: string): Promise<string> {
  const text = await app.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
}

async function says(from: TestClient, to: TestClient, room: string, text: string): Promise<void> {
  await from.request({ type: 'send', room, event: { kind: 'message', text } });
  const [got] = await to.collectEvents(1);
  assert.equal((got!.event as { text?: string }).text, text);
}

test('a room linked by a reload is joined and bridged at once; the clients already connected stay', async () => {
  const { app, tree } = await startWith({ 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n' });
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  const refused = await alice.request({ type: 'join', room: 'side' });
  assert.equal(refused['code'], 'unknown_room');

  tree.write('bridges/side.yaml', 'endpoints: [{websocket: side-a}, {websocket: side-b}]\n');
  const outcome = await app.reloadBridges();
  assert.deepEqual(outcome, { ok: true, rooms: 3, changes: [{ network: 'websocket', added: 2, removed: 0, moved: 0 }] });

  assert.equal((await alice.request({ type: 'join', room: 'side-a' }))['type'], 'joined');
  assert.equal((await bob.request({ type: 'join', room: 'side-b' }))['type'], 'joined');
  await says(alice, bob, 'side-a', 'across the new link');
  assert.match(await metric(app, 'switchboard_config_reloads_total'), /what="bridges",result="ok"} 1/);
  assert.match(await metric(app, 'switchboard_rooms'), /switchboard_rooms 3/);

  // Two reloads at once: the connectors are told of the new room once; the second reload finds
  // the first's table in force and changes nothing.
  tree.write('bridges/extra.yaml', 'endpoints: [{websocket: extra}]\n');
  const [first, second] = await Promise.all([app.reloadBridges(), app.reload()]);
  assert.deepEqual(first, { ok: true, rooms: 4, changes: [{ network: 'websocket', added: 1, removed: 0, moved: 0 }] });
  assert.deepEqual(second.ok ? [second.rooms, second.changes] : second, [4, []]);
  rmSync(join(tree.dir, 'bridges/extra.yaml'));
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 3, changes: [{ network: 'websocket', added: 0, removed: 1, moved: 0 }] });

  // The next reload compares with the table now in force.
  rmSync(join(tree.dir, 'bridges/side.yaml'));
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 2, changes: [{ network: 'websocket', added: 0, removed: 2, moved: 0 }] });
  assert.match(await metric(app, 'switchboard_rooms'), /switchboard_rooms 2/);
  await alice.close(); await bob.close();
});

test('an unlinked room: its joined sessions get `left` (unlinked), a bot its `unsubscribed`; sends are refused; the other rooms go on', async () => {
  const { app, tree } = await startWith({
    'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n', 'bridges/side.yaml': 'endpoints: [{websocket: side}]\n',
  });
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  const bot = await connectClient(wsUrlOf(app), BOT);
  for (const c of [alice, bob]) {
    await c.request({ type: 'join', room: 'side' });
    await c.request({ type: 'join', room: 'lobby' });
  }
  await bot.request({ type: 'subscribe', room: 'side' });
  await bot.request({ type: 'subscribe', room: 'lobby' });

  rmSync(join(tree.dir, 'bridges/side.yaml'));
  const outcome = await app.reloadBridges();
  assert.deepEqual(outcome, { ok: true, rooms: 2, changes: [{ network: 'websocket', added: 0, removed: 1, moved: 0 }] });

  for (const c of [alice, bob]) {
    const left = await c.next((f) => f.type === 'left');
    assert.deepEqual(left, { type: 'left', room: 'side', reason: 'unlinked' });
  }
  assert.deepEqual(await bot.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', room: 'side', reason: 'unlinked' });
  const send = await alice.request({ type: 'send', room: 'side', event: { kind: 'message', text: 'anyone?' } });
  assert.equal(send['code'], 'unknown_room');
  assert.equal((await alice.request({ type: 'join', room: 'side' }))['code'], 'unknown_room');
  assert.equal((await bot.request({ type: 'subscribe', room: 'side' }))['code'], 'unknown_room');

  // The lobby is untouched: the bot's stream and bob's membership go on.
  await says(alice, bob, 'lobby', 'still here');
  const [streamed] = await bot.collectEvents(1);
  assert.equal(streamed!.room, 'lobby');
  assert.equal(alice.frames.filter((f) => f.type === 'left').length, 1, 'only the unlinked room is left');
  for (const c of [alice, bob, bot]) await c.close();
});

test('a bot subscribed to a room without a WS endpoint is unsubscribed when that room is unlinked', async () => {
  // feed's only endpoint is on XMPP, which is off here: WS's own endpoints do not change.
  const { app, tree } = await startWith({
    'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n', 'bridges/feed.yaml': 'endpoints: [{xmpp: feed@muc.example.org}]\n',
  });
  const bot = await connectClient(wsUrlOf(app), BOT);
  assert.equal((await bot.request({ type: 'subscribe', room: 'feed' }))['type'], 'subscribed');
  rmSync(join(tree.dir, 'bridges/feed.yaml'));
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 2, changes: [] });
  assert.deepEqual(await bot.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', room: 'feed', reason: 'unlinked' });
  await bot.close();
});

test('a WS room moved to another canonical room: `left` (moved), and joined again it is bridged with its new room', async () => {
  const { app, tree } = await startWith({
    'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}, {websocket: annex}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n',
  });
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  await alice.request({ type: 'join', room: 'annex' });
  await bob.request({ type: 'join', room: 'lobby' });
  await says(alice, bob, 'annex', 'annex to lobby');

  // annex now belongs to ops; bob follows ops.
  tree.write('bridges/lobby.yaml', 'endpoints: [{websocket: lobby}]\n');
  tree.write('bridges/ops.yaml', 'endpoints: [{websocket: ops}, {websocket: annex}]\n');
  const outcome = await app.reloadBridges();
  assert.deepEqual(outcome, { ok: true, rooms: 2, changes: [{ network: 'websocket', added: 0, removed: 0, moved: 1 }] });
  assert.deepEqual(await alice.next((f) => f.type === 'left'), { type: 'left', room: 'annex', reason: 'moved' });
  assert.equal(bob.frames.some((f) => f.type === 'left'), false, 'lobby itself did not change');

  await bob.request({ type: 'join', room: 'ops' });
  assert.equal((await alice.request({ type: 'join', room: 'annex' }))['type'], 'joined');
  await alice.request({ type: 'send', room: 'annex', event: { kind: 'message', text: 'annex to ops' } });
  const [got] = await bob.collectEvents(1);
  assert.deepEqual([got!.room, (got!.event as { text?: string }).text, (got!.event as { room?: string }).room], ['ops', 'annex to ops', 'ops']);
  for (const c of [alice, bob]) await c.close();
});

test('a reload that only changes an endpoint\'s direction is a change: the router takes it and the connectors hear of it', async () => {
  const { app, tree } = await startWith({ 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby-a}, {websocket: lobby-b}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n' });
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  assert.equal((await alice.request({ type: 'join', room: 'lobby-a' }))['type'], 'joined');
  assert.equal((await bob.request({ type: 'join', room: 'lobby-b' }))['type'], 'joined');
  await says(alice, bob, 'lobby-a', 'both ways');

  tree.write('bridges/lobby.yaml', 'endpoints: [{websocket: lobby-a}, {websocket: lobby-b, direction: send-only}]\n');
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 2, changes: [{ network: 'websocket', added: 0, removed: 0, moved: 0, redirected: 1 }] });
  // lobby-b is a source now: alice's next message is not posted there, bob's still reaches her (after hers: ordered per room).
  await alice.request({ type: 'send', room: 'lobby-a', event: { kind: 'message', text: 'not for the source' } });
  await says(bob, alice, 'lobby-b', 'from the source');
  assert.deepEqual(bob.events.map((f) => (f.event as { text?: string }).text), ['both ways']);
  await alice.close();
  await bob.close();
});

test('a reload with any problem is refused whole (file:line:field) and the rooms in force stay', async () => {
  const { app, tree } = await startWith({ 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n' });
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  await alice.request({ type: 'join', room: 'lobby' });
  await bob.request({ type: 'join', room: 'lobby' });

  const refusals: [string, () => void, RegExp][] = [
    ['a YAML error, beside a good new room', () => {
      tree.write('bridges/side.yaml', 'endpoints: [{websocket: side}]\n');
      tree.write('bridges/broken.yaml', 'endpoints: [{websocket: x}\n');
    }, /broken\.yaml:\d+/],
    ['an endpoint linked twice', () => tree.write('bridges/broken.yaml', 'endpoints: [{websocket: lobby}]\n'), /websocket:lobby is already linked/],
    ['a room config.yaml names (token ops) no longer declared', () => rmSync(join(tree.dir, 'bridges/ops.yaml')), /websocket\.tokens\.3\.rooms\.0: no bridge declares room "ops"/],
    ['an endpoint of no known network', () => tree.write('bridges/broken.yaml', 'endpoints: [{irc: "#x"}]\n'), /broken\.yaml/],
  ];
  for (const [what, breakIt, expected] of refusals) {
    breakIt();
    const outcome = await app.reloadBridges();
    assert.equal(outcome.ok, false, what);
    if (outcome.ok) continue;
    assert.match(outcome.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'), expected, what);
    // Mend it for the next case.
    rmSync(join(tree.dir, 'bridges/broken.yaml'), { force: true });
    rmSync(join(tree.dir, 'bridges/side.yaml'), { force: true });
    tree.write('bridges/ops.yaml', 'endpoints: [{websocket: ops}]\n');
  }
  // Nothing of the refused tables came into force: side was never linked, lobby still bridges.
  assert.equal((await alice.request({ type: 'join', room: 'side' }))['code'], 'unknown_room');
  await says(alice, bob, 'lobby', 'unchanged');
  assert.equal(alice.frames.some((f) => f.type === 'left'), false);
  assert.match(await metric(app, 'switchboard_config_reloads_total'), /what="bridges",result="refused"} 4/);
  assert.match(await metric(app, 'switchboard_rooms'), /switchboard_rooms 2/);

  // The same folder, mended, reloads.
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 2, changes: [] });
  for (const c of [alice, bob]) await c.close();
});

test('a reload while shutting down is refused', async () => {
  const { app } = await startWith({ 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n' });
  const closing = app.close();
  const outcome = await app.reloadBridges();
  assert.equal(outcome.ok, false);
  await closing;
});
