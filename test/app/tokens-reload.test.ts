import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, UpgradeRefused, type TestClient } from '../helpers/ws-client.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

/**
 * config.yaml's WebSocket tokens reloaded in a running app (what SIGHUP does through
 * `app.reload()`): a token is added, revoked, rotated, narrowed or widened without a restart, for
 * the WebSocket and for media uploads alike; other changed settings are named as needing a
 * restart and stay; a config.yaml with any problem is refused whole. Real WS clients on a real app.
 */

const ALICE = 'sb_test_alice_tokens_reload';
const BOB = 'sb_test_bob_tokens_reload';
const CAROL = 'sb_test_carol_tokens_reload';
const BOB_ROTATED = 'sb_test_bob_rotated_tokens_reload';

interface TokenLine { name: string; token: string; extra?: string }

function configYaml(tokens: readonly TokenLine[], extra = ''): string {
  return [
    'websocket:\n  rateLimit: { perSecond: 1000, burst: 1000 }\n  tokens:\n',
    ...tokens.map((t) => `    - { name: ${t.name}, hash: "${hashToken(t.token)}"${t.extra !== undefined ? `, ${t.extra}` : ''} }\n`),
    extra,
  ].join('');
}

const BRIDGES = { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n', 'bridges/ops.yaml': 'endpoints: [{websocket: ops}]\n' };
const trees: ConfigTree[] = [];
const apps: App[] = [];
after(async () => {
  for (const app of apps) await app.close();
  for (const tree of trees) tree.cleanup();
});

async function startWith(tokens: readonly TokenLine[]): Promise<{ app: App; tree: ConfigTree }> {
  const tree = makeConfigTree(configYaml(tokens), BRIDGES);
  trees.push(tree);
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 });
  apps.push(app);
  return { app, tree };
}

/** How the server closed a client's connection, within 5 s. */
async function closedBy(client: TestClient): Promise<{ code: number; reason: string }> {
  return await Promise.race([client.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5_000))]);
}

async function upload(app: App, token: string): Promise<number> {
  const res = await fetch(`${app.httpUrl}/media?name=a.txt`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'hello' });
  await res.arrayBuffer();
  return res.status;
}

test('a token added by a reload connects at once; a removed one is cut off (1008 token revoked), refused at upgrade and for uploads', async () => {
  const { app, tree } = await startWith([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }]);
  await assert.rejects(connectClient(wsUrlOf(app), CAROL), (err) => err instanceof UpgradeRefused && err.status === 401);
  const bob = await connectClient(wsUrlOf(app), BOB);
  await bob.request({ type: 'join', room: 'lobby' });
  assert.equal(await upload(app, BOB), 201);

  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'carol', token: CAROL }]));
  const outcome = await app.reload();
  assert.equal(outcome.ok, true);
  if (!outcome.ok) return;
  assert.deepEqual([outcome.applied, outcome.needsRestart], [['websocket.tokens'], []]);
  const again = await app.reload();
  assert.deepEqual(again.ok ? [again.applied, again.needsRestart] : again, [[], []], 'the tokens applied are the ones in force: nothing changed since');

  assert.deepEqual(await closedBy(bob), { code: 1008, reason: 'token revoked' });
  await assert.rejects(connectClient(wsUrlOf(app), BOB), (err) => err instanceof UpgradeRefused && err.status === 401);
  assert.equal(await upload(app, BOB), 401, 'a revoked token uploads nothing');
  const carol = await connectClient(wsUrlOf(app), CAROL);
  const alice = await connectClient(wsUrlOf(app), ALICE);
  await carol.request({ type: 'join', room: 'lobby' });
  await alice.request({ type: 'join', room: 'lobby' });
  await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'welcome carol' } });
  assert.equal(((await carol.collectEvents(1))[0]!.event as { text?: string }).text, 'welcome carol');
  assert.equal(await upload(app, CAROL), 201);
  assert.match(await app.registry.metrics(), /switchboard_ws_closes_total\{reason="token revoked"\} 1/);
  for (const c of [carol, alice]) await c.close();
});

test('a rotated token (same name, new hash): the old secret is cut off, the new one connects', async () => {
  const { app, tree } = await startWith([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }]);
  const bob = await connectClient(wsUrlOf(app), BOB);
  const alice = await connectClient(wsUrlOf(app), ALICE);
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB_ROTATED }]));
  assert.equal((await app.reload()).ok, true);
  assert.deepEqual(await closedBy(bob), { code: 1008, reason: 'token revoked' });
  const rotated = await connectClient(wsUrlOf(app), BOB_ROTATED);
  assert.equal(rotated.hello['user'], 'bob');
  // alice's token did not change: her session goes on.
  assert.equal((await alice.request({ type: 'ping' }))['type'], 'pong');
  for (const c of [rotated, alice]) await c.close();
});

test('a token narrowed by a reload leaves what it may no longer use (left / unsubscribed: forbidden); widened, it may join; moderator follows', async () => {
  const { app, tree } = await startWith([{ name: 'alice', token: ALICE, extra: 'scope: bot' }, { name: 'bob', token: BOB, extra: 'rooms: [lobby]' }]);
  const alice = await connectClient(wsUrlOf(app), ALICE);
  const bob = await connectClient(wsUrlOf(app), BOB);
  for (const room of ['lobby', 'ops']) await alice.request({ type: 'join', room });
  await alice.request({ type: 'subscribe', room: 'ops' });
  await alice.request({ type: 'subscribe', room: 'lobby' });
  assert.equal((await bob.request({ type: 'join', room: 'ops' }))['code'], 'forbidden');
  await bob.request({ type: 'join', room: 'lobby' });
  const topic = { type: 'send', room: 'lobby', event: { kind: 'topic', text: 'new topic' } };
  assert.equal((await bob.request(topic))['code'], 'invalid_event', 'not a moderator yet');

  // alice: a client limited to lobby; bob: every room, and a moderator.
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE, extra: 'rooms: [lobby]' }, { name: 'bob', token: BOB, extra: 'moderator: true' }]));
  assert.equal((await app.reload()).ok, true);
  assert.deepEqual(await alice.next((f) => f.type === 'left'), { type: 'left', room: 'ops', reason: 'forbidden' });
  // ops: no longer in its rooms; lobby: still, but a client follows no stream.
  const unsubscribed = [await alice.next((f) => f.type === 'unsubscribed'), await alice.next((f) => f.type === 'unsubscribed')];
  assert.deepEqual(unsubscribed.map((f) => `${String(f['room'])}:${String(f['reason'])}`).sort(), ['lobby:forbidden', 'ops:forbidden']);
  assert.equal((await alice.request({ type: 'join', room: 'ops' }))['code'], 'forbidden');
  assert.equal((await alice.request({ type: 'subscribe', room: 'lobby' }))['code'], 'forbidden', 'no longer a bot');
  assert.equal(alice.frames.filter((f) => f.type === 'left').length, 1, 'lobby stays joined');
  const listed = await alice.request({ type: 'rooms' });
  assert.deepEqual([listed['rooms'], listed['streams']], [['lobby'], []], '`rooms` answers what the token may use now');

  assert.equal((await bob.request({ type: 'join', room: 'ops' }))['type'], 'joined');
  assert.equal((await bob.request(topic))['type'], 'ack', 'a moderator now, on the same connection');
  const [got] = await alice.collectEvents(1);
  assert.deepEqual([got!.room, (got!.event as { kind?: string }).kind], ['lobby', 'topic']);
  for (const c of [alice, bob]) await c.close();
});

test('other changed settings are named as needing a restart and stay; a config.yaml with any problem is refused whole', async () => {
  const { app, tree } = await startWith([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }]);
  const port = app.httpPort;
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }], 'http: { port: 1 }\nshutdown: { drainTimeoutMs: 1000 }\n'));
  const outcome = await app.reload();
  assert.equal(outcome.ok, true);
  if (outcome.ok) assert.deepEqual([outcome.applied, [...outcome.needsRestart].sort()], [[], ['http.port', 'shutdown.drainTimeoutMs']]);
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'still on the port it started on');

  // A schema error in config.yaml, beside a new room and a new token: nothing of it is put in force.
  tree.write('bridges/side.yaml', 'endpoints: [{websocket: side}]\n');
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'carol', token: CAROL }], 'http: { port: nope }\n'));
  const refused = await app.reload();
  assert.equal(refused.ok, false);
  if (!refused.ok) assert.match(refused.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), /^http\.port: /m);
  await assert.rejects(connectClient(wsUrlOf(app), CAROL), (err) => err instanceof UpgradeRefused && err.status === 401);
  const bob = await connectClient(wsUrlOf(app), BOB);
  assert.equal((await bob.request({ type: 'join', room: 'side' }))['code'], 'unknown_room');

  // Two tokens with one hash: refused too (a start would refuse it).
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }, { name: 'carol', token: BOB }]));
  const twice = await app.reload();
  assert.equal(twice.ok, false);
  if (!twice.ok) assert.match(twice.issues.map((i) => i.message).join('\n'), /the same hash is already used/);
  // Another bridges/ folder: read where this instance reads, so a restart is needed (refused, not half-applied).
  tree.write('elsewhere/lobby.yaml', 'endpoints: [{websocket: lobby}]\n');
  tree.write('elsewhere/ops.yaml', 'endpoints: [{websocket: ops}]\n');
  tree.write('config.yaml', configYaml([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }], 'bridgesDir: ./elsewhere\n'));
  const elsewhere = await app.reload();
  assert.equal(elsewhere.ok, false);
  if (!elsewhere.ok) assert.match(elsewhere.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), /^bridgesDir: bridgesDir changed .*restart/m);
  assert.match(await app.registry.metrics(), /switchboard_config_reloads_total\{what="all",result="refused"\} 3/);
  await bob.close();
});
