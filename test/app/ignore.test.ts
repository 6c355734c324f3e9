import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.ts';
import { say, texts, wsRoomsRig } from './ws-rooms-rig.ts';

/**
 * bridges/ `ignore:` on a real app (memory bus), seen from WebSocket clients: two WS rooms of one
 * canonical room stand for two networks. What the rules match stays where it was said (its room's
 * other sessions see it), reaches the other room neither live nor in a replay or a history page,
 * and is in the canonical stream a bot reads; a reload changes the rules without a restart.
 * "Nothing arrived" is shown by a later message that did: one room's events reach a session in order.
 */

const ALICE = 'sb_test_alice_ignore';
const BOB = 'sb_test_bob_ignore';
const CI = 'sb_test_ci_ignore';
const BOT = 'sb_test_bot_ignore';

const WITH_RULES = [
  'endpoints:',
  '  - websocket: here',
  '  - websocket: there',
  'ignore:',
  '  senders:',
  '    - websocket: ci',
  '  messages:',
  '    - "^!"',
  '',
].join('\n');

const WITHOUT_RULES = 'endpoints:\n  - websocket: here\n  - websocket: there\n';

const rig = wsRoomsRig([{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }, { name: 'ci', token: CI }, { name: 'bot', token: BOT, bot: true }]);
after(() => rig.cleanup());
const start = () => rig.start({ 'bridges/talk.yaml': WITH_RULES });
const client = rig.client;
const joined = async (app: App, token: string, room: string) => (await rig.joined(app, token, room)).client;

async function ignoredCount(app: App, rule: string): Promise<number> {
  const metric = await app.registry.getSingleMetric('switchboard_router_ignored_total')?.get();
  return metric?.values.find((v) => v.labels['rule'] === rule)?.value ?? 0;
}

test('what the rules match stays where it was said: not relayed live, replayed or paged, but in the bot\'s stream', async () => {
  const { app } = await start();
  const here = await joined(app, ALICE, 'here');
  const hereToo = await joined(app, BOB, 'here');
  const there = await joined(app, BOB, 'there');
  const ci = await joined(app, CI, 'there');
  const bot = await client(app, BOT);
  await bot.request({ type: 'subscribe', room: 'talk' });

  await say(here, 'here', '!deploy');
  await say(ci, 'there', 'build 41 passed');
  const typing = await ci.request({ type: 'send', room: 'there', event: { kind: 'typing', state: 'active' } });
  assert.equal(typing.type, 'ack', 'an ignored sender is not refused: what it does just stays in its room');
  await say(here, 'here', 'hello');
  await say(there, 'there', 'hi alice');

  assert.deepEqual(await texts(there, 3), ['build 41 passed', '(typing)', 'hello'], 'the CI bot is shown in its own room; the command did not reach it');
  assert.deepEqual(await texts(hereToo, 2), ['!deploy', 'hello'], 'the room it was said in still shows it to its other sessions');
  assert.deepEqual(await texts(here, 1), ['hi alice'], 'what the CI bot said and did did not reach here');
  assert.equal(here.frames.some((f) => f.type === 'event' && (f.event as { kind: string }).kind === 'typing'), false);
  assert.deepEqual(await texts(bot, 5), ['!deploy', 'build 41 passed', '(typing)', 'hello', 'hi alice'], 'the bot following the canonical stream gets everything');
  assert.equal(await ignoredCount(app, 'message'), 1);
  assert.equal(await ignoredCount(app, 'sender'), 2);

  // A late joiner's replay and a history page of `there` match live delivery.
  const late = await client(app, BOB);
  const rejoined = await late.request({ type: 'join', room: 'there', since: null });
  assert.equal(rejoined.type, 'joined');
  assert.deepEqual(await texts(late, 4), ['build 41 passed', '(typing)', 'hello', 'hi alice'], 'replayed: what the CI bot did there, not the command');
  const page = await late.request({ type: 'history', room: 'here' });
  assert.deepEqual((page['events'] as { event: { text: string } }[]).map((e) => e.event.text), ['!deploy', 'hello', 'hi alice']);
  assert.equal(await ignoredCount(app, 'message'), 1, 'a replay or a page asking where an event went is not counted again');
});

test('a reload changes the rules in force without a restart; one with a bad pattern changes nothing', async () => {
  const { app, tree } = await start();
  const here = await joined(app, ALICE, 'here');
  const there = await joined(app, BOB, 'there');

  tree.write('bridges/talk.yaml', WITHOUT_RULES);
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 1, changes: [] });
  await say(here, 'here', '!deploy now relayed');
  assert.deepEqual(await texts(there, 1), ['!deploy now relayed']);

  tree.write('bridges/talk.yaml', WITH_RULES.replace('"^!"', '"(?i)secret"'));
  assert.equal((await app.reloadBridges()).ok, true);
  await say(here, 'here', 'the SECRET plan');
  await say(here, 'here', '!status');
  assert.deepEqual(await texts(there, 1), ['!status'], 'the new pattern is in force, the old one gone');

  tree.write('bridges/talk.yaml', WITH_RULES.replace('"^!"', '"(?<=x)"'));
  const refused = await app.reloadBridges();
  assert.equal(refused.ok, false);
  assert.match(JSON.stringify(refused), /ignore\.messages\.0.*not an RE2 pattern/);
  await say(here, 'here', 'another secret');
  await say(here, 'here', 'public');
  assert.deepEqual(await texts(there, 1), ['public'], 'the rules in force stayed');
});

test('config.yaml\'s ignore: holds in every room beside each room\'s own, and a reload of either changes it without a restart', async () => {
  const SHARED = 'ignore:\n  senders:\n    - websocket: ci\n';
  const { app, tree } = await rig.start({ 'bridges/talk.yaml': WITH_RULES.replace('    - websocket: ci\n', '    - websocket: bob\n'), 'bridges/side.yaml': 'endpoints:\n  - websocket: a\n  - websocket: b\n' }, SHARED);
  const ciInA = await joined(app, CI, 'a');
  const aliceInB = await joined(app, ALICE, 'b');
  const ciHere = await joined(app, CI, 'here');
  const there = await joined(app, ALICE, 'there');
  // side has no rules of its own: config.yaml's keep ci's line in its room.
  await say(ciInA, 'a', 'ci in a');
  await say(aliceInB, 'b', 'alice in b');
  await say(ciInA, 'a', 'ci again');
  assert.equal(aliceInB.events.length, 0, 'nothing of ci\'s reached b');
  // talk: config.yaml's sender and its own pattern both hold.
  await say(ciHere, 'here', 'ci here');
  await say(ciHere, 'here', '!x');
  const bobHere = await joined(app, BOB, 'here');
  await say(bobHere, 'here', 'bob is ignored in talk');
  const aliceHere = await joined(app, ALICE, 'here');
  await say(aliceHere, 'here', 'alice here');
  assert.deepEqual(await texts(there, 1), ['alice here']);
  // config.yaml's senders keep their direct chats on their network too: ci's to another WS token
  // goes (it never leaves WebSocket); one to another network is refused, saying why.
  const dmTo = (client: typeof ciInA, room: string) => client.request({ type: 'send', room, event: { kind: 'message', text: 'psst' } });
  assert.equal((await dmTo(ciInA, '@websocket:alice'))['type'], 'ack');
  assert.equal((await texts(aliceInB, 1))[0], 'psst', 'alice got ci\'s direct message');
  const refused = await dmTo(ciInA, '@xmpp:bob@example.org');
  assert.deepEqual([refused['type'], refused['code']], ['error', 'forbidden'], JSON.stringify(refused));
  assert.equal((await dmTo(aliceInB, '@xmpp:bob@example.org'))['code'], 'unknown_room', 'alice is not ignored: the network just takes no direct chats here');

  // config.yaml without its rules: a full reload puts that in force (and needs no restart).
  tree.write('config.yaml', rig.configYaml());
  const reloaded = await app.reload();
  assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
  assert.ok(reloaded.ok && reloaded.needsRestart.length === 0 && reloaded.applied.some((p) => p.startsWith('ignore')), JSON.stringify(reloaded));
  await say(ciInA, 'a', 'ci now relayed');
  assert.deepEqual(await texts(aliceInB, 1), ['ci now relayed']);
  assert.equal((await dmTo(ciInA, '@xmpp:bob@example.org'))['code'], 'unknown_room', 'ci\'s direct chats are no longer kept back');

  // And back; then a reload of bridges/ alone keeps config.yaml's rules in force.
  tree.write('config.yaml', rig.configYaml(SHARED));
  assert.equal((await app.reload()).ok, true);
  assert.equal((await app.reloadBridges()).ok, true);
  await say(ciInA, 'a', 'ci kept back again');
  await say(ciInA, 'a', 'and again');
  const aliceInA = await joined(app, ALICE, 'a');
  await say(aliceInA, 'a', 'alice in a');
  assert.deepEqual(await texts(aliceInB, 1), ['alice in a']);
});
