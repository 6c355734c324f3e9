import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { say, texts, wsRoomsRig } from './ws-rooms-rig.ts';

/**
 * bridges/ `direction:` seen from WebSocket clients, on a real app (memory bus): a send-only WS
 * room (a source: only what is said in it is shown there), a receive-only one (a read-only
 * mirror: its sends are refused) and one both ways, in one canonical room; then a reload that
 * changes a room's direction. "Nothing arrived" is shown by a later message that did arrive: one
 * room's events reach a session in order.
 */

const ALICE = 'sb_test_alice_directions';
const BOB = 'sb_test_bob_directions';
const CAROL = 'sb_test_carol_directions';
const MOD = 'sb_test_mod_directions';
const BOT = 'sb_test_bot_directions';

const NEWS = [
  'endpoints:',
  '  - websocket: desk',
  '    direction: send-only',
  '  - websocket: readers',
  '    direction: receive-only',
  '  - websocket: talk',
  '',
].join('\n');

const rig = wsRoomsRig([
  { name: 'alice', token: ALICE }, { name: 'bob', token: BOB }, { name: 'carol', token: CAROL },
  { name: 'mod', token: MOD, moderator: true }, { name: 'bot', token: BOT, bot: true },
]);
after(() => rig.cleanup());
const start = () => rig.start({ 'bridges/news.yaml': NEWS });
const joined = rig.joined;

test('a send-only room reaches the others and shows only its own; a receive-only room shows the others and refuses posts', async () => {
  const { app } = await start();
  const desk = await joined(app, ALICE, 'desk');
  const desk2 = await joined(app, ALICE, 'desk');
  const readers = await joined(app, BOB, 'readers');
  const talk = await joined(app, CAROL, 'talk');
  const bot = await rig.client(app, BOT);
  await bot.request({ type: 'subscribe', room: 'news' });

  assert.deepEqual(desk.client.hello['directions'], { desk: 'send-only', readers: 'receive-only' }, 'hello names the rooms bridged one way');
  assert.equal(desk.joined['direction'], 'send-only', '`joined` says how the room is linked');
  assert.equal(readers.joined['direction'], 'receive-only');
  assert.equal('direction' in talk.joined, false, 'both ways is the default: not said');

  await say(desk.client, 'desk', 'from the desk');
  await say(talk.client, 'talk', 'from talk');
  const refused = await readers.client.request({ type: 'send', room: 'readers', event: { kind: 'message', text: 'from a reader' } });
  assert.equal(refused.type, 'error');
  assert.equal(refused['code'], 'forbidden');
  assert.match(String(refused['message']), /receive-only/);
  const reaction = await readers.client.request({ type: 'send', room: 'readers', event: { kind: 'reaction', target: 'x', reactions: ['👍'] } });
  assert.equal(reaction['code'], 'forbidden', 'every kind is refused, not only messages');
  await say(desk.client, 'desk', 'desk again');

  assert.deepEqual(await texts(readers.client, 3), ['from the desk', 'from talk', 'desk again'], 'the mirror gets everything, in order');
  assert.deepEqual(await texts(talk.client, 2), ['from the desk', 'desk again']);
  assert.deepEqual(await texts(desk2.client, 2), ['from the desk', 'desk again'], 'the desk shows its own sessions what they said, and nothing from talk');
  assert.deepEqual(await texts(bot, 3), ['from the desk', 'from talk', 'desk again'], 'the stream has everything said on the bridge; the refused post never entered it');
});

test('a replay matches live delivery; a send-only room is not shown another room\'s topic', async () => {
  const { app } = await start();
  const mod = await joined(app, MOD, 'talk');
  await say(mod.client, 'talk', 'before');
  const topic = await mod.client.request({ type: 'send', room: 'talk', event: { kind: 'topic', text: 'Read-only news' } });
  assert.equal(topic.type, 'ack');
  const deskSender = await joined(app, ALICE, 'desk');
  await say(deskSender.client, 'desk', 'desk line');

  const late = await rig.client(app, CAROL);
  const atDesk = await late.request({ type: 'join', room: 'desk', since: null });
  assert.equal('topic' in atDesk, false, 'the topic set in talk is not shown in the send-only desk');
  assert.deepEqual(await texts(late, 1), ['desk line'], 'replayed: only what was said at the desk');
  const atReaders = await late.request({ type: 'join', room: 'readers', since: null });
  assert.equal((atReaders['topic'] as { text?: string } | undefined)?.text, 'Read-only news');
  assert.deepEqual(await texts(late, 3), ['before', 'Read-only news', 'desk line']);
});

test('a reload that changes a room\'s direction: its sessions get `left` (redirected) and, joined again, are told the new one', async () => {
  const { app, tree } = await start();
  const readers = await joined(app, BOB, 'readers');
  const talk = await joined(app, CAROL, 'talk');
  const desk = await joined(app, ALICE, 'desk');

  // readers becomes both ways; desk receives only; talk unchanged.
  tree.write('bridges/news.yaml', 'endpoints:\n  - websocket: desk\n    direction: receive-only\n  - websocket: readers\n  - websocket: talk\n');
  assert.deepEqual(await app.reloadBridges(), { ok: true, rooms: 1, changes: [{ network: 'websocket', added: 0, removed: 0, moved: 0, redirected: 2 }] });
  assert.deepEqual(await readers.client.next((f) => f.type === 'left'), { type: 'left', room: 'readers', reason: 'redirected' });
  assert.deepEqual(await desk.client.next((f) => f.type === 'left'), { type: 'left', room: 'desk', reason: 'redirected' });
  assert.equal(talk.client.frames.some((f) => f.type === 'left'), false, 'a room whose direction did not change is not left');

  const again = await readers.client.request({ type: 'join', room: 'readers' });
  assert.equal('direction' in again, false);
  assert.equal((await desk.client.request({ type: 'join', room: 'desk' }))['direction'], 'receive-only');
  assert.equal((await desk.client.request({ type: 'send', room: 'desk', event: { kind: 'message', text: 'no' } }))['code'], 'forbidden');
  await say(readers.client, 'readers', 'readers may talk now');
  await say(talk.client, 'talk', 'talk after');
  assert.deepEqual(await texts(talk.client, 1), ['readers may talk now']);
  assert.deepEqual(await texts(desk.client, 2), ['readers may talk now', 'talk after'], 'the former source now receives');

  // `rooms` answers the lists as they are now; hello's stay as they were.
  assert.deepEqual(readers.client.hello['directions'], { desk: 'send-only', readers: 'receive-only' });
  const now = await readers.client.request({ type: 'rooms' });
  assert.deepEqual(now, { type: 'rooms', ref: now.ref, rooms: ['desk', 'readers', 'talk'], streams: [], directions: { desk: 'receive-only' } });

  // Only a direction changed: a refused reload of it leaves the one in force.
  tree.write('bridges/news.yaml', 'endpoints:\n  - websocket: desk\n    direction: sideways\n  - websocket: readers\n  - websocket: talk\n');
  const refused = await app.reloadBridges();
  assert.equal(refused.ok, false);
  assert.equal((await desk.client.request({ type: 'send', room: 'desk', event: { kind: 'message', text: 'still no' } }))['code'], 'forbidden');
});
