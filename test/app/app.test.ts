import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, UpgradeRefused } from '../helpers/ws-client.ts';
import { upgradeStatus } from '../helpers/raw-upgrade.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

const ALICE = 'sb_test_alice_token_for_app_tests_only';
const BOB = 'sb_test_bob_token_for_app_tests_only';

function appConfig(extra = ''): string {
  return [
    'http:\n  port: 8080\n',
    'websocket:\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
    extra,
  ].join('');
}

async function startOn(tree: ConfigTree): Promise<App> {
  // Port 0 overrides the configured 8080: tests never depend on a fixed port.
  return startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 });
}


describe('startApp (memory driver, HTTP on a free port)', () => {
  let tree: ConfigTree;
  let app: App;
  before(async () => {
    tree = makeConfigTree(appConfig(), { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - xmpp: lobby@muc.example.org\n' });
    app = await startOn(tree);
  });
  after(async () => {
    await app?.close();
    tree?.cleanup();
  });

  test('GET /healthz: 200 with bus driver and durability', async () => {
    assert.match(app.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(app.httpPort, 8080);
    const res = await fetch(`${app.httpUrl}/healthz`);
    assert.equal(res.status, 200);
    const body = await res.json() as Record<string, unknown>;
    assert.deepEqual({ status: body['status'], bus: body['bus'], durable: body['durable'] }, { status: 'ok', bus: 'memory', durable: false });
  });

  test('unknown paths are 404, for requests and for upgrades', async () => {
    assert.equal((await fetch(`${app.httpUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${app.httpUrl}/healthz`, { method: 'POST' })).status, 405);
    assert.match(await upgradeStatus(app.httpPort, '/elsewhere'), /^HTTP\/1\.1 404/);
    assert.match(await upgradeStatus(app.httpPort, '/apiws'), /^HTTP\/1\.1 404/, 'MTProto over WS is not served when mtproto is disabled');
  });

  test('a WS client connects through the app; a message reaches the other client of the room; /metrics counts it', async () => {
    assert.equal(wsUrlOf(app), `ws://127.0.0.1:${app.httpPort}/ws`);
    await assert.rejects(connectClient(wsUrlOf(app), 'sb_wrong'), (err: unknown) => err instanceof UpgradeRefused && err.status === 401);
    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby' });
      const ack = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello through the app' } });
      assert.equal(ack.type, 'ack');
      const [got] = await bob.collectEvents(1);
      assert.equal(got?.event.id, ack['id']);
      assert.equal(got?.event['text'], 'hello through the app');
      // The room also links an XMPP MUC, but no XMPP connector runs: nothing queues up for it.
      assert.equal((await app.bus.stats()).egressWaiting['xmpp'] ?? 0, 0);

      const health = await (await fetch(`${app.httpUrl}/healthz`)).json() as Record<string, unknown>;
      assert.deepEqual(health['connectors'], { websocket: { status: 'ok', detail: { connections: 2 } } });
      const res = await fetch(`${app.httpUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      const text = await res.text();
      const published = /^switchboard_bus_published_events_total (\d+)/m.exec(text);
      assert.ok(published && Number(published[1]) >= 1, 'published counter counts the message');
      assert.match(text, /^switchboard_process_/m);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});

describe('startApp: direct chats', () => {
  test('a direct chat between two WS users goes through the app (router, mapper); one to a network that does not run here is refused, nothing queues for it', async () => {
    const tree = makeConfigTree(appConfig(), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
    const app = await startOn(tree);
    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    try {
      const ack = await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'psst' } });
      assert.equal(ack.type, 'ack');
      const [got] = await bob.collectEvents(1);
      assert.deepEqual([got?.room, got?.event.id, got?.event['text']], ['@websocket:alice', ack['id'], 'psst']);
      const refused = await alice.request({ type: 'send', room: '@xmpp:romeo@example.org', event: { kind: 'message', text: 'hello?' } });
      assert.equal(refused['code'], 'unknown_room');
      assert.equal((await app.bus.stats()).egressWaiting['xmpp'] ?? 0, 0);
    } finally {
      await alice.close();
      await bob.close();
      await app.close();
      tree.cleanup();
    }
  });
});

describe('startApp: health, metrics switch, shutdown, failed start', () => {
  test('/healthz is 503 when the bus is down; /metrics is 404 when disabled; close() is idempotent and frees the port', async () => {
    const tree = makeConfigTree(appConfig().replace('port: 8080', 'port: 8080\n  metrics: false'), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
    const app = await startOn(tree);
    try {
      assert.equal((await fetch(`${app.httpUrl}/metrics`)).status, 404);
      await app.bus.close();
      const res = await fetch(`${app.httpUrl}/healthz`);
      assert.equal(res.status, 503);
      assert.equal((await res.json() as Record<string, unknown>)['status'], 'unavailable');
    } finally {
      await Promise.all([app.close(), app.close()]);
      tree.cleanup();
    }
    await assert.rejects(fetch(`${app.httpUrl}/healthz`), 'nothing listens after close');
  });

  test('a start that fails (port taken) rejects and leaves nothing running', async () => {
    const tree = makeConfigTree(appConfig(), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
    const first = await startOn(tree);
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      await assert.rejects(startApp(loaded, { logger: silentLogger, httpPortOverride: first.httpPort }), /EADDRINUSE/);
      assert.equal((await fetch(`${first.httpUrl}/healthz`)).status, 200, 'the first instance is unaffected');
    } finally {
      await first.close();
      tree.cleanup();
    }
  });
});
