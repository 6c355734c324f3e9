import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRoomRig, startXmppBridge } from './bridge-harness.ts';
import { aliceChangesReachCarol, carolChangesReachAlice } from './exchange-steps.ts';

const SID = 'urn:xmpp:sid:0';

test('alice in a linked MUC and a WS client exchange messages, corrections, retractions, reactions, replies, links and formatting', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice'); // creates the room before the bridge's relay joins
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  // The relay occupant shows up in the room.
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');

  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  // WS -> XMPP: a formatted message arrives from carol's puppet, styled, with an origin-id.
  const since = alice.mark();
  const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello world', spans: [{ type: 'bold', offset: 6, length: 5 }] } });
  assert.equal(ack.type, 'ack');
  const fromCarol = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChild('body') !== undefined, 'carol\'s message', { since });
  assert.equal(fromCarol.getChildText('body'), 'hello *world*');
  const carolOriginId = fromCarol.getChild('origin-id', SID)?.attrs['id'] ?? '';
  assert.match(carolOriginId, new RegExp(`^sb-${String(ack['id'])}-[\\w-]{16}$`), 'origin-id: the canonical id, tagged');
  assert.equal(fromCarol.attrs['id'], carolOriginId);
  const carolStanzaId = fromCarol.getChild('stanza-id', SID)?.attrs['id'];
  assert.ok(carolStanzaId);

  // XMPP -> WS: alice's styled message arrives once, as canonical text + spans, from alice.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a1' }, xml('body', {}, 'hi _carol_'), xml('origin-id', { xmlns: SID, id: 'a1' })));
  const [e1] = await carol.collectEvents(1, 10_000);
  assert.equal(e1?.event.kind, 'message');
  assert.equal(e1?.event['text'], 'hi carol');
  assert.deepEqual(e1?.event['spans'], [{ type: 'italic', offset: 3, length: 5 }]);
  assert.equal((e1?.event['sender'] as { network: string; name: string }).network, 'xmpp');
  assert.equal((e1?.event['sender'] as { network: string; name: string }).name, 'Alice');
  const aliceEventId = e1?.event.id as string;

  // XMPP correction, reaction (by stanza-id) and reply (XEP-0461, fallback stripped) -> WS.
  await aliceChangesReachCarol(alice, carol, room, { aliceEventId, carolEventId: ack['id'], carolStanzaId });

  // XMPP OOB link -> WS message with a link span.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a5' }, xml('body', {}, 'https://example.org/cat.jpg'), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, 'https://example.org/cat.jpg'))));
  const [e5] = await carol.collectEvents(1, 10_000);
  assert.deepEqual(e5?.event['spans'], [{ type: 'link', offset: 0, length: 27, url: 'https://example.org/cat.jpg' }]);

  // XMPP retraction (by stanza-id) -> WS retract.
  const aliceReflection = alice.stanzas.find((el) => el.attrs['id'] === 'a1' && el.attrs['from'] === `${room}/Alice`) as Element;
  const aliceStanzaId = aliceReflection.getChild('stanza-id', SID)?.attrs['id'];
  assert.ok(aliceStanzaId);
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a6' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: aliceStanzaId }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:message-retract:1' }), xml('body', {}, 'retracted')));
  const [e6] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e6?.event.kind, e6?.event['target']], ['retract', aliceEventId]);

  // WS -> XMPP: edit, reaction, reply, retraction of carol's own message.
  await carolChangesReachAlice(alice, carol, room, { carolEventId: ack['id'], carolOriginId, carolStanzaId, aliceEventId, aliceStanzaId });

  // Nothing was bridged twice, and nothing of carol's came back to her. In the room, each of
  // carol's stanzas (message, correction, reaction, reply, retraction) came once: one origin-id
  // and one stanza-id each.
  const fromCarolInRoom = alice.stanzas.filter((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChild('origin-id', SID) !== undefined);
  const originIds = fromCarolInRoom.map((el) => el.getChild('origin-id', SID)?.attrs['id']);
  assert.equal(new Set(originIds).size, originIds.length, `a stanza of carol's reached the room twice: ${originIds.join(', ')}`);
  assert.equal(fromCarolInRoom.length, 5);
  await carol.request({ type: 'ping' });
  assert.equal(carol.events.length, 6);
  const stream = await bridge.bus.readStream('lobby', undefined, 100);
  const fromXmpp = stream.entries.filter((e) => e.event.origin.connector === 'xmpp' && e.event.kind !== 'presence');
  assert.equal(fromXmpp.length, 6, 'each of alice\'s stanzas became one event');
});

test('a room retraction that names the message by its origin-id, as Converse.js 14 sends it (XEP-0424 asks the room\'s stanza-id), retracts that message on WS', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'conv-1' }, xml('body', {}, 'to be retracted'), xml('origin-id', { xmlns: SID, id: 'conv-1' })));
  const [said] = await carol.collectEvents(1, 10_000);
  assert.equal(said?.event['text'], 'to be retracted');
  // Converse's retractOwnMessage: <retract id="<origin-id>"/>, a fallback body, a store hint.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'conv-2' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: 'conv-1' }),
    xml('body', {}, '/me retracted a message'), xml('store', { xmlns: 'urn:xmpp:hints' }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:message-retract:1' })));
  const [retracted] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([retracted?.event.kind, retracted?.event['target']], ['retract', said?.event.id]);
});
