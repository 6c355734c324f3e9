import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startEjabberd, type EjabberdServer } from '../helpers/ejabberd.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type ServerFrame, type TestClient } from '../helpers/ws-client.ts';
import { startXmppBridge, type XmppBridge } from './bridge-harness.ts';
import { PNG } from './media-rig.ts';
import { tempDir } from '../media/helpers.ts';
import { startRouteServer } from '../media/http-harness.ts';
import { startMediaService, type MediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { directRoom } from '../../src/core/direct.ts';
import { newEventId } from '../../src/core/ids.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';

/**
 * Direct chats (docs/xmpp.md "Direct chats") and avatars through a puppet against a second server
 * implementation: a throwaway ejabberd 23.01 (test/helpers/ejabberd.ts) with mod_roster and
 * mod_vcard, an ejabberd user (alice) and a WS user (carol).
 */

const SID = 'urn:xmpp:sid:0';
const NS_CORRECT = 'urn:xmpp:message-correct:0';
const NS_RETRACT = 'urn:xmpp:message-retract:1';
const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_MARKERS = 'urn:xmpp:chat-markers:0';
const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';
const NS_ROSTER = 'jabber:iq:roster';

type Sender = { network: string; id: string; name?: string; avatar?: string };
type Cleanup = (fn: () => Promise<unknown> | void) => void;

/** Cleanups run last registered first, at the end of the test: the bridge goes before the server it would reconnect to. */
function cleanups(t: { after(fn: () => Promise<void>): void }): Cleanup {
  const fns: (() => Promise<unknown> | void)[] = [];
  t.after(async () => { for (const fn of fns.reverse()) await fn(); });
  return (fn) => { fns.push(fn); };
}

interface Setup { ejabberd: EjabberdServer; alice: TestUser; bridge: XmppBridge; carol: TestClient; carolPuppet: string; aliceRoom: string; dm: string }

/** An ejabberd, alice online on it (roster fetched, available: an interested resource), the bridge, carol on WS. */
async function setup(after: Cleanup, media?: MediaService): Promise<Setup> {
  const ejabberd = await startEjabberd();
  after(() => ejabberd.destroy());
  const alice = await connectUser(ejabberd, 'alice');
  after(() => alice.stop());
  await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  await alice.send(xml('presence'));
  const bridge = await startXmppBridge(ejabberd, media ? { media } : {});
  after(() => bridge.stop());
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  after(() => carol.close());
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, ejabberd.componentDomain);
  const dm = directRoom({ network: 'xmpp', id: alice.bareJid }, { network: 'websocket', id: 'carol' }) as string;
  return { ejabberd, alice, bridge, carol, carolPuppet, aliceRoom: `@xmpp:${alice.bareJid}`, dm };
}

const isChatFrom = (puppet: string) => (el: Element): boolean => el.name === 'message' && el.attrs['type'] === 'chat' && el.attrs['from']?.split('/')[0] === puppet;
const isPresenceFrom = (puppet: string) => (el: Element): boolean => el.name === 'presence' && el.attrs['from']?.split('/')[0] === puppet;
const presenceEvent = (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event.kind === 'presence';

test('ejabberd: a direct chat alice (ejabberd) <-> carol (WS) through carol\'s puppet: messages, receipts and markers, corrections and retractions of one\'s own message, typing, both ways, each once', async (t) => {
  const after = cleanups(t);
  const { alice, bridge, carol, carolPuppet, aliceRoom, dm } = await setup(after);
  const fromCarol = isChatFrom(carolPuppet);

  // XMPP -> WS.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm1' }, xml('body', {}, 'hi carol'), xml('origin-id', { xmlns: SID, id: 'o1' }),
    xml('request', { xmlns: NS_RECEIPTS }), xml('markable', { xmlns: NS_MARKERS })));
  const [m1] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([m1?.room, m1?.event['room'], m1?.event.kind, m1?.event['text']], [aliceRoom, dm, 'message', 'hi carol']);
  assert.deepEqual(m1?.event['origin'], { connector: 'xmpp', endpoint: alice.bareJid, nativeId: 'o1' });
  assert.equal((m1?.event['sender'] as Sender).id, alice.bareJid);
  const aliceEventId = m1?.event.id as string;

  // WS -> XMPP: carol's answer from her puppet, with origin-id, receipt request, marker, nick.
  let since = alice.mark();
  const ack = await carol.request({ type: 'send', room: aliceRoom, txn: 'c1', event: { kind: 'message', text: 'hello alice' } });
  assert.equal(ack.type, 'ack');
  const c1 = await alice.waitFor((el) => fromCarol(el) && el.getChildText('body') === 'hello alice', 'carol\'s message', { since });
  const carolOriginId = c1.getChild('origin-id', SID)?.attrs['id'] ?? '';
  assert.equal(c1.attrs['id'], carolOriginId);
  assert.equal(c1.attrs['to']?.split('/')[0], alice.bareJid);
  assert.ok(c1.getChild('request', NS_RECEIPTS));
  assert.ok(c1.getChild('markable', NS_MARKERS));
  assert.equal(c1.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Carol');

  // Receipts and markers, both ways.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('received', { xmlns: NS_RECEIPTS, id: carolOriginId })));
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('displayed', { xmlns: NS_MARKERS, id: carolOriginId })));
  const receipts = await carol.collectEvents(2, 10_000);
  assert.deepEqual(receipts.map((e) => [e.event.kind, e.event['target'], e.event['receipt']]), [['receipt', ack['id'], 'delivered'], ['receipt', ack['id'], 'displayed']]);
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'receipt', target: aliceEventId, receipt: 'delivered' } });
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'receipt', target: aliceEventId, receipt: 'displayed' } });
  const received = await alice.waitFor((el) => fromCarol(el) && el.getChild('received', NS_RECEIPTS) !== undefined, 'the receipt', { since });
  assert.equal(received.getChild('received', NS_RECEIPTS)?.attrs['id'], 'm1', 'XEP-0184 names the message\'s id attribute');
  const displayed = await alice.waitFor((el) => fromCarol(el) && el.getChild('displayed', NS_MARKERS) !== undefined, 'the marker', { since });
  assert.equal(displayed.getChild('displayed', NS_MARKERS)?.attrs['id'], 'm1');

  // Corrections of one's own message, both ways.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm2' }, xml('body', {}, 'hi carol!'), xml('replace', { xmlns: NS_CORRECT, id: 'm1' })));
  const [edit] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([edit?.event.kind, edit?.event['target'], edit?.event['text']], ['edit', aliceEventId, 'hi carol!']);
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'edit', target: ack['id'], text: 'hello alice!' } });
  const correction = await alice.waitFor((el) => fromCarol(el) && el.getChild('replace', NS_CORRECT) !== undefined, 'carol\'s correction', { since });
  assert.deepEqual([correction.getChild('replace', NS_CORRECT)?.attrs['id'], correction.getChildText('body')], [carolOriginId, 'hello alice!']);

  // Typing, both ways.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat' }, xml('composing', { xmlns: NS_CHATSTATES })));
  const [typing] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([typing?.event.kind, typing?.event['state'], (typing?.event['sender'] as Sender).id], ['typing', 'active', alice.bareJid]);
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'typing', state: 'active' } });
  await alice.waitFor((el) => fromCarol(el) && el.getChild('composing', NS_CHATSTATES) !== undefined, 'carol composing', { since });

  // Retractions of one's own message, both ways (XEP-0424 by origin-id).
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm3' }, xml('retract', { xmlns: NS_RETRACT, id: 'o1' }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: NS_RETRACT }), xml('body', {}, 'retracted')));
  const [retract] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([retract?.event.kind, retract?.event['target']], ['retract', aliceEventId]);
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'retract', target: ack['id'] } });
  const retraction = await alice.waitFor((el) => fromCarol(el) && el.getChild('retract', NS_RETRACT) !== undefined, 'carol\'s retraction', { since });
  assert.equal(retraction.getChild('retract', NS_RETRACT)?.attrs['id'], carolOriginId);

  // Each once: a fence message, then count.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'm4' }, xml('body', {}, 'fence')));
  const [fence] = await carol.collectEvents(1, 10_000);
  assert.equal(fence?.event['text'], 'fence');
  await carol.request({ type: 'ping' });
  assert.deepEqual(carol.events.map((e) => e.event.kind), ['message', 'receipt', 'receipt', 'edit', 'typing', 'retract', 'message']);
  const carolsToAlice = alice.stanzas.filter((el) => fromCarol(el) && el.getChild('body') !== undefined && el.getChild('retract', NS_RETRACT) === undefined);
  assert.deepEqual(carolsToAlice.map((el) => el.getChildText('body')), ['hello alice', 'hello alice!'], carolsToAlice.map(String).join('\n'));
  const stream = await bridge.bus.readStream(dm, undefined, 100);
  assert.equal(stream.entries.length, 13, 'alice: message, 2 receipts, edit, typing, retract, message; carol: message, 2 receipts, edit, typing, retract');
});

test('ejabberd: a roster subscription to a puppet is accepted as ejabberd keeps rosters (both ways, pushed), presence flows both ways, ejabberd\'s probes at a new login are answered, an unsubscribe is answered', async (t) => {
  const after = cleanups(t);
  const { ejabberd, alice, bridge, carol, carolPuppet, aliceRoom } = await setup(after);
  const rosterItem = (el: Element): Element | undefined => el.name === 'iq' && el.attrs['type'] === 'set' ? el.getChild('query', NS_ROSTER)?.getChild('item') : undefined;
  const pushed = (subscription: string) => (el: Element): boolean => rosterItem(el)?.attrs['jid'] === carolPuppet && rosterItem(el)?.attrs['subscription'] === subscription && rosterItem(el)?.attrs['ask'] === undefined;

  // alice subscribes to carol's puppet: ejabberd's roster push (to), the puppet's presence, and its own request.
  let since = alice.mark();
  await alice.send(xml('presence', { to: carolPuppet, type: 'subscribe' }));
  await alice.waitFor(pushed('to'), 'the roster push: subscribed (to)', { since });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined, 'the puppet\'s presence', { since });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === 'subscribe', 'the puppet asking for alice\'s presence', { since });
  // alice grants it: the roster is both, and ejabberd sends her presence to the puppet, which carol sees.
  await alice.send(xml('presence', { to: carolPuppet, type: 'subscribed' }));
  await alice.waitFor(pushed('both'), 'the roster push: both', { since });
  const online = await carol.next(presenceEvent, 10_000) as EventFrame;
  assert.deepEqual([online.room, online.event['state'], (online.event['sender'] as Sender).id], [aliceRoom, 'available', alice.bareJid]);

  // Her broadcast presence reaches carol (ejabberd sends it to the puppet: a contact with 'from').
  await alice.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
  const away = await carol.next(presenceEvent, 10_000) as EventFrame;
  assert.deepEqual([away.event['state'], away.event['status']], ['away', 'lunch']);
  // carol's presence shows on her puppet.
  since = alice.mark();
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'dnd', status: 'focus' } });
  const dnd = await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.getChildText('show') === 'dnd', 'carol dnd', { since });
  assert.equal(dnd.getChildText('status'), 'focus');

  // alice logs in again elsewhere: ejabberd probes the puppet for her new session's initial
  // presence, from that session's full JID (Prosody probes from the bare JID). The answer goes to
  // that session only: her first session, which has it already, gets no copy.
  const sinceFirst = alice.mark();
  const alice2 = await connectUser(ejabberd, 'alice', 'second');
  after(() => alice2.stop());
  await alice2.request(xml('iq', { type: 'get' }, xml('query', { xmlns: NS_ROSTER })));
  await alice2.send(xml('presence'));
  const probed = await alice2.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined, 'the puppet\'s presence at alice\'s new session');
  assert.deepEqual([probed.getChildText('show'), probed.getChildText('status')], ['dnd', 'focus']);
  assert.equal(probed.attrs['to'], alice2.jid);
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === alice2.jid, 'her second session\'s presence at the first');
  await carol.request({ type: 'send', room: aliceRoom, event: { kind: 'presence', state: 'dnd', status: 'still focused' } });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.getChildText('status') === 'still focused', 'carol still focused', { since: sinceFirst });
  assert.deepEqual(alice.stanzas.slice(sinceFirst).filter((el) => isPresenceFrom(carolPuppet)(el) && el.getChildText('status') === 'focus').map(String), [], 'no copy of the probe\'s answer');

  // alice unsubscribes: answered with unavailable, and the roster says from (the puppet still has hers).
  since = alice.mark();
  await alice.send(xml('presence', { to: carolPuppet, type: 'unsubscribe' }));
  await alice.waitFor(pushed('from'), 'the roster push: from', { since });
  await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === 'unavailable', 'the puppet unavailable', { since });
});

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** The media store (allowed to fetch from loopback) on an HTTP server of its own, and a plain file host serving `/face.png`. */
async function mediaWithOrigin(after: Cleanup, face: Buffer): Promise<{ media: MediaService; faceUrl: string }> {
  const origin = createServer((req, res) => {
    if (req.url === '/face.png') { res.writeHead(200, { 'content-type': 'image/png' }); res.end(face); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  after(() => new Promise<void>((r) => origin.close(() => r())));
  const dir = await tempDir();
  after(() => dir.remove());
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  after(() => mediaServer.close());
  const media = await startMediaService({
    config: MediaConfigSchema.parse({ dir: './media', urls: { secret: 'm'.repeat(40) }, fetch: { allow: ['127.0.0.1/32'] } }),
    baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger,
  });
  routes = media.routes;
  after(() => media.close());
  return { media, faceUrl: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/face.png` };
}

test('ejabberd: avatars in a direct chat both ways: alice\'s vCard photo (XEP-0153 hash in her presence to the puppet, her vCard fetched from ejabberd) is her avatar at carol; carol\'s avatar is in her puppet\'s vCard as ejabberd relays alice\'s request, and in its presence', async (t) => {
  const after = cleanups(t);
  const aliceFace = Buffer.concat([PNG, Buffer.from('alice')]); // still a PNG by its signature
  const { media, faceUrl } = await mediaWithOrigin(after, PNG);
  const { alice, bridge, carol, carolPuppet, aliceRoom, dm } = await setup(after, media);

  // XMPP -> WS: alice stores her vCard on ejabberd (mod_vcard) and shows herself to carol's puppet with its hash.
  const stored = await alice.request(xml('iq', { type: 'set', id: 'vc-set' }, xml('vCard', { xmlns: 'vcard-temp' }, xml('NICKNAME', {}, 'Alice'),
    xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, aliceFace.toString('base64'))))));
  assert.equal(stored.attrs['type'], 'result', 'ejabberd stored the vCard');
  await alice.send(xml('presence', { to: carolPuppet }, xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, sha1(aliceFace)))));
  const withAvatar = await carol.next((f) => presenceEvent(f) && (f as EventFrame).event['room'] === dm && ((f as EventFrame).event['sender'] as Sender).avatar !== undefined, 15_000) as EventFrame;
  const sender = withAvatar.event['sender'] as Sender;
  assert.deepEqual([withAvatar.room, sender.network, sender.id], [aliceRoom, 'xmpp', alice.bareJid]);
  const got = await fetch(sender.avatar!);
  assert.equal(got.status, 200, sender.avatar);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), aliceFace, 'the avatar URL gives her vCard photo\'s bytes');
  // Her messages carry it too.
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'av1' }, xml('body', {}, 'with a face')));
  const msg = await carol.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'with a face', 10_000) as EventFrame;
  assert.ok((msg.event['sender'] as Sender).avatar, 'her message carries her avatar');

  // WS -> XMPP: carol (with an avatar, as a mapping or her network gives it) writes to alice.
  const carolSender = { network: 'websocket', id: 'carol', name: 'Carol', avatar: faceUrl };
  let since = alice.mark();
  await bridge.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: dm, kind: 'message', text: 'hi with my face', sender: carolSender, origin: { connector: 'websocket', endpoint: 'carol', session: 's_test' } }]);
  await alice.waitFor((el) => isChatFrom(carolPuppet)(el) && el.getChildText('body') === 'hi with my face', 'carol\'s message', { since });
  // alice asks carol's puppet for its vCard (to the bare JID: ejabberd routes it to the component).
  const card = (await alice.request(xml('iq', { type: 'get', to: carolPuppet, id: 'vc-carol' }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild('vCard', 'vcard-temp');
  assert.equal(card?.getChildText('FN'), 'Carol');
  assert.equal(card?.getChild('PHOTO')?.getChildText('TYPE'), 'image/png');
  assert.equal(card?.getChild('PHOTO')?.getChildText('BINVAL'), PNG.toString('base64'));
  // The puppet's presence to alice (she subscribes) advertises the same bytes' SHA-1.
  since = alice.mark();
  await alice.send(xml('presence', { to: carolPuppet, type: 'subscribe' }));
  const shown = await alice.waitFor((el) => isPresenceFrom(carolPuppet)(el) && el.attrs['type'] === undefined, 'the puppet\'s presence', { since });
  assert.equal(shown.getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), sha1(PNG));
});
