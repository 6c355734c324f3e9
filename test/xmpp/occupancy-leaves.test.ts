// Our occupants leaving a room as a bridges/ reload unlinks it (Occupancies.leaveRoom), and a join
// that follows a leave at once (the room linked again): the join waits for the room's answer to
// the leave, so each answer is taken for what it answers. Against real rooms: room-reload.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parse from '@xmpp/xml/lib/parse.js';
import type { Element } from '@xmpp/xml';
import { Occupancies } from '../../src/connectors/xmpp/occupancy.ts';
import { parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';
import { silentLogger } from '../../src/core/logger.ts';

const room = 'lobby@muc.example.org';
const relay = 'bridge.example.org/relay';
const puppet = 'websocket.carol@bridge.example.org/switchboard';
const selfPresence = (nick: string, to: string, type?: 'unavailable') => parsePresence(parse(
  `<presence from='${room}/${nick}' to='${to}'${type ? ` type='${type}'` : ''}><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='${type ? 'none' : 'participant'}'/><status code='110'/></x></presence>`));
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function rig(joinTimeoutMs = 5_000) {
  const sent: Element[] = [];
  const removed: string[] = [];
  const occupancies = new Occupancies(async (el) => { sent.push(el); }, { joinTimeoutMs, maxNickAttempts: 3 }, silentLogger,
    (r, realJid, reason) => { removed.push(`${r} ${realJid} ${reason}`); });
  return { sent, removed, occupancies };
}

test('leaveRoom: the relay and every puppet in the room leave with the status given, joined or still joining; other rooms\' occupants stay', async () => {
  const { sent, occupancies } = rig();
  const other = 'dev@muc.example.org';
  const relayIn = occupancies.ensureJoined(room, relay, 'Switchboard', 'xmpp');
  occupancies.onPresence(selfPresence('Switchboard', relay));
  await relayIn;
  const puppetJoining = occupancies.ensureJoined(room, puppet, 'Carol', 'websocket'); // no answer yet
  const elsewhere = occupancies.ensureJoined(other, relay, 'Switchboard', 'xmpp');
  occupancies.onPresence(parsePresence(parse(`<presence from='${other}/Switchboard' to='${relay}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>`)));
  await elsewhere;
  const before = sent.length;

  assert.deepEqual(await occupancies.leaveRoom(room, 'unlinked by the operator'), { left: 2, failed: 0 });
  const leaves = sent.slice(before);
  assert.deepEqual(leaves.map((el) => [el.attrs['type'], el.attrs['from'], el.attrs['to'], el.getChildText('status')]), [
    ['unavailable', relay, `${room}/Switchboard`, 'unlinked by the operator'],
    ['unavailable', puppet, `${room}/Carol`, 'unlinked by the operator'],
  ]);
  await assert.rejects(puppetJoining, /left/, 'the join under way is over');
  assert.equal(occupancies.isOurs(room, 'Switchboard'), false);
  assert.equal(occupancies.isOurs(room, 'Carol'), false);
  assert.equal(occupancies.nickOf(other, relay), 'Switchboard', 'the other room untouched');
  assert.deepEqual(await occupancies.leaveRoom(room, 'again'), { left: 0, failed: 0 }, 'nobody left to leave: nothing sent');
  assert.equal(sent.length, before + 2);
});

test('a join right after a leave waits for the room\'s answer to the leave: the stale answer to an earlier join is not taken for it, and the leave\'s answer is no removal', async () => {
  const { sent, removed, occupancies } = rig();
  // linked: the join goes out, unanswered yet; unlinked: the leave goes out; linked again: the join waits.
  void occupancies.ensureJoined(room, relay, 'Switchboard', 'xmpp').catch(() => {});
  await occupancies.leaveRoom(room, 'unlinked');
  const again = occupancies.ensureJoined(room, relay, 'Switchboard', 'xmpp');
  let settled = false;
  void again.then(() => { settled = true; }, () => { settled = true; });
  assert.deepEqual(sent.map((el) => el.attrs['type'] ?? 'join'), ['join', 'unavailable'], 'no second join before the leave is answered');

  occupancies.onPresence(selfPresence('Switchboard', relay)); // the room's answer to the first join
  await tick();
  assert.equal(settled, false, 'the first join\'s answer does not complete the second');
  assert.equal(occupancies.isOurs(room, 'Switchboard'), false);
  occupancies.onPresence(selfPresence('Switchboard', relay, 'unavailable')); // the answer to the leave
  await tick();
  assert.deepEqual(sent.map((el) => el.attrs['type'] ?? 'join'), ['join', 'unavailable', 'join'], 'now the join');
  assert.deepEqual(removed, [], 'the leave\'s answer is no removal');
  occupancies.onPresence(selfPresence('Switchboard', relay));
  assert.equal(await again, 'Switchboard');
  assert.equal(occupancies.nickOf(room, relay), 'Switchboard');
});

test('a leave the room never answers holds a later join up for the join timeout at most; a lost stream ends the wait at once', async () => {
  const { sent, occupancies } = rig(200);
  const joined = occupancies.ensureJoined(room, puppet, 'Carol', 'websocket');
  occupancies.onPresence(selfPresence('Carol', puppet));
  await joined;
  await occupancies.leave(room, puppet);
  const started = Date.now();
  const again = occupancies.ensureJoined(room, puppet, 'Carol', 'websocket');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(sent.at(-1)?.attrs['type'], undefined, 'joined after the timeout');
  assert.ok(Date.now() - started >= 200);
  occupancies.onPresence(selfPresence('Carol', puppet));
  assert.equal(await again, 'Carol');

  await occupancies.leave(room, puppet);
  const count = sent.length;
  const third = occupancies.ensureJoined(room, puppet, 'Carol', 'websocket');
  occupancies.reset();
  await tick();
  assert.equal(sent.length, count + 1, 'the stream lost: the wait for the leave ends at once');
  third.catch(() => {});
  assert.deepEqual(await Promise.race([occupancies.leftFrom(room, puppet).then(() => 'none waiting'), tick().then(() => 'waiting')]), 'none waiting');
});
