// XEP-0425: a room moderator's removal of a message, announced by a real Prosody (Debian's
// prosody-modules mod_muc_moderation), reaches the other networks of the linked room: a WS
// client gets a `retract` with `moderation`, MTProto members see the message deleted, whoever
// sent it. An occupant cannot pass one off, and a participant cannot moderate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { PEER, startRig } from '../fidelity/rig.ts';
import { startRoomRig, wsInLobby } from './bridge-harness.ts';
import { PNG, startMediaRig, storedFiles } from './media-rig.ts';
import { metricValue } from '../websocket/harness.ts';
import { waitFor } from '../helpers/wait.ts';
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


/**
 * carol says "cheap watches"; dave, a moderator token, removes it: her puppet retracts it (XEP-0424),
 * naming the room's stanza-id. Her message as the room reflected it, its canonical id, and alice's
 * mark from just before the removal (what the room says of it comes after).
 */
async function carolsSpamRetractedByPuppet(carol: TestClient, dave: TestClient, alice: TestUser, room: string): Promise<{ inRoom: Element; id: unknown; since: number }> {
  let since = alice.mark();
  const spam = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
  const inRoom = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'cheap watches', 'carol\'s message', { since });
  since = alice.mark();
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: spam['id'], moderation: {} } });
  const retraction = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChild('retract', NS.retract) !== undefined, 'carol\'s puppet retracting', { since });
  assert.equal(retraction.getChild('retract', NS.retract)?.attrs['id'], roomStanzaId(inRoom, room));
  return { inRoom, id: spam['id'], since };
}

test('a room moderator removes a WS user\'s and an MTProto user\'s message (XEP-0425 on Prosody): gone on WS and MTProto; an occupant\'s forged moderation and a participant\'s request change nothing', async (t) => {
  const rig = await startRig();
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
  assert.equal(await metricValue(rig.app.registry, 'switchboard_xmpp_inbound_total', { outcome: 'forged_moderation' }), 1, 'the forgery counted');
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

test('a WS moderator token removes an XMPP user\'s message through the relay (XEP-0425, once the bridge is the room\'s moderator) and a WS user\'s by their puppet\'s own retraction; the room\'s announcement is not bridged back', async (t) => {
  const { prosody, alice, room, bridge } = await startRoomRig(t, { moderators: ['dave'] }, { mucModeration: true });
  const [carol, dave] = await wsInLobby(t, bridge, 'carol', 'dave');
  assert.deepEqual([carol.hello['moderator'], dave.hello['moderator']], [false, true]);
  const isText = (text: string) => (f: { type: string }): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;
  const aliceSays = async (id: string, text: string): Promise<{ event: string; stanzaId: string }> => {
    const since = alice.mark();
    await alice.send(xml('message', { to: room, type: 'groupchat', id }, xml('body', {}, text)));
    const reflected = await alice.waitFor((el) => el.name === 'message' && el.attrs['id'] === id, `${id} reflected`, { since });
    const got = await dave.next(isText(text), 10_000) as EventFrame;
    return { event: got.event.id, stanzaId: roomStanzaId(reflected, room) };
  };
  const announcedFor = (stanzaId: string) => (el: Element): boolean => el.name === 'message' && el.attrs['from'] === room
    && el.getChild('apply-to', NS.fasten)?.attrs['id'] === stanzaId && el.getChild('apply-to', NS.fasten)?.getChild('moderated', MODERATE_LEGACY) !== undefined;

  // The relay is a plain participant of alice's room: the room refuses; nothing is removed, nothing retried.
  const first = await aliceSays('m1', 'first');
  const refused = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: first.event, moderation: { reason: 'spam' } } });
  assert.equal(refused.type, 'ack', 'a moderator\'s removal is taken whatever a room will do with it');
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_moderations_total', { outcome: 'not_done' }) === 1, { what: 'the room refusing the relay' });

  // Not in a direct chat: there is nobody to moderate.
  const inDirect = await dave.request({ type: 'send', room: '@websocket:carol', event: { kind: 'retract', target: first.event, moderation: {} } });
  assert.deepEqual([inDirect.type, inDirect['code']], ['error', 'invalid_event']);
  assert.match(String(inDirect['message']), /^event\.moderation: only a moderator token .*, in a bridged room/);

  // alice makes the bridge's address an admin of the room: the relay is now a moderator there.
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));
  const second = await aliceSays('m2', 'second');
  let since = alice.mark();
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: second.event, moderation: { reason: 'spam' } } });
  const announced = await alice.waitFor(announcedFor(second.stanzaId), 'the room announcing the relay\'s moderation', { since });
  const moderated = announced.getChild('apply-to', NS.fasten)?.getChild('moderated', MODERATE_LEGACY);
  assert.equal(moderated?.attrs['by'], `${room}/Switchboard`);
  assert.equal(moderated?.getChildText('reason'), 'spam');

  // carol's message: her own puppet retracts it (XEP-0424, what Conversations and Dino show), and
  // the relay removes it as the room's moderator too (XEP-0425, what Converse.js shows).
  const removed = await carolsSpamRetractedByPuppet(carol, dave, alice, room);
  const inRoom = removed.inRoom;
  since = removed.since;
  await alice.waitFor(announcedFor(roomStanzaId(inRoom, room)), 'the room announcing the relay\'s moderation of carol\'s message', { since });

  // Nothing came back: after a fence, carol has dave's two removals and the first one's target is still in the room.
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(carol.events.filter((e) => e.event.kind === 'retract').map((e) => [e.event['target'], (e.event.sender as { id: string }).id]),
    [[first.event, 'dave'], [second.event, 'dave'], [removed.id, 'dave']]);
  assert.equal(alice.stanzas.filter(announcedFor(first.stanzaId)).length, 0, 'the first message was not removed');
  assert.deepEqual(await Promise.all(['moderated', 'retracted', 'not_done'].map((outcome) => metricValue(bridge.registry, 'switchboard_xmpp_moderations_total', { outcome }))), [2, 1, 1]);
});

test('a WS moderator\'s removal of a message with files whose puppet has left the room: the relay removes its every piece (XEP-0425)', async (t) => {
  const rig = await startMediaRig(t, { '/a.png': { type: 'image/png', body: PNG }, '/b.png': { type: 'image/png', body: PNG } },
    { bridge: { moderators: ['dave'] }, prosody: { mucModeration: true } });
  const { alice, room, bridge, prosody } = rig;
  const [carol] = await wsInLobby(t, bridge, 'carol');
  const files = await storedFiles(rig, carol, ['a.png', 'b.png']);
  let since = alice.mark();
  const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'two files', attachments: files } });
  const fromCarol = (el: Element): boolean => el.name === 'message' && el.attrs['from'] === `${room}/Carol`;
  const pieces = [await alice.waitFor((el) => fromCarol(el) && el.getChildText('body') === 'two files', 'the text', { since })];
  for (const f of files) pieces.push(await alice.waitFor((el) => fromCarol(el) && el.getChildText('body') === f.url, f.name, { since }));
  const stanzaIds = pieces.map((el) => roomStanzaId(el, room));

  // carol goes offline: her puppet leaves the room, so only the relay can remove what it said.
  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state: 'offline' } });
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Carol` && el.attrs['type'] === 'unavailable', 'carol\'s puppet leaving', { since });
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));

  const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });
  since = alice.mark();
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ack['id'], moderation: { reason: 'spam' } } });
  const removed = new Set<string>();
  for (let i = 0; i < stanzaIds.length; i++) {
    const el = await alice.waitFor((m) => m.name === 'message' && m.attrs['from'] === room && m.getChild('apply-to', NS.fasten) !== undefined
      && !removed.has(m.getChild('apply-to', NS.fasten)?.attrs['id'] ?? ''), `the room's moderation ${i + 1}`, { since });
    removed.add(el.getChild('apply-to', NS.fasten)?.attrs['id'] ?? '');
  }
  assert.deepEqual([...removed].sort(), [...stanzaIds].sort(), 'the text and both files');
  // Counted once the room answered the last request, which may come after alice saw its broadcast.
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_moderations_total', { outcome: 'moderated' }) >= 1, { what: 'the removal counted' });
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_moderations_total', { outcome: 'moderated' }), 1, 'one removal (of one message)');
});

test('in a room without message moderation (no mod_muc_moderation), a WS moderator\'s removal is carried out where it can be: a puppet\'s message by its retraction; an XMPP user\'s is not removed, counted', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t, { moderators: ['dave'] });
  const [carol, dave] = await wsInLobby(t, bridge, 'carol', 'dave');
  const moderations = (outcome: string): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_moderations_total', { outcome });

  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'u1' }, xml('body', {}, 'alice\'s')));
  const hers = (await dave.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'alice\'s', 10_000) as EventFrame).event;
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: hers.id, moderation: {} } });
  await waitFor(async () => await moderations('not_done') === 1, { what: 'the removal counted as not done' });

  await carolsSpamRetractedByPuppet(carol, dave, alice, room);
  await waitFor(async () => await moderations('retracted') === 1, { what: 'the puppet\'s retraction counted' });
  assert.deepEqual([await moderations('moderated'), await moderations('not_done')], [0, 1], 'no moderation, and the puppet\'s message counts as done');
  assert.equal(alice.stanzas.filter((el) => el.name === 'message' && el.attrs['from'] === room && el.getChild('apply-to', NS.fasten) !== undefined).length, 0);
});
