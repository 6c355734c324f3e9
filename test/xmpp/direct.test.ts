import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startProsody, type ProsodyServer } from '../helpers/prosody.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startXmppBridge, type XmppBridge } from './bridge-harness.ts';
import { directRoom } from '../../src/core/direct.ts';
import { START_CURSOR } from '../../src/core/endpoint.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

const SID = 'urn:xmpp:sid:0';
const NS_REACTIONS = 'urn:xmpp:reactions:0';
const NS_CORRECT = 'urn:xmpp:message-correct:0';

type After = { after(fn: () => Promise<unknown> | void): void };

interface Setup { prosody: ProsodyServer; alice: TestUser; bridge: XmppBridge; carolPuppet: string; aliceRoom: string; dm: string }

/** A Prosody, alice online on it (an interested, available resource: RFC 6121 §2.1.6, §4.2), and the bridge. */
async function setup(t: After): Promise<Setup> {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await alice.send(xml('presence'));
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  const dm = directRoom({ network: 'xmpp', id: alice.bareJid }, { network: 'websocket', id: 'carol' }) as string;
  return { prosody, alice, bridge, carolPuppet, aliceRoom: `@xmpp:${alice.bareJid}`, dm };
}

async function ws(t: After, bridge: XmppBridge, token: string): Promise<TestClient> {
  const client = await connectClient(bridge.wsUrl, token);
  t.after(() => client.close());
  return client;
}

const isChatFrom = (puppet: string) => (el: Element): boolean => el.name === 'message' && el.attrs['type'] === 'chat' && el.attrs['from']?.split('/')[0] === puppet;

test('a direct chat alice (XMPP) <-> carol (WS) works both ways: messages, replies, corrections, reactions, receipts, each once; carol\'s other session sees both sides; join since resumes it', async (t) => {
  const { alice, bridge, carolPuppet, aliceRoom, dm } = await setup(t);
  const carol = await ws(t, bridge, bridge.tokens.carol);
  const carol2 = await ws(t, bridge, bridge.tokens.carol);
  const dave = await ws(t, bridge, bridge.tokens.dave);

  // XMPP -> WS: alice writes to carol's puppet; both of carol's sessions get it, under alice's name, without joining.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm1' }, xml('body', {}, 'hi *carol*'), xml('origin-id', { xmlns: SID, id: 'o1' })));
  const [fromAlice] = await carol.collectEvents(1, 10_000);
  const [fromAlice2] = await carol2.collectEvents(1, 10_000);
  assert.equal(fromAlice?.room, aliceRoom);
  assert.equal(fromAlice?.event['room'], dm);
  assert.deepEqual([fromAlice?.event.kind, fromAlice?.event['text'], fromAlice?.event['spans']], ['message', 'hi carol', [{ type: 'bold', offset: 3, length: 5 }]]);
  assert.deepEqual(fromAlice?.event['origin'], { connector: 'xmpp', endpoint: alice.bareJid, nativeId: 'o1' });
  assert.equal((fromAlice?.event['sender'] as { id: string }).id, alice.bareJid);
  assert.equal(fromAlice2?.event.id, fromAlice?.event.id);
  const aliceEventId = fromAlice?.event.id as string;

  // WS -> XMPP: carol replies from her puppet, with an origin-id, a receipt request, and her nick (a first message).
  let since = alice.mark();
  const ack = await carol.request({ type: 'send', room: aliceRoom, txn: 'c1', event: { kind: 'message', text: 'hello _alice_', replyTo: aliceEventId } });
  assert.equal(ack.type, 'ack');
  const fromCarol = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChild('body') !== undefined, 'carol\'s message', { since });
  assert.equal(fromCarol.getChildText('body'), 'hello _alice_');
  const carolOriginId = fromCarol.getChild('origin-id', SID)?.attrs['id'] ?? '';
  assert.match(carolOriginId, new RegExp(`^sb-${String(ack['id'])}-[\\w-]{16}$`));
  assert.equal(fromCarol.attrs['id'], carolOriginId);
  assert.equal(fromCarol.getChild('reply', 'urn:xmpp:reply:0')?.attrs['id'], 'o1', 'the reply names alice\'s message by its origin-id');
  assert.equal(fromCarol.getChild('reply', 'urn:xmpp:reply:0')?.attrs['to'], alice.bareJid, 'and its author (XEP-0461 §3: a bare JID in 1:1)');
  assert.ok(fromCarol.getChild('request', 'urn:xmpp:receipts'));
  assert.equal(fromCarol.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Carol');
  // carol's other session sees what she sent, under the same chat.
  const [own] = await carol2.collectEvents(1, 10_000);
  assert.deepEqual([own?.room, own?.event.id], [aliceRoom, ack['id']]);

  // XMPP: alice's receipt, a reaction to carol's message (by its origin-id), a correction of her own, a retransmission.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('received', { xmlns: 'urn:xmpp:receipts', id: carolOriginId })));
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm2' }, xml('reactions', { xmlns: NS_REACTIONS, id: carolOriginId }, xml('reaction', {}, '❤️'))));
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm3' }, xml('body', {}, 'hi carol!'), xml('replace', { xmlns: NS_CORRECT, id: 'm1' })));
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm1' }, xml('body', {}, 'hi *carol*'), xml('origin-id', { xmlns: SID, id: 'o1' })));
  const three = await carol.collectEvents(3, 10_000);
  assert.deepEqual(three.map((e) => [e.event.kind, e.event['target'], e.event['receipt'] ?? e.event['reactions'] ?? e.event['text']]), [
    ['receipt', ack['id'], 'delivered'],
    ['reaction', ack['id'], ['❤️']],
    ['edit', aliceEventId, 'hi carol!'],
  ]);

  // WS -> XMPP: carol corrects her message (XEP-0308 names its id) and reacts to alice's (by its origin-id).
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'edit', target: ack['id'], text: 'hello alice!' } });
  const correction = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChild('replace', NS_CORRECT) !== undefined, 'the correction', { since });
  assert.deepEqual([correction.getChild('replace', NS_CORRECT)?.attrs['id'], correction.getChildText('body')], [carolOriginId, 'hello alice!']);
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'reaction', target: aliceEventId, reactions: ['👍'] } });
  const reaction = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChild('reactions', NS_REACTIONS) !== undefined, 'the reaction', { since });
  assert.equal(reaction.getChild('reactions', NS_REACTIONS)?.attrs['id'], 'o1');
  // A resend of carol's first message with its txn is acknowledged, not sent to alice again.
  const again = await carol.request({ type: 'send', room: aliceRoom, txn: 'c1', event: { kind: 'message', text: 'hello _alice_', replyTo: aliceEventId } });
  assert.equal(again['duplicate'], true);

  // Each side got everything once: carol 4 events (alice's message, receipt, reaction, edit), alice 3 chat messages with a body or payload.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm4' }, xml('body', {}, 'fence')));
  const fence = await carol.collectEvents(1, 10_000);
  assert.equal(fence[0]?.event['text'], 'fence');
  await carol.request({ type: 'ping' });
  assert.equal(carol.events.length, 5);
  const carolsToAlice = alice.stanzas.filter((el) => isChatFrom(carolPuppet)(el) && (el.getChild('body') !== undefined || el.getChild('reactions', NS_REACTIONS) !== undefined));
  assert.equal(carolsToAlice.length, 3, carolsToAlice.map((el) => el.toString()).join('\n'));
  const stream = await bridge.bus.readStream(dm, undefined, 100);
  assert.equal(stream.entries.length, 8, 'alice: message, receipt, reaction, edit, message; carol: message, edit, reaction');
  await dave.request({ type: 'ping' });
  assert.equal(dave.events.length, 0, 'nobody else sees the chat');

  // Resume: carol's second session (which saw all 8 events) goes away, alice writes twice, a new
  // session joins the chat since that session's last cursor: the two, then live, each once.
  await carol2.collectEvents(6, 10_000);
  const lastCursor = carol2.events.at(-1)?.cursor as string;
  assert.equal(carol2.events.at(-1)?.event['text'], 'fence');
  await carol2.close();
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm5' }, xml('body', {}, 'missed one')));
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm6' }, xml('body', {}, 'missed two')));
  await carol.collectEvents(2, 10_000);
  const carol3 = await ws(t, bridge, bridge.tokens.carol);
  const joined = await carol3.request({ type: 'join', room: aliceRoom, since: lastCursor });
  assert.deepEqual([joined.type, joined['room']], ['joined', aliceRoom]);
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm7' }, xml('body', {}, 'live')));
  const resumed: EventFrame[] = await carol3.collectEvents(3, 10_000);
  assert.deepEqual(resumed.map((e) => [e.room, e.event['text']]), [[aliceRoom, 'missed one'], [aliceRoom, 'missed two'], [aliceRoom, 'live']]);
  await carol3.request({ type: 'ping' });
  assert.equal(carol3.events.length, 3);

  // A retraction (XEP-0424, with the older fasten form beside it) and chat states (XEP-0085) too.
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'retract', target: ack['id'] } });
  const retraction = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined, 'the retraction', { since });
  assert.equal(retraction.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'], carolOriginId);
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'typing', state: 'active' } });
  await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChild('composing', 'http://jabber.org/protocol/chatstates') !== undefined, 'carol composing', { since });
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  // carol3, another session of carol, sees her retraction and typing, then alice's typing.
  const last = await carol3.collectEvents(3, 10_000);
  assert.deepEqual(last.map((e) => [e.room, e.event.kind, (e.event['sender'] as { network: string }).network]),
    [[aliceRoom, 'retract', 'websocket'], [aliceRoom, 'typing', 'websocket'], [aliceRoom, 'typing', 'xmpp']]);
});

const isPresenceFrom = (puppet: string) => (el: Element): boolean => el.name === 'presence' && el.attrs['from']?.split('/')[0] === puppet;
const presenceEvent = (f: { type: string; event?: unknown }): boolean => f.type === 'event' && (f.event as { kind?: string }).kind === 'presence';

test('presence both ways in a direct chat; a subscription to a puppet is answered; after a restart of the XMPP connector a subscriber gets the puppet\'s presence again', async (t) => {
  const { prosody, alice, bridge, carolPuppet, aliceRoom } = await setup(t);
  const carol = await ws(t, bridge, bridge.tokens.carol);
  const dave = await ws(t, bridge, bridge.tokens.dave);

  // alice subscribes to carol's puppet: accepted (a roster push), the puppet's presence, and its own request for hers.
  let since = alice.mark();
  await alice.send(xml('presence', { to: carolPuppet, type: 'subscribe' }));
  await alice.waitFor((el) => el.name === 'iq' && el.getChild('query', 'jabber:iq:roster')?.getChild('item')?.attrs['subscription'] === 'to', 'the roster push: subscribed', { since });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined, 'the puppet\'s presence', { since });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === 'subscribe', 'the puppet asking for alice\'s presence', { since });
  // alice grants it: the server sends her current presence to the puppet, which carol sees.
  await alice.send(xml('presence', { to: carolPuppet, type: 'subscribed' }));
  const online = await carol.next(presenceEvent, 10_000) as unknown as EventFrame;
  assert.equal(online.room, aliceRoom);
  assert.deepEqual([online.event['state'], (online.event['sender'] as { id: string }).id], ['available', alice.bareJid]);

  // alice's broadcast presence reaches carol as show and status.
  await alice.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
  const away = await carol.next(presenceEvent, 10_000) as unknown as EventFrame;
  assert.deepEqual([away.room, away.event['state'], away.event['status']], [aliceRoom, 'away', 'lunch']);

  // Directed presence to a puppet she has no subscription with reaches that person only.
  const davePuppet = puppetJid({ network: 'websocket', id: 'dave' }, prosody.componentDomain);
  await alice.send(xml('presence', { to: davePuppet }, xml('show', {}, 'xa')));
  const xa = await dave.next(presenceEvent, 10_000) as unknown as EventFrame;
  assert.deepEqual([xa.room, xa.event['state']], [aliceRoom, 'xa']);

  // carol's presence in the chat shows on her puppet at alice.
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'dnd', status: 'focus' } });
  const dnd = await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.getChildText('show') === 'dnd', 'carol dnd', { since });
  assert.equal(dnd.getChildText('status'), 'focus');

  // The XMPP connector restarts: alice, still subscribed, gets the puppet's last presence again.
  await bridge.stopXmpp();
  since = alice.mark();
  await bridge.startXmpp();
  const again = await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined, 'the puppet\'s presence after the restart', { since, timeoutMs: 20_000 });
  assert.deepEqual([again.getChildText('show'), again.getChildText('status')], ['dnd', 'focus']);
  // dave's puppet (no subscription, no chat) sends alice nothing.
  assert.equal(alice.stanzas.slice(since).filter(isPresenceFrom(davePuppet)).length, 0);

  // A presence to someone alice has no subscription with and no chat: not shown to her.
  await dave.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'away' } });
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'available' } });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined && el.getChild('show') === undefined && alice.stanzas.indexOf(el) >= since, 'carol available again', { since });
  assert.equal(alice.stanzas.filter(isPresenceFrom(davePuppet)).length, 0, 'dave\'s presence was not shown');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'out', outcome: 'not_shown' }), 1);
});

test('bad direct-chat input: a puppet of an unknown network, malformed or digest puppet JIDs get an XMPP error; a WS send to a puppet address loops nowhere', async (t) => {
  const { prosody, alice, bridge, carolPuppet, aliceRoom } = await setup(t);
  const carol = await ws(t, bridge, bridge.tokens.carol);
  const domain = prosody.componentDomain;
  const cases: [string, string, RegExp][] = [
    [`mtproto.777@${domain}`, 'item-not-found', /no network "mtproto" takes direct chats here/],
    [`nonsense@${domain}`, 'item-not-found', /puppet addresses are <network>\.<id>/],
    [`websocket.=zz@${domain}`, 'item-not-found', /puppet addresses/],
    [`websocket.=61lice@${domain}`, 'item-not-found', /puppet addresses/], // 'alice' spelt in a non-canonical way: refused, not a second alice
    [`websocket.=h${'0'.repeat(40)}@${domain}`, 'item-not-found', /digest/],
  ];
  for (const [to, condition, text] of cases) {
    const since = alice.mark();
    await alice.send(xml('message', { to, type: 'chat', id: `bad-${to}` }, xml('body', {}, 'hello?')));
    const error = await alice.waitFor((el) => el.name === 'message' && el.attrs['type'] === 'error' && el.attrs['id'] === `bad-${to}`, `the error for ${to}`, { since });
    const stanzaError = error.getChild('error');
    assert.equal(stanzaError?.getChildElements()[0]?.name, condition, to);
    assert.match(stanzaError?.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', text, to);
  }
  assert.deepEqual((await bridge.bus.readStream(directRoom({ network: 'xmpp', id: alice.bareJid }, { network: 'mtproto', id: '777' }) as string, undefined, 10)).entries, []);

  // A WS user writing to a puppet's own address: published (WS cannot tell), never sent to the server (it would loop back to us).
  const bobPuppet = puppetJid({ network: 'websocket', id: 'bob' }, domain);
  const ack = await carol.request({ type: 'send', room: `@xmpp:${bobPuppet}`, event: { kind: 'message', text: 'loop?' } });
  assert.equal(ack.type, 'ack');
  // ... and a valid chat still works afterwards, both ways: the component stream survived all of it.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'ok1' }, xml('body', {}, 'still here')));
  const [e] = await carol.collectEvents(1, 10_000);
  assert.equal(e?.event['text'], 'still here');
  const since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'message', text: 'me too' } });
  await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChildText('body') === 'me too', 'carol\'s answer', { since });
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'out', outcome: 'loop' }), 1);
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'in', outcome: 'refused' }), cases.length);
});

test('through the app (router with the delivering networks, the mapper in front of each connector): a direct chat both ways with presence', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await alice.send(xml('presence'));
  const CAROL = 'sb_test_carol_token_for_direct_chats';
  const tree = makeConfigTree([
    'http: { port: 8080 }\n',
    `websocket:\n  tokens:\n    - { name: carol, hash: "${hashToken(CAROL)}", displayName: Carol }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: \${SECRET}\n`,
  ].join(''), { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: lobby@${prosody.mucDomain}\n` });
  t.after(() => tree.cleanup());
  const app = await startApp(await loadConfig(tree.configFile, { env: { SECRET: prosody.componentSecret } }), { logger: silentLogger, httpPortOverride: 0 });
  t.after(() => app.close());
  const carol = await connectClient(wsUrlOf(app), CAROL);
  t.after(() => carol.close());
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  const aliceRoom = `@xmpp:${alice.bareJid}`;

  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'a1' }, xml('body', {}, 'hi through the app'), xml('origin-id', { xmlns: SID, id: 'a1' })));
  const [got] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([got?.room, got?.event['text']], [aliceRoom, 'hi through the app']);
  let since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'message', text: 'hello', replyTo: got?.event.id } });
  const answer = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChildText('body') === 'hello', 'carol\'s answer', { since });
  assert.equal(answer.getChild('reply', 'urn:xmpp:reply:0')?.attrs['id'], 'a1');
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'away', status: 'brb' } });
  const away = await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.getChildText('show') === 'away', 'carol away', { since });
  assert.equal(away.getChildText('status'), 'brb');
  await alice.send(xml('presence', { to: carolPuppet }, xml('show', {}, 'dnd')));
  const dnd = await carol.next(presenceEvent, 10_000) as unknown as EventFrame;
  assert.deepEqual([dnd.room, dnd.event['state']], [aliceRoom, 'dnd']);
});

test('an XMPP address in any case is one direct chat: carol writing to @xmpp:ALICE@LOCALHOST reaches alice in the chat of her canonical address, answers name it canonically, replies land there', async (t) => {
  const { alice, bridge, carolPuppet, aliceRoom, dm } = await setup(t);
  const carol = await ws(t, bridge, bridge.tokens.carol);
  const shouted = `@xmpp:${alice.bareJid.toUpperCase()}`;
  assert.notEqual(shouted, aliceRoom);

  const joined = await carol.request({ type: 'join', room: shouted });
  assert.deepEqual([joined.type, joined['room']], ['joined', aliceRoom], 'joined under the canonical name');
  const since = alice.mark();
  const ack = await carol.request({ type: 'send', room: shouted, event: { kind: 'message', text: 'knock knock' } });
  assert.deepEqual([ack.type, ack['room']], ['ack', aliceRoom]);
  const got = await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChildText('body') === 'knock knock', 'carol\'s message', { since });
  assert.equal(got.attrs['to']?.split('/')[0], alice.bareJid);

  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'r1' }, xml('body', {}, 'who is there')));
  const [reply] = await carol.collectEvents(1, 10_000);
  assert.equal(reply?.event['text'], 'who is there');
  assert.equal(reply?.room, aliceRoom);
  assert.equal(reply?.event['room'], dm);
  const stream = await bridge.bus.readStream(dm, START_CURSOR, 10);
  assert.deepEqual(stream.entries.map((e) => e.event.id), [ack['id'], reply?.event.id], 'carol\'s message and alice\'s reply are one conversation');

  const left = await carol.request({ type: 'leave', room: shouted });
  assert.deepEqual([left.type, left['room']], ['left', aliceRoom], 'left under any spelling');
});

test('a direct message with text and two files reaches the XMPP user as its text, then one message per file whose body is the URL alone; the last asks for the receipt and marker, and its read marker is the message\'s; a retraction retracts all three', async (t) => {
  const { alice, bridge, carolPuppet, aliceRoom } = await setup(t);
  const carol = await ws(t, bridge, bridge.tokens.carol);
  const file = (name: string) => ({ id: name, name, mime: 'text/plain', size: 3, sha256: 'ab'.repeat(32), url: `https://files.example.org/${name}` });
  const since = alice.mark();
  const ack = await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'message', text: 'two files', attachments: [file('a.txt'), file('b.txt')] } });
  const fromCarol = isChatFrom(carolPuppet);
  const text = await alice.waitFor((el) => fromCarol(el) && el.getChildText('body') === 'two files', 'the text', { since });
  const files: Element[] = [];
  for (const name of ['a.txt', 'b.txt']) {
    const url = `https://files.example.org/${name}`;
    const el = await alice.waitFor((m) => fromCarol(m) && m.getChildText('body') === url, name, { since });
    assert.equal(el.getChild('x', 'jabber:x:oob')?.getChildText('url'), url);
    files.push(el);
  }
  assert.equal(text.getChild('x', 'jabber:x:oob'), undefined);
  // Only the newest asks for the receipt and the marker: what the user's client says of it is said of carol's message.
  assert.deepEqual([text, ...files].map((el) => [el.getChild('request', 'urn:xmpp:receipts') !== undefined, el.getChild('markable', 'urn:xmpp:chat-markers:0') !== undefined]), [[false, false], [false, false], [true, true]]);
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('displayed', { xmlns: 'urn:xmpp:chat-markers:0', id: files[1]!.attrs['id'] })));
  const [read] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([read?.event.kind, read?.event['target'], read?.event['receipt']], ['receipt', ack['id'], 'displayed']);

  // A retraction retracts the text and both files (XEP-0424, by the ids they were sent with).
  const beforeRetract = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'retract', target: ack['id'] } });
  for (const el of [text, ...files]) {
    await alice.waitFor((m) => fromCarol(m) && m.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'] === el.attrs['id'], `the retraction of ${el.getChildText('body')}`, { since: beforeRetract });
  }
});
