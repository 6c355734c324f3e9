import { test } from 'node:test';
import assert from 'node:assert/strict';
import parse from '@xmpp/xml/lib/parse.js';
import type { Element } from '@xmpp/xml';
import { parseMessage } from '../../src/connectors/xmpp/stanza/message-in.ts';
import { messageToEvent } from '../../src/connectors/xmpp/inbound.ts';
import { buildModerationRequest, moderationFormOf } from '../../src/connectors/xmpp/moderation.ts';
import { LIMITS, validateEvent } from '../../src/core/event.ts';
import type { EventId } from '../../src/core/ids.ts';
import { buildChatState, buildCorrection, buildMarker, buildMessage, buildReactions, buildReceipt, buildRetraction, buildSubject } from '../../src/connectors/xmpp/stanza/message-out.ts';
import { buildMucJoin, buildPresence, canonicalState, isSelfPresence, parsePresence, removalReason } from '../../src/connectors/xmpp/stanza/presence.ts';
import { answerIq, componentEntity, puppetEntity, roomEntity } from '../../src/connectors/xmpp/stanza/iq-answers.ts';
import { errorReply, mayBounce } from '../../src/connectors/xmpp/stanza/errors.ts';

/** Parses a stanza as it arrives on a component stream (whitespace between elements removed, as in the XEP examples' intent). */
const X = (s: string): Element => parse(s.replace(/>\s+</g, '><').trim());
const ctx = { componentDomain: 'bridge.example.org' };

// Stanzas below are the XEPs' own examples (addresses kept), unless a comment says otherwise.

test('XEP-0308 correction (Example 2)', () => {
  const m = parseMessage(X(`<message to='juliet@capulet.net/balcony' id='good1'>
    <body>But soft, what light through yonder window breaks?</body>
    <replace id='bad1' xmlns='urn:xmpp:message-correct:0'/></message>`), ctx);
  assert.equal(m.replaces, 'bad1');
  assert.equal(m.body, 'But soft, what light through yonder window breaks?');
  assert.equal(m.type, 'normal');
});

test('XEP-0424 retraction: current form and the older XEP-0422 fasten form; the fallback body is not a message', () => {
  const now = parseMessage(X(`<message type='chat' to='lord@capulet.example' id='retract-message-1'>
    <retract id='origin-id-1' xmlns='urn:xmpp:message-retract:1'/>
    <fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/>
    <body>/me retracted a previous message, but it's unsupported by your client.</body>
    <store xmlns='urn:xmpp:hints'/></message>`), ctx);
  assert.deepEqual(now.retract, { id: 'origin-id-1', legacy: false });
  assert.equal(now.body, undefined);
  const old = parseMessage(X(`<message type='chat' to='lord@capulet.example' id='retract-message-1'>
    <apply-to id='origin-id-1' xmlns='urn:xmpp:fasten:0'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to>
    <fallback xmlns='urn:xmpp:fallback:0'/>
    <body>This person attempted to retract a previous message, but it's unsupported by your client.</body></message>`), ctx);
  assert.deepEqual(old.retract, { id: 'origin-id-1', legacy: true });
  assert.equal(old.body, undefined);
});

test('XEP-0425 moderation: 0.3 (inside the room\'s retraction) and 0.2 (inside a fastening, as Prosody\'s mod_muc_moderation of 2023 sends it); only the room\'s own word counts', async () => {
  // After XEP-0425 0.3.0's broadcast example.
  const now = parseMessage(X(`<message type='groupchat' from='channel@muc.example.org' to='p@bridge.example.org/x' id='retraction-id-1'>
    <retract id='stanza-id-1' xmlns='urn:xmpp:message-retract:1'>
      <moderated by='channel@muc.example.org/macbeth' xmlns='urn:xmpp:message-moderate:1'>
        <occupant-id xmlns='urn:xmpp:occupant-id:0' id='dd72603deec90a38ba552f7c68cbcc61bca202cd'/>
      </moderated>
      <reason>This message contains inappropriate content for this forum</reason>
    </retract>
    <fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/>
    <body>/me retracted a message: This message contains inappropriate content for this forum</body></message>`), ctx);
  assert.deepEqual(now.moderated, { id: 'stanza-id-1', by: 'channel@muc.example.org/macbeth', occupantId: 'dd72603deec90a38ba552f7c68cbcc61bca202cd', reason: 'This message contains inappropriate content for this forum' });
  assert.equal(now.retract, undefined, 'not the sender\'s own retraction');
  assert.equal(now.body, undefined);
  // Prosody 0.12 + Debian 12's prosody-modules, word for word but the addresses.
  const old = parseMessage(X(`<message type='groupchat' from='lobby@conference.localhost' to='bridge.localhost/Switchboard' id='Ljv8tx3Y'>
    <apply-to id='4f7a0c1e' xmlns='urn:xmpp:fasten:0'><moderated by='lobby@conference.localhost/Alice' xmlns='urn:xmpp:message-moderate:0'>
      <retract xmlns='urn:xmpp:message-retract:0'/><reason>spam</reason></moderated></apply-to>
    <stanza-id by='lobby@conference.localhost' id='9e1b2c' xmlns='urn:xmpp:sid:0'/></message>`), ctx);
  assert.deepEqual(old.moderated, { id: '4f7a0c1e', by: 'lobby@conference.localhost/Alice', reason: 'spam' });
  assert.equal(old.retract, undefined);
  // A moderation that only flags (no <retract/> in it) removes nothing.
  const flag = parseMessage(X(`<message type='groupchat' from='lobby@conference.localhost'>
    <apply-to id='4f7a0c1e' xmlns='urn:xmpp:fasten:0'><moderated xmlns='urn:xmpp:message-moderate:0'/></apply-to></message>`), ctx);
  assert.equal(flag.moderated, undefined);

  // The canonical event: a retraction with `moderation` from the room; from anyone else, nothing.
  const target = '01JEK6V2Q6W3M5R7T9V1X3Z5B7' as EventId;
  const resolve = async (_kind: string, id: string): Promise<EventId | undefined> => (id === 'stanza-id-1' ? target : undefined);
  const from = { room: 'lobby', sender: { network: 'xmpp', id: 'macbeth@example.org', name: 'macbeth' }, origin: { connector: 'xmpp', endpoint: 'channel@muc.example.org' } };
  const event = await messageToEvent(now, from, resolve, undefined, { fromRoom: true });
  assert.ok(typeof event !== 'string');
  assert.deepEqual([event.kind, event.kind === 'retract' ? event.target : '', event.kind === 'retract' ? event.moderation : {}], ['retract', target, { reason: 'This message contains inappropriate content for this forum' }]);
  assert.equal(validateEvent(event).ok, true);
  assert.equal(await messageToEvent(now, from, resolve), 'a moderation not announced by the room');
  assert.equal(await messageToEvent({ ...now, moderated: { id: 'unknown' } }, from, resolve, undefined, { fromRoom: true }), 'moderation of an unknown message unknown');
});

test('XEP-0425 requests: 0.3 where the room lists urn:xmpp:message-moderate:1, else 0.2 (Prosody\'s 2023 module), else none', () => {
  assert.equal(moderationFormOf(['http://jabber.org/protocol/muc', 'urn:xmpp:message-moderate:0', 'urn:xmpp:message-moderate:1']), 'v1');
  assert.equal(moderationFormOf(['urn:xmpp:message-moderate:0']), 'v0');
  assert.equal(moderationFormOf(['urn:xmpp:mam:2']), undefined);
  // XEP-0425 0.3.0's request example, from the relay.
  const v1 = buildModerationRequest('v1', 'bridge.example.org/relay', 'channel@muc.example.org', 'stanza-id-1', 'This message contains inappropriate content for this forum');
  assert.equal(v1.toString(), X(`<iq type='set' from='bridge.example.org/relay' to='channel@muc.example.org'>
    <moderate xmlns='urn:xmpp:message-moderate:1' id='stanza-id-1'><retract xmlns='urn:xmpp:message-retract:1'/>
    <reason>This message contains inappropriate content for this forum</reason></moderate></iq>`).toString());
  const v0 = buildModerationRequest('v0', 'bridge.example.org/relay', 'channel@muc.example.org', 'stanza-id-1', undefined);
  assert.equal(v0.toString(), X(`<iq type='set' from='bridge.example.org/relay' to='channel@muc.example.org'>
    <apply-to xmlns='urn:xmpp:fasten:0' id='stanza-id-1'><moderate xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/></moderate></apply-to></iq>`).toString());
});

test('XEP-0444 reactions (Example 1), duplicates collapsed; an oversized reaction is a problem, not a crash', () => {
  const m = parseMessage(X(`<message to='romeo@montague.lit/orchard' id='96d73204-a57a-11e9-88b8-4889e7820c76' type='chat'>
    <reactions id='744f6e18-a57a-11e9-a656-4889e7820c76' xmlns='urn:xmpp:reactions:0'>
      <reaction>👋</reaction><reaction>🐢</reaction><reaction>👋</reaction><reaction>${'x'.repeat(100)}</reaction>
    </reactions><store xmlns='urn:xmpp:hints'/></message>`), ctx);
  assert.deepEqual(m.reactions, { id: '744f6e18-a57a-11e9-a656-4889e7820c76', emojis: ['👋', '🐢'] });
  assert.equal(m.problems.length, 1);
  // Removing all reactions is an empty set, not nothing.
  const none = parseMessage(X(`<message to='a@b' type='chat'><reactions id='x' xmlns='urn:xmpp:reactions:0'/></message>`), ctx);
  assert.deepEqual(none.reactions, { id: 'x', emojis: [] });
});

test('XEP-0461 reply: the XEP-0428 fallback (code point offsets) is stripped', () => {
  const m = parseMessage(X(`<message to='anna@example.com' id='message-id2' type='chat'>
    <body>&gt; Anna wrote:\n&gt; We should bake a cake\nGreat idea!</body>
    <reply to='anna@example.com/tablet' id='message-id1' xmlns='urn:xmpp:reply:0' />
    <fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='38' /></fallback></message>`), ctx);
  assert.deepEqual(m.reply, { id: 'message-id1', to: 'anna@example.com/tablet' });
  assert.equal(m.body, 'Great idea!');
  // Offsets count code points (XEP-0426): the emoji before the cut is one (7 in all), not two UTF-16 units (8).
  const astral = parseMessage(X(`<message to='a@b' type='chat'><body>&gt; 😀 hi\nyes</body>
    <reply id='m1' xmlns='urn:xmpp:reply:0'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='7'/></fallback></message>`), ctx);
  assert.equal(astral.body, 'yes');
  // A range outside the body is reported and the body kept whole.
  const bad = parseMessage(X(`<message to='a@b' type='chat'><body>short</body><reply id='m1' xmlns='urn:xmpp:reply:0'/>
    <fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='99'/></fallback></message>`), ctx);
  assert.equal(bad.body, 'short');
  assert.match(bad.problems.join(), /fallback/);
  // XEP-0461's first versions named XEP-0428 urn:xmpp:feature-fallback:0, as slixmpp 1.8 still does.
  const legacy = parseMessage(X(`<message to='room@muc' type='groupchat'><body>&gt; Anna: cake?\nYes!</body>
    <reply id='m1' to='room@muc/Anna' xmlns='urn:xmpp:reply:0'/>
    <fallback xmlns='urn:xmpp:feature-fallback:0' for='urn:xmpp:reply:0'><body start='0' end='14'/></fallback></message>`), ctx);
  assert.equal(legacy.body, 'Yes!');
});

test('XEP-0184 receipts and XEP-0333 markers (Examples 1, 2 / 2, 4)', () => {
  const req = parseMessage(X(`<message from='northumberland@shakespeare.lit/westminster' id='richard2-4.1.247' to='kingrichard@royalty.england.lit/throne'>
    <body>My lord, dispatch; read o'er these articles.</body><request xmlns='urn:xmpp:receipts'/></message>`), ctx);
  assert.equal(req.receiptRequest, true);
  assert.equal(req.id, 'richard2-4.1.247');
  const rcv = parseMessage(X(`<message from='kingrichard@royalty.england.lit/throne' id='bi29sg183b4v' to='northumberland@shakespeare.lit/westminster'>
    <received xmlns='urn:xmpp:receipts' id='richard2-4.1.247'/></message>`), ctx);
  assert.equal(rcv.receiptFor, 'richard2-4.1.247');
  assert.equal(rcv.body, undefined);
  const markable = parseMessage(X(`<message from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony' id='message-1'>
    <body>My lord, dispatch; read o'er these articles.</body><markable xmlns='urn:xmpp:chat-markers:0'/></message>`), ctx);
  assert.equal(markable.markable, true);
  const displayed = parseMessage(X(`<message from='juliet@capulet.lit/balcony' to='romeo@montague.lit/orchard' id='message-2'>
    <displayed xmlns='urn:xmpp:chat-markers:0' id='message-1'/></message>`), ctx);
  assert.deepEqual(displayed.marker, { type: 'displayed', id: 'message-1' });
});

test('XEP-0085 chat state, XEP-0066 OOB, XEP-0203 delay, XEP-0172 nick', () => {
  const typing = parseMessage(X(`<message from='bernardo@shakespeare.lit/pda' to='francisco@shakespeare.lit' type='chat'>
    <composing xmlns='http://jabber.org/protocol/chatstates'/></message>`), ctx);
  assert.equal(typing.chatState, 'composing');
  const oob = parseMessage(X(`<message from='stpeter@jabber.org/work' to='MaineBoy@jabber.org/home'>
    <body>Yeah, but do you have a license to Jabber?</body>
    <x xmlns='jabber:x:oob'><url>http://www.jabber.org/images/psa-license.jpg</url></x></message>`), ctx);
  assert.deepEqual(oob.oob, [{ url: 'http://www.jabber.org/images/psa-license.jpg' }]);
  const js = parseMessage(X(`<message to='a@b'><x xmlns='jabber:x:oob'><url>javascript:alert(1)</url></x></message>`), ctx);
  assert.deepEqual(js.oob, []);
  assert.match(js.problems.join(), /oob/);
  const delayed = parseMessage(X(`<message from='romeo@montague.net/orchard' to='juliet@capulet.com' type='chat'>
    <body>O blessed, blessed night! I am afeard.</body>
    <delay xmlns='urn:xmpp:delay' from='capulet.com' stamp='2002-09-10T23:08:25Z'>Offline Storage</delay></message>`), ctx);
  assert.deepEqual(delayed.delay, { stamp: Date.UTC(2002, 8, 10, 23, 8, 25), from: 'capulet.com' });
  const nick = parsePresence(X(`<presence from='narrator@moby-dick.lit' to='starbuck@moby-dick.lit' type='subscribe'>
    <nick xmlns='http://jabber.org/protocol/nick'>Ishmael</nick></presence>`));
  assert.equal(nick.type, 'subscribe');
  assert.equal(nick.nick, 'Ishmael');
});

test('XEP-0045 §8.1 subject: a <subject> alone is a change (an empty one clears); with a <body> or <thread> it is a message (§8.1 SHALL NOT); never bridged as anything else', async () => {
  // Example 59, as the room broadcasts it (Example 60), and the join's subject (§7.2.15) with a delay as Prosody sends it.
  const change = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' id='5BCE07C5-0729-4353-A6A3-ED9818C9B498'
    to='crone1@shakespeare.lit/desktop' type='groupchat'><subject>Fire Burn and Cauldron Bubble!</subject></message>`), ctx);
  assert.equal(change.subject, 'Fire Burn and Cauldron Bubble!');
  assert.equal(change.body, undefined);
  const atJoin = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='crone1@shakespeare.lit/desktop' type='groupchat'>
    <subject>Cauldron, ho!</subject><delay xmlns='urn:xmpp:delay' from='coven@chat.shakespeare.lit' stamp='2002-10-13T23:58:37Z'/></message>`), ctx);
  assert.equal(atJoin.subject, 'Cauldron, ho!');
  assert.equal(atJoin.delay?.from, 'coven@chat.shakespeare.lit');
  // Example 61: cleared. Prosody broadcasts an empty element both ways.
  for (const cleared of ['<subject></subject>', '<subject/>']) {
    assert.equal(parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='c@s/d' type='groupchat'>${cleared}</message>`), ctx).subject, '', cleared);
  }
  // A message that has a subject too: a message, not a change.
  const withBody = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='c@s/d' type='groupchat'>
    <subject>Re: the cauldron</subject><body>Double, double toil and trouble</body></message>`), ctx);
  assert.equal(withBody.subject, undefined);
  assert.equal(withBody.body, 'Double, double toil and trouble');
  const withThread = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='c@s/d' type='groupchat'>
    <subject>Re: the cauldron</subject><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread></message>`), ctx);
  assert.equal(withThread.subject, undefined);
  // Longer than a canonical topic: clipped, said so.
  const long = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='c@s/d' type='groupchat'><subject>${'x'.repeat(LIMITS.topicChars + 5)}</subject></message>`), ctx);
  assert.equal(long.subject?.length, LIMITS.topicChars);
  assert.match(long.problems.join(), /subject over/);
  // A subject change is never a message, a typing or any other kind (whatever else it carries), in a room or a direct chat.
  const from = { room: 'lobby', sender: { network: 'xmpp', id: 'x@y' }, origin: { connector: 'xmpp', endpoint: 'coven@chat.shakespeare.lit' } };
  const none = async (): Promise<undefined> => undefined;
  const typing = parseMessage(X(`<message from='coven@chat.shakespeare.lit/secondwitch' to='c@s/d' type='groupchat'>
    <subject/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`), ctx);
  assert.equal(await messageToEvent(typing, from, none), 'a subject change');
  const direct = parseMessage(X(`<message from='romeo@montague.net/orchard' to='p@bridge.example.org' type='chat'><subject>hi</subject></message>`), ctx);
  assert.equal(direct.subject, 'hi');
  assert.equal(await messageToEvent(direct, from, none), 'a subject change');
  const bodied = await messageToEvent(withBody, from, none);
  assert.equal(typeof bodied !== 'string' && bodied.kind, 'message');
});

test('XEP-0045 §8.1 the relay\'s subject change: a groupchat message with the subject and no body, our id on it; an empty element clears; it parses back', () => {
  const e = { from: 'bridge.example.org/relay', to: 'room@muc.example.com', type: 'groupchat' as const, originId: 'o-7' };
  const set = buildSubject(e, 'Release day 🚀');
  assert.deepEqual([set.name, set.attrs['type'], set.attrs['to'], set.attrs['id']], ['message', 'groupchat', 'room@muc.example.com', 'o-7']);
  assert.equal(set.getChildText('subject'), 'Release day 🚀');
  assert.equal(set.getChild('body'), undefined);
  assert.equal(set.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs['id'], 'o-7');
  assert.equal(parseMessage(parse(set.toString()), ctx).subject, 'Release day 🚀');
  const cleared = buildSubject(e, '');
  assert.match(cleared.toString(), /<subject\/>/);
  assert.equal(parseMessage(parse(cleared.toString()), ctx).subject, '');
});

test('XEP-0359: origin-id always; stanza-id only when stamped by the room (groupchat) or our domain', () => {
  const room = parseMessage(X(`<message from='room@muc.example.com/alice' to='p@bridge.example.org/x' type='groupchat'>
    <body>hi</body>
    <stanza-id xmlns='urn:xmpp:sid:0' id='spoofed' by='alice@example.com'/>
    <stanza-id xmlns='urn:xmpp:sid:0' id='5f3dbc5e-e1d3-4077-a492-693f3769c7ad' by='room@muc.example.com'/>
    <origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546013'/></message>`), ctx);
  assert.equal(room.stanzaId, '5f3dbc5e-e1d3-4077-a492-693f3769c7ad');
  assert.equal(room.originId, 'de305d54-75b4-431b-adb2-eb6b9e546013');
  const forged = parseMessage(X(`<message from='mallory@evil.example/x' to='p@bridge.example.org' type='chat'><body>hi</body>
    <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='room@muc.example.com'/></message>`), ctx);
  assert.equal(forged.stanzaId, undefined);
  const ours = parseMessage(X(`<message from='mallory@evil.example/x' to='p@bridge.example.org' type='chat'><body>hi</body>
    <stanza-id xmlns='urn:xmpp:sid:0' id='ok' by='bridge.example.org'/></message>`), ctx);
  assert.equal(ours.stanzaId, 'ok');
});

test('bad input: missing ids, oversized ids, an error message', () => {
  const m = parseMessage(X(`<message from='a@b/c' to='p@bridge.example.org' type='error' id='e1'>
    <replace xmlns='urn:xmpp:message-correct:0'/><reply id='${'x'.repeat(600)}' xmlns='urn:xmpp:reply:0'/>
    <error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`), ctx);
  assert.equal(m.replaces, undefined);
  assert.equal(m.reply, undefined);
  assert.equal(m.errorCondition, 'item-not-found');
  assert.equal(m.problems.length, 1);
});

test('outbound: a puppet message carries an origin-id, a styled body, and a reply with its fallback; it parses back', () => {
  const e = { from: 'websocket.bob@bridge.example.org/switchboard', to: 'room@muc.example.com', type: 'groupchat' as const, originId: 'o-1' };
  const el = buildMessage(e, { text: 'Great idea!', spans: [{ type: 'bold', offset: 0, length: 5 }] },
    { reply: { id: 'stanza-7', to: 'room@muc.example.com/Anna', quotedName: 'Anna', quotedText: 'We should bake a cake 🎂' }, oob: [{ url: 'https://media.example.org/cake.jpg', desc: 'cake' }] });
  assert.equal(el.attrs['id'], 'o-1');
  assert.equal(el.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs['id'], 'o-1');
  assert.equal(el.getChildText('body'), '> Anna:\n> We should bake a cake 🎂\n*Great* idea!');
  const back = parseMessage(parse(el.toString()), ctx);
  assert.equal(back.body, '*Great* idea!');
  assert.deepEqual(back.reply, { id: 'stanza-7', to: 'room@muc.example.com/Anna' });
  assert.deepEqual(back.oob, [{ url: 'https://media.example.org/cake.jpg', desc: 'cake' }]);
  assert.equal(back.originId, 'o-1');

  const fix = parseMessage(parse(buildCorrection({ ...e, originId: 'o-2' }, 'o-1', { text: 'Greater idea!' }).toString()), ctx);
  assert.equal(fix.replaces, 'o-1');
  assert.equal(fix.body, 'Greater idea!');
  const gone = buildRetraction({ ...e, originId: 'o-3' }, 'stanza-7');
  const goneBack = parseMessage(parse(gone.toString()), ctx);
  assert.deepEqual(goneBack.retract, { id: 'stanza-7', legacy: false });
  assert.equal(gone.getChild('apply-to', 'urn:xmpp:fasten:0')?.attrs['id'], 'stanza-7', 'the old fasten form rides along');
  // In a room the two forms name the message differently: XEP-0424 0.4+ by stanza-id, 0.3 by origin-id.
  const goneInRoom = buildRetraction({ ...e, originId: 'o-3' }, 'stanza-7', 'o-1');
  assert.equal(goneInRoom.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'], 'stanza-7');
  assert.equal(goneInRoom.getChild('apply-to', 'urn:xmpp:fasten:0')?.attrs['id'], 'o-1');
  const react = parseMessage(parse(buildReactions({ ...e, originId: 'o-4' }, 'stanza-7', ['👍', '🎂']).toString()), ctx);
  assert.deepEqual(react.reactions, { id: 'stanza-7', emojis: ['👍', '🎂'] });
  assert.equal(parseMessage(parse(buildReceipt('p@bridge.example.org', 'a@b/c', 'm1').toString()), ctx).receiptFor, 'm1');
  assert.deepEqual(parseMessage(parse(buildMarker('p@bridge.example.org', 'a@b/c', 'chat', 'displayed', 'm1').toString()), ctx).marker, { type: 'displayed', id: 'm1' });
  assert.equal(parseMessage(parse(buildChatState('p@bridge.example.org', 'a@b/c', 'chat', 'paused').toString()), ctx).chatState, 'paused');
  // Text that would read as styled goes with <unstyled/>, and reads back unchanged.
  const plain = parseMessage(parse(buildMessage({ ...e, originId: 'o-5' }, { text: 'a *literal* star' }).toString()), ctx);
  assert.equal(plain.unstyled, true);
  assert.equal(plain.body, 'a *literal* star');
  // An attachment without text: the body is its URL.
  assert.equal(buildMessage({ ...e, originId: 'o-6' }, { text: '' }, { oob: [{ url: 'https://m.example/x.png' }] }).getChildText('body'), 'https://m.example/x.png');
});

test('XEP-0045 presences: self (110, 201), nick change (303), kick (307), removals (321, 322, 332), nick conflict (409)', () => {
  const self = parsePresence(X(`<presence from='coven@chat.shakespeare.lit/firstwitch' to='crone1@shakespeare.lit/desktop'>
    <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/><status code='110'/><status code='201'/></x></presence>`));
  assert.equal(isSelfPresence(self), true);
  assert.deepEqual(self.muc?.codes, [110, 201]);
  assert.equal(self.muc?.affiliation, 'owner');
  const renamed = parsePresence(X(`<presence from='coven@chat.shakespeare.lit/thirdwitch' id='5A4C5AD5' to='hag66@shakespeare.lit/pda' type='unavailable'>
    <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='hag66@shakespeare.lit/pda' nick='oldhag' role='participant'/>
    <status code='303'/><status code='110'/></x></presence>`));
  assert.equal(renamed.muc?.nick, 'oldhag');
  assert.equal(removalReason(renamed), undefined, 'a nick change is not a removal');
  const kicked = parsePresence(X(`<presence from='harfleur@chat.shakespeare.lit/pistol' to='pistol@shakespeare.lit/harfleur' type='unavailable'>
    <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'><actor nick='Fluellen'/><reason>Avaunt, you cullion!</reason></item>
    <status code='110'/><status code='307'/></x></presence>`));
  assert.equal(removalReason(kicked), 'kicked');
  assert.equal(kicked.muc?.reason, 'Avaunt, you cullion!');
  for (const [code, reason] of [[321, 'affiliation'], [322, 'members-only'], [332, 'shutdown']] as const) {
    const p = parsePresence(X(`<presence from='r@muc/n' to='p@bridge.example.org/x' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'>
      <item affiliation='none' role='none'/><status code='${code}'/></x></presence>`));
    assert.equal(removalReason(p), reason);
  }
  const conflict = parsePresence(X(`<presence from='coven@chat.shakespeare.lit/thirdwitch' id='n13mt3l' to='hag66@shakespeare.lit/pda' type='error'>
    <x xmlns='http://jabber.org/protocol/muc'/><error by='coven@chat.shakespeare.lit' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`));
  assert.equal(conflict.errorCondition, 'conflict');
});

test('presence: show/status both ways, join without history', () => {
  const away = parsePresence(X(`<presence from='romeo@example.net/orchard'><show>xa</show><status>down the rabbit hole!</status><priority>5</priority></presence>`));
  assert.equal(canonicalState(away), 'xa');
  assert.equal(away.status, 'down the rabbit hole!');
  assert.equal(away.priority, 5);
  assert.equal(canonicalState(parsePresence(X(`<presence from='a@b/c'><show>chat</show></presence>`))), 'available');
  assert.equal(canonicalState(parsePresence(X(`<presence from='a@b/c' type='unavailable'/>`))), 'offline');
  assert.equal(canonicalState(parsePresence(X(`<presence from='a@b/c' type='subscribe'/>`))), undefined);
  const out = parsePresence(parse(buildPresence({ from: 'p@bridge.example.org', to: 'a@b', state: 'dnd', status: 'busy', nick: 'Bob' }).toString()));
  assert.deepEqual([out.type, out.show, out.status, out.nick], ['available', 'dnd', 'busy', 'Bob']);
  assert.equal(buildPresence({ from: 'p@bridge.example.org', to: 'a@b', state: 'offline' }).attrs['type'], 'unavailable');
  const join = buildMucJoin('p@bridge.example.org/switchboard', 'room@muc.example.com/Bob');
  assert.equal(join.getChild('x', 'http://jabber.org/protocol/muc')?.getChild('history')?.attrs['maxstanzas'], '0');
  // XEP-0153: the avatar hash rides on every available presence (a join too), never on unavailable.
  const hash = 'a'.repeat(40);
  assert.equal(buildPresence({ from: 'p@b', to: 'a@b', state: 'away', photo: hash }).getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), hash);
  assert.equal(buildMucJoin('p@b', 'room@muc/Bob', { photo: hash }).getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), hash);
  assert.equal(buildPresence({ from: 'p@b', to: 'a@b', state: 'offline', photo: hash }).getChild('x', 'vcard-temp:x:update'), undefined);
  assert.equal(buildPresence({ from: 'p@b', to: 'a@b', state: 'away' }).getChild('x', 'vcard-temp:x:update'), undefined);
});

test('iq answers: disco#info/#items for the component, a puppet and a room; ping; vCard with nick and photo; errors', () => {
  const info = X(`<iq type='get' from='romeo@montague.net/orchard' to='bridge.example.org' id='info1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
  const a = answerIq(info, { kind: 'component', entity: componentEntity('Switchboard', [{ jid: 'lobby@bridge.example.org', name: 'Lobby' }]) });
  assert.equal(a?.attrs['type'], 'result');
  assert.equal(a?.attrs['to'], 'romeo@montague.net/orchard');
  assert.equal(a?.attrs['from'], 'bridge.example.org');
  assert.equal(a?.attrs['id'], 'info1');
  const feats = a?.getChild('query', 'http://jabber.org/protocol/disco#info')?.getChildren('feature').map((f) => f.attrs['var']);
  assert.ok(feats?.includes('urn:xmpp:ping'));
  const items = answerIq(X(`<iq type='get' from='romeo@montague.net/orchard' to='bridge.example.org' id='items1'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`),
    { kind: 'component', entity: componentEntity('Switchboard', [{ jid: 'lobby@bridge.example.org', name: 'Lobby' }]) });
  assert.equal(items?.getChild('query', 'http://jabber.org/protocol/disco#items')?.getChild('item')?.attrs['jid'], 'lobby@bridge.example.org');
  const puppet = answerIq(X(`<iq type='get' from='a@b/c' to='websocket.bob@bridge.example.org' id='i2'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`),
    { kind: 'puppet', entity: puppetEntity('Bob'), vcard: {} });
  assert.deepEqual(puppet?.getChild('query')?.getChild('identity')?.attrs, { category: 'client', type: 'pc', name: 'Bob' });
  assert.ok(puppet?.getChild('query')?.getChildren('feature').some((f) => f.attrs['var'] === 'urn:xmpp:reactions:0'));
  const room = answerIq(info, { kind: 'room', entity: roomEntity('Lobby') });
  assert.equal(room?.getChild('query')?.getChild('identity')?.attrs['category'], 'conference');
  const ping = answerIq(X(`<iq from='capulet.lit' to='juliet@capulet.lit/balcony' id='s2c1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`), { kind: 'component', entity: componentEntity('S') });
  assert.deepEqual(ping?.attrs, { type: 'result', id: 's2c1', from: 'juliet@capulet.lit/balcony', to: 'capulet.lit' });
  const vcard = answerIq(X(`<iq from='stpeter@jabber.org/roundabout' to='websocket.bob@bridge.example.org' id='v1' type='get'><vCard xmlns='vcard-temp'/></iq>`),
    { kind: 'puppet', entity: puppetEntity('Bob'), vcard: { nickname: 'Bob', fullName: 'Bob B.', photo: { type: 'image/png', base64: 'iVBORw0KGgo=' } } });
  const v = vcard?.getChild('vCard', 'vcard-temp');
  assert.equal(v?.getChildText('NICKNAME'), 'Bob');
  assert.equal(v?.getChild('PHOTO')?.getChildText('TYPE'), 'image/png');
  assert.equal(v?.getChild('PHOTO')?.getChildText('BINVAL'), 'iVBORw0KGgo=');
  const extval = answerIq(X(`<iq from='a@b/c' to='p@bridge.example.org' id='v2' type='get'><vCard xmlns='vcard-temp'/></iq>`),
    { kind: 'puppet', entity: puppetEntity('Bob'), vcard: { photo: { url: 'https://m.example/a.png' } } });
  assert.equal(extval?.getChild('vCard')?.getChild('PHOTO')?.getChildText('EXTVAL'), 'https://m.example/a.png');
  // Errors: unknown entity, unknown payload, malformed get, a node we do not have; results are never answered.
  const cond = (el: Element | undefined): string | undefined => el?.getChild('error')?.getChildElements()[0]?.name;
  assert.equal(cond(answerIq(info, { kind: 'unknown' })), 'item-not-found');
  assert.equal(cond(answerIq(X(`<iq type='get' from='a@b/c' to='bridge.example.org' id='x'><query xmlns='jabber:iq:version'/></iq>`), { kind: 'component', entity: componentEntity('S') })), 'service-unavailable');
  assert.equal(cond(answerIq(X(`<iq type='get' from='a@b/c' to='bridge.example.org' id='x'/>`), { kind: 'component', entity: componentEntity('S') })), 'bad-request');
  assert.equal(cond(answerIq(X(`<iq type='get' from='a@b/c' to='bridge.example.org' id='x'><query xmlns='http://jabber.org/protocol/disco#info' node='n'/></iq>`), { kind: 'component', entity: componentEntity('S') })), 'item-not-found');
  assert.equal(answerIq(X(`<iq type='result' from='a@b/c' to='bridge.example.org' id='x'/>`), { kind: 'component', entity: componentEntity('S') }), undefined);
});

test('errors are never bounced to a room or to groupchat; iq requests always get one', () => {
  const isRoom = (bare: string): boolean => bare === 'room@muc.example.com';
  assert.equal(mayBounce(X(`<message from='room@muc.example.com/alice' to='p@bridge.example.org' type='chat'/>`), isRoom), false, 'a private message through the room');
  assert.equal(mayBounce(X(`<message from='room@muc.example.com/alice' to='p@bridge.example.org' type='groupchat'/>`), isRoom), false);
  assert.equal(mayBounce(X(`<presence from='room@muc.example.com/alice' to='p@bridge.example.org'/>`), isRoom), false);
  assert.equal(mayBounce(X(`<message from='a@b/c' to='p@bridge.example.org' type='error'/>`), isRoom), false);
  assert.equal(mayBounce(X(`<message from='a@b/c' to='p@bridge.example.org' type='chat'/>`), isRoom), true);
  assert.equal(mayBounce(X(`<iq from='room@muc.example.com/alice' to='p@bridge.example.org' type='get' id='1'/>`), isRoom), true);
  const err = errorReply(X(`<message from='a@b/c' to='p@bridge.example.org' type='chat' id='m1'><body>${'x'.repeat(10)}</body></message>`), 'modify', 'policy-violation', 'too large');
  assert.deepEqual(err.attrs, { type: 'error', from: 'p@bridge.example.org', to: 'a@b/c', id: 'm1' });
  assert.equal(err.getChild('body'), undefined, 'the offending payload is not echoed back');
});
