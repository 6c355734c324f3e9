import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRoomRig, startXmppBridge } from './bridge-harness.ts';

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
  let since = alice.mark();
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

  // XMPP correction -> WS edit of that event.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a2' }, xml('body', {}, 'hi carol!'), xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'a1' })));
  const [e2] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e2?.event.kind, e2?.event['target'], e2?.event['text']], ['edit', aliceEventId, 'hi carol!']);

  // XMPP reaction (by stanza-id) -> WS reaction on carol's message.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a3' }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: carolStanzaId }, xml('reaction', {}, '👍'))));
  const [e3] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e3?.event.kind, e3?.event['target'], e3?.event['reactions']], ['reaction', ack['id'], ['👍']]);

  // XMPP reply (XEP-0461, fallback stripped) -> WS message with replyTo.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a4' }, xml('body', {}, '> Carol:\n> hello world\nindeed'),
    xml('reply', { xmlns: 'urn:xmpp:reply:0', id: carolStanzaId, to: `${room}/Carol` }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:reply:0' }, xml('body', { start: '0', end: '23' }))));
  const [e4] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e4?.event.kind, e4?.event['text'], e4?.event['replyTo']], ['message', 'indeed', ack['id']]);

  // XMPP OOB link -> WS message with a link span.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a5' }, xml('body', {}, 'https://example.org/cat.jpg'), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, 'https://example.org/cat.jpg'))));
  const [e5] = await carol.collectEvents(1, 10_000);
  assert.deepEqual(e5?.event['spans'], [{ type: 'link', offset: 0, length: 27, url: 'https://example.org/cat.jpg' }]);

  // XMPP retraction (by stanza-id) -> WS retract.
  const aliceReflection = alice.stanzas.find((el) => el.attrs['id'] === 'a1' && el.attrs['from'] === `${room}/Alice`) as Element;
  const aliceStanzaId = aliceReflection.getChild('stanza-id', SID)?.attrs['id'];
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a6' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: aliceStanzaId }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:message-retract:1' }), xml('body', {}, 'retracted')));
  const [e6] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e6?.event.kind, e6?.event['target']], ['retract', aliceEventId]);

  // WS -> XMPP: edit, reaction, reply, retraction of carol's own message. (On a failure, what the
  // room sent alice says whether a stanza came twice or an id map entry was wrong.)
  const roomLog = () => alice.stanzas.filter((el) => el.name === 'message').map((el) =>
    `${el.attrs['from']} id=${el.attrs['id']} origin-id=${el.getChild('origin-id', SID)?.attrs['id']} stanza-id=${el.getChild('stanza-id', SID)?.attrs['id']} ${el.getChildText('body') ?? ''}`).join('\n');
  // Carol's stanzas only: alice's own reflections (her reaction, her retraction) can still be on
  // their way when the mark is set, and they carry the same elements.
  const fromCarolPuppet = (el: Element) => el.name === 'message' && el.attrs['from'] === `${room}/Carol`;
  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ack['id'], text: 'hello there' } });
  const edit = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined, 'the correction', { since });
  assert.equal(edit.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs['id'], carolOriginId, 'XEP-0308 points at the id attribute');
  assert.equal(edit.getChildText('body'), 'hello there');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: aliceEventId, reactions: ['🎉'] } });
  const reaction = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('reactions', 'urn:xmpp:reactions:0') !== undefined, 'the reaction', { since });
  assert.equal(reaction.getChild('reactions', 'urn:xmpp:reactions:0')?.attrs['id'], aliceStanzaId, roomLog());
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'yes', replyTo: aliceEventId } });
  const reply = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('reply', 'urn:xmpp:reply:0') !== undefined, 'the reply', { since });
  assert.equal(reply.getChild('reply', 'urn:xmpp:reply:0')?.attrs['id'], aliceStanzaId, roomLog());
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ack['id'] } });
  const retract = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined, 'the retraction', { since });
  assert.equal(retract.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'], carolStanzaId, roomLog());

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
