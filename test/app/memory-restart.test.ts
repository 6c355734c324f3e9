import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

/**
 * The embedded defaults (memory bus, state file in ./data) across a restart of the app: the room
 * streams are gone, and a client resuming with a cursor from before the restart is told so
 * (cursor_expired), whether the room is still empty or already has new events, instead of being
 * refused as cursor_ahead or served only the new events as if it had missed nothing.
 */

const ALICE = 'sb_test_alice_memory_restart';
const BOB = 'sb_test_bob_memory_restart';
const BOT = 'sb_test_bot_memory_restart';

async function startOn(tree: ConfigTree): Promise<App> {
  return startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 });
}

/** The frames answering a join/subscribe with `ref`, up to a following ping's pong (answers come in order). */
async function answersTo(client: TestClient, frame: Record<string, unknown>): Promise<{ type: string; code?: unknown }[]> {
  const ref = `q${Math.random().toString(36).slice(2)}`;
  client.send({ ...frame, ref });
  const first = await client.next((f) => f.ref === ref);
  const out: { type: string; code?: unknown }[] = [{ type: first.type, ...(first['code'] !== undefined ? { code: first['code'] } : {}) }];
  if (first.type === 'error') return out;
  // A non-fatal cursor_expired follows the answer at once, before the replay's events.
  const pong = await client.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
  const expired = client.frames.filter((f) => f.type === 'error' && f.ref === ref);
  for (const e of expired) out.push({ type: 'error', code: e['code'] });
  return out;
}

test('memory bus: a cursor from before a restart gets cursor_expired, on an empty room and once new events exist', { timeout: 60_000 }, async () => {
  const tree = makeConfigTree([
    'http: { port: 8080 }\n',
    'websocket:\n  tokens:\n',
    `    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
    `    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
    `    - { name: bot, hash: "${hashToken(BOT)}", scope: bot }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n' });
  let app: App | undefined;
  try {
    app = await startOn(tree);
    assert.equal(app.bus.driver, 'memory');
    let alice = await connectClient(wsUrlOf(app), ALICE);
    let bob = await connectClient(wsUrlOf(app), BOB);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'one' } });
    await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'two' } });
    const [one] = await bob.collectEvents(2);
    assert.ok(one);
    const oldCursor = one.cursor; // bob processed "one"; "two" is after his cursor
    await alice.close();
    await bob.close();

    await app.close();
    app = await startOn(tree);

    // The room is empty now: the old cursor is not "ahead", it is from a run whose events are gone.
    bob = await connectClient(wsUrlOf(app), BOB);
    assert.deepEqual(await answersTo(bob, { type: 'join', room: 'lobby', since: oldCursor }), [{ type: 'joined' }, { type: 'error', code: 'cursor_expired' }]);
    const bot = await connectClient(wsUrlOf(app), BOT);
    assert.deepEqual(await answersTo(bot, { type: 'subscribe', room: 'lobby', since: oldCursor }), [{ type: 'subscribed' }, { type: 'error', code: 'cursor_expired' }]);

    // New events: the old cursor is still told that what came after it before the restart is lost,
    // and then gets this run's events.
    alice = await connectClient(wsUrlOf(app), ALICE);
    await alice.request({ type: 'join', room: 'lobby' });
    const three = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'three' } });
    const [live] = await bob.collectEvents(1);
    assert.equal(live?.event.id, three['id']);
    const late = await connectClient(wsUrlOf(app), BOB);
    assert.deepEqual(await answersTo(late, { type: 'join', room: 'lobby', since: oldCursor }), [{ type: 'joined' }, { type: 'error', code: 'cursor_expired' }]);
    assert.deepEqual((await late.collectEvents(1)).map((e) => e.event['text']), ['three']);
    const lateBot = await connectClient(wsUrlOf(app), BOT);
    assert.deepEqual(await answersTo(lateBot, { type: 'subscribe', room: 'lobby', since: oldCursor }), [{ type: 'subscribed' }, { type: 'error', code: 'cursor_expired' }]);
    assert.deepEqual((await lateBot.collectEvents(1)).map((e) => e.event['text']), ['three']);

    // This run's own cursors resume as always, without a notice; one past its newest event is still cursor_ahead.
    const fresh = await connectClient(wsUrlOf(app), BOB);
    assert.deepEqual(await answersTo(fresh, { type: 'join', room: 'lobby', since: live?.cursor }), [{ type: 'joined' }]);
    assert.deepEqual(await answersTo(fresh, { type: 'join', room: 'lobby', since: null }), [{ type: 'joined' }]);
    assert.deepEqual((await fresh.collectEvents(1)).map((e) => e.event['text']), ['three']);
    const [ms, seq] = (live?.cursor ?? '').split('-');
    assert.deepEqual(await answersTo(fresh, { type: 'join', room: 'lobby', since: `${ms}-${Number(seq) + 1}` }), [{ type: 'error', code: 'cursor_ahead' }]);

    for (const c of [alice, bob, bot, late, lateBot, fresh]) await c.close();
  } finally {
    await app?.close();
    tree.cleanup();
  }
});
