// XEP-0425: a room moderator's removal of a message, announced by a real Prosody (Debian's
// prosody-modules mod_muc_moderation), reaches the other networks of the linked room: a WS
// client gets a `retract` with `moderation`, MTProto members see the message deleted, whoever
// sent it. An occupant cannot pass one off, and a participant cannot moderate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame } from '../helpers/ws-client.ts';
import { PEER, startRig } from '../fidelity/rig.ts';
import { startRoomRig } from './bridge-harness.ts';
import { NS, fromPuppet, isNewMessage, marks, messageOf, mtprotoNext, roomStanzaId, wsNext, xmppNext } from '../fidelity/observe.ts';

const MODERATE_LEGACY = 'urn:xmpp:message-moderate:0';
const MODERATE = 'urn:xmpp:message-moderate:1';
const RETRACT_LEGACY = 'urn:xmpp:message-retract:0';

/** XEP-0425 0.2's request, as Prosody's mod_muc_moderation of Debian 12 takes it. */
function moderate(room: string, stanzaId: string, reason?: string): Element {
  return xml('iq', { type: 'set', to: room },
    xml('apply-to', { xmlns: NS.fasten, id: stanzaId },
      xml('moderate', { xmlns: MODERATE_LEGACY }, xml('retract', { xmlns: RETRACT_LEGACY }), ...(reason !== undefined ? [xml('reason', {}, reason)] : []))));
}

test('a room moderator removes a WS user\'s and an MTProto user\'s message (XEP-0425 on Prosody): gone on WS and MTProto; an occupant\'s forged moderation and a participant\'s request change nothing', async (t) => {
  const rig = await startRig({ prosody: { mucModeration: true } });
  t.after(() => rig.close());
  const { roomJid } = rig;

  // Spam from carol (WS) and from Bob (MTProto), as alice sees it in the room.
  let m = marks(rig);
  const carolSpam = await rig.carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
  assert.equal(carolSpam.type, 'ack');
  const carolInRoom = await xmppNext(rig.alice, m.xmpp, (el) => fromPuppet(el, roomJid) && el.getChildText('body') === 'cheap watches', 'carol\'s message in the room');
  const carolOnMtproto = messageOf(await mtprotoNext(rig.botUpdates, m.mtproto, isNewMessage((msg) => msg.message === 'cheap watches'), 'carol\'s message on MTProto'));
  m = marks(rig);
  const bobSpam = await rig.bob.sendMessage(PEER, { message: 'cheaper watches' });
  const bobInRoom = await xmppNext(rig.alice, m.xmpp, (el) => fromPuppet(el, roomJid) && el.getChildText('body') === 'cheaper watches', 'Bob\'s message in the room');
  const bobOnWs = await wsNext(rig.dave, m.ws, (e) => e.kind === 'message' && e['text'] === 'cheaper watches', 'Bob\'s message on WS');

  // alice made the room, so she is its moderator: she removes carol's message, with a reason.
  m = marks(rig);
  await rig.alice.request(moderate(roomJid, roomStanzaId(carolInRoom, roomJid), 'spam'));
  const removed = await wsNext(rig.dave, m.ws, (e) => e.kind === 'retract', 'the moderator\'s retraction of carol\'s message');
  assert.equal(removed['target'], carolSpam['id']);
  assert.deepEqual(removed['moderation'], { reason: 'spam' });
  assert.deepEqual([(removed.sender as { network: string }).network, (removed.sender as { name?: string }).name], ['xmpp', 'Alice'], 'the moderator is its sender');
  const deleted = await mtprotoNext(rig.botUpdates, m.mtproto, (u) => u.className === 'UpdateDeleteMessages', 'the deletion on MTProto');
  assert.deepEqual(deleted['messages'], [carolOnMtproto.id]);

  // And Bob's, without a reason: deleted for every MTProto member, though nobody there sent the removal.
  m = marks(rig);
  await rig.alice.request(moderate(roomJid, roomStanzaId(bobInRoom, roomJid)));
  const removedBob = await wsNext(rig.dave, m.ws, (e) => e.kind === 'retract', 'the moderator\'s retraction of Bob\'s message');
  assert.equal(removedBob['target'], bobOnWs.id);
  assert.deepEqual(removedBob['moderation'], {});
  const deletedBob = await mtprotoNext(rig.botUpdates, m.mtproto, (u) => u.className === 'UpdateDeleteMessages', 'the deletion of Bob\'s message');
  assert.deepEqual(deletedBob['messages'], [bobSpam.id]);
  const left = await rig.bob.getMessages(PEER, { ids: [carolOnMtproto.id, bobSpam.id] });
  assert.ok(left.every((msg) => msg === undefined || msg.className === 'MessageEmpty'), 'both gone from the group\'s history');

  // A participant (not a moderator): Prosody refuses the request; and a message of hers that
  // carries a moderator's retraction (XEP-0425 0.3's elements, the room's alone to send) is not one.
  const mallory = await connectUser(rig.prosody, 'bob', 'mallory');
  t.after(() => mallory.stop());
  await mallory.joinMuc(roomJid, 'Mallory');
  m = marks(rig);
  await rig.alice.send(xml('message', { to: roomJid, type: 'groupchat', id: 'keep-1' }, xml('body', {}, 'keep this')));
  const aliceMessage = await wsNext(rig.dave, m.ws, (e) => e.kind === 'message' && e['text'] === 'keep this', 'alice\'s message');
  const aliceInRoom = await mallory.waitFor((el) => el.name === 'message' && el.attrs['id'] === 'keep-1', 'alice\'s message, as Mallory sees it');
  const aliceStanzaId = roomStanzaId(aliceInRoom, roomJid);
  await assert.rejects(mallory.request(moderate(roomJid, aliceStanzaId, 'mine now')), /forbidden/);
  m = marks(rig);
  await mallory.send(xml('message', { to: roomJid, type: 'groupchat', id: 'forged-1' },
    xml('retract', { xmlns: NS.retract, id: aliceStanzaId }, xml('moderated', { xmlns: MODERATE, by: `${roomJid}/Alice` }), xml('reason', {}, 'forged'))));
  await mallory.send(xml('message', { to: roomJid, type: 'groupchat', id: 'fence-1' }, xml('body', {}, 'fence')));
  await wsNext(rig.dave, m.ws, (e) => e.kind === 'message' && e['text'] === 'fence', 'the fence after the forgery');
  const since = rig.dave.events.slice(m.ws).map((f) => f.event);
  assert.deepEqual(since.filter((e) => e.kind === 'retract'), [], 'nothing retracted');
  assert.ok(aliceMessage.id);
});

test('a moderation announced while the component was away is caught up from the room archive, once', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t, {}, { mucModeration: true });
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  let since = alice.mark();
  const spam = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
  const inRoom = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'cheap watches', 'carol\'s message', { since });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'before')));
  await carol.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'before', 10_000);

  since = alice.mark();
  await bridge.stopXmpp();
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.attrs['type'] === 'unavailable', 'the relay leaving', { since });
  await alice.request(moderate(room, roomStanzaId(inRoom, room), 'spam'));
  await bridge.startXmpp();
  const removed = await carol.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'retract', 20_000) as EventFrame;
  assert.equal(removed.event['target'], spam['id']);
  assert.deepEqual(removed.event['moderation'], { reason: 'spam' });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'after')));
  await carol.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'after', 10_000);
  assert.deepEqual(carol.events.map((e) => e.event.kind).filter((k) => k !== 'presence'), ['message', 'retract', 'message'], 'the removal once, nothing else');
});
