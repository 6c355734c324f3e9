import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OriginIds } from '../../src/connectors/xmpp/origin-ids.ts';
import { pieceEndpoint, piecesOf } from '../../src/connectors/xmpp/message-pieces.ts';
import { TokenBucket } from '../../src/core/token-bucket.ts';
import { buildMamQuery, parseFin, unwrapResult } from '../../src/connectors/xmpp/stanza/mam.ts';
import { newEventId } from '../../src/core/ids.ts';
import parse from '@xmpp/xml/lib/parse.js';
import type { Element } from '@xmpp/xml';
import { Occupancies } from '../../src/connectors/xmpp/occupancy.ts';
import { parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { fromInsideDomain, roomStateKey } from '../../src/connectors/xmpp/address.ts';
import { RoomSubjects, subjectNews } from '../../src/connectors/xmpp/topics.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { busOptions } from '../websocket/harness.ts';
import xml from '@xmpp/xml';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { counter } from '../../src/core/metrics.ts';
import { ArchiveCatchUp, type HeldArchive } from '../../src/connectors/xmpp/catch-up.ts';
import type { ArchiveReader } from '../../src/connectors/xmpp/archive.ts';
import { InboundOrder } from '../../src/connectors/xmpp/inbound-order.ts';
import type { ArchivedMessage, ArchiveQuery, PageEnd } from '../../src/connectors/xmpp/stanza/mam.ts';
import { IqErrorReply } from '../../src/connectors/xmpp/component-link.ts';
import { waitFor } from '../helpers/wait.ts';

test('origin-ids: deterministic per event, unforgeable without the secret', () => {
  const ids = new OriginIds('component secret');
  const id = newEventId();
  const origin = ids.of(id);
  assert.equal(ids.of(id), origin, 'a retry sends the same origin-id');
  assert.equal(ids.eventOf(origin), id);
  assert.equal(ids.isOurs(origin.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))), false, 'a changed tag is not ours');
  assert.equal(ids.isOurs(`sb-${id}-${'A'.repeat(16)}`), false);
  assert.equal(new OriginIds('another secret').isOurs(origin), false);
  for (const bad of [undefined, '', 'sb-', `sb-${id}`, 'x'.repeat(1000), `sb-${id}-${origin.slice(-16)}x`]) assert.equal(ids.isOurs(bad), false, String(bad));
});

test('origin-ids of a message\'s pieces (its caption, its further files): the event\'s, each its own, as unforgeable', () => {
  const ids = new OriginIds('component secret');
  const id = newEventId();
  const caption = ids.of(id, 'caption');
  const file = ids.of(id, 'f1');
  assert.equal(new Set([ids.of(id), caption, file]).size, 3, 'each piece its own origin-id');
  assert.equal(ids.eventOf(caption), id);
  assert.equal(ids.eventOf(file), id);
  // The tag covers the piece's name: another name with the same tag is not ours.
  assert.equal(ids.isOurs(caption.replace('~caption-', '~f2-')), false);
  assert.equal(ids.isOurs(`sb-${id}~caption-${ids.of(id).slice(-16)}`), false);
  assert.equal(new OriginIds('another secret').isOurs(file), false);
});

test('message pieces: text alone is one message; files are one message each, the first standing for the event; a text with files goes first, as the caption', () => {
  const a = { id: 'a', name: 'a.png', mime: 'image/png', size: 1, sha256: '0'.repeat(64), url: 'https://example.org/a.png' };
  const b = { ...a, id: 'b', name: 'b.txt', url: 'https://example.org/b.txt' };
  const shape = (ps: ReturnType<typeof piecesOf>) => ps.map((p) => [p.piece, p.content.text, p.oob.map((o) => o.url), p.carriesReply]);
  assert.deepEqual(shape(piecesOf('hi', [], [])), [[undefined, 'hi', [], true]]);
  assert.deepEqual(shape(piecesOf('', [], [a])), [[undefined, '', [a.url], true]]);
  assert.deepEqual(shape(piecesOf('', [], [a, b])), [[undefined, '', [a.url], true], ['f1', '', [b.url], false]]);
  assert.deepEqual(shape(piecesOf('look', [{ type: 'bold', offset: 0, length: 4 }], [a, b])), [['caption', 'look', [], true], [undefined, '', [a.url], false], ['f1', '', [b.url], false]]);
  assert.deepEqual(pieceEndpoint({ connector: 'xmpp', address: 'lobby@muc.example.org' }, 'f1'), { connector: 'xmpp', address: 'lobby@muc.example.org#f1' });
});

test('token bucket: burst, then the rate; says how long until the next token', () => {
  let now = 0;
  const b = new TokenBucket(10, 3, () => now);
  assert.deepEqual([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()], [true, true, true, false]);
  assert.equal(b.msUntilToken(), 100);
  now = 100;
  assert.equal(b.tryTake(), true);
  assert.throws(() => new TokenBucket(0, 1), /perSecond/);
});

test('from inside the component domain: exactly the domain, any local/resource, never a sub- or other domain', () => {
  assert.equal(fromInsideDomain('bridge.example.org', 'bridge.example.org'), true);
  assert.equal(fromInsideDomain('a.b@bridge.example.org/r', 'bridge.example.org'), true);
  assert.equal(fromInsideDomain('A@BRIDGE.example.org', 'bridge.example.org'), true);
  for (const bad of [undefined, '', 'example.org', 'x@sub.bridge.example.org', 'x@bridge.example.org.evil', '@bridge.example.org', 'bridge.example.org@evil.org']) {
    assert.equal(fromInsideDomain(bad, 'bridge.example.org'), false, String(bad));
  }
});

test('MAM: query form and RSM paging; results unwrapped only for their query', () => {
  const q = buildMamQuery('bridge.example.org/relay', 'room@muc.example.org', 'q1', { after: 'abc', max: 100, start: Date.UTC(2020, 0, 2, 3, 4, 5) });
  assert.equal(q.attrs['type'], 'set');
  const query = q.getChild('query', 'urn:xmpp:mam:2');
  assert.equal(query?.attrs['queryid'], 'q1');
  assert.equal(query?.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('after'), 'abc');
  const fields = query?.getChild('x', 'jabber:x:data')?.getChildren('field').map((f) => [f.attrs['var'], f.getChildText('value')]);
  assert.deepEqual(fields, [['FORM_TYPE', 'urn:xmpp:mam:2'], ['start', '2020-01-02T03:04:05Z']]);
  // XEP-0313 Example 4 shape.
  const result = parse(`<message id='aeb213' to='juliet@capulet.lit/chamber'><result xmlns='urn:xmpp:mam:2' queryid='f27' id='28482-98726-73623'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/><message xmlns='jabber:client' from="witch@shakespeare.lit" to="macbeth@shakespeare.lit"><body>Hail to thee</body></message></forwarded></result></message>`);
  assert.equal(unwrapResult(result, 'f27')?.id, '28482-98726-73623');
  assert.equal(unwrapResult(result, 'f27')?.message.getChildText('body'), 'Hail to thee');
  assert.equal(unwrapResult(result, 'other'), undefined);
  const fin = parse(`<iq type='result' id='juliet1'><fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'><first index='0'>28482-98726-73623</first><last>09af3-cc343-b409f</last></set></fin></iq>`);
  assert.deepEqual(parseFin(fin), { complete: true, last: '09af3-cc343-b409f' });
});

test('occupancy: a presence change (or an avatar) that comes while the join is on its way is sent once the join completes; an unchanged one is not sent again', async () => {
  const sent: Element[] = [];
  const occupancies = new Occupancies(async (el) => { sent.push(el); }, { joinTimeoutMs: 5_000, maxNickAttempts: 3 }, silentLogger);
  const room = 'lobby@muc.example.org';
  const puppet = 'mtproto.41@bridge.example.org/switchboard';
  const joined = occupancies.ensureJoined(room, puppet, 'Dana', 'mtproto');
  assert.equal(sent.length, 1, 'the join');
  assert.equal(await occupancies.updatePresence(room, puppet, { state: 'away', status: 'lunch', photo: 'a'.repeat(40) }), false, 'not joined yet');
  assert.equal(sent.length, 1, 'nothing sent while the join is under way');
  const selfPresence = (extra = '') => parsePresence(parse(`<presence from='${room}/Dana' to='${puppet}'${extra}><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>`));
  occupancies.onPresence(selfPresence());
  assert.equal(await joined, 'Dana');
  assert.equal(sent.length, 2, 'the change, after the join');
  const update = sent[1]!;
  assert.deepEqual([update.attrs['to'], update.getChildText('show'), update.getChildText('status'), update.getChild('x', 'vcard-temp:x:update')?.getChildText('photo')], [`${room}/Dana`, 'away', 'lunch', 'a'.repeat(40)]);
  // The room reflects our presence as a self-presence again: nothing more to send.
  occupancies.onPresence(selfPresence());
  assert.equal(await occupancies.updatePresence(room, puppet, { state: 'away', status: 'lunch' }), true);
  assert.equal(sent.length, 2, 'no change, nothing sent');
  assert.equal(await occupancies.updatePresence(room, puppet, { state: 'available', status: undefined }), true);
  assert.equal(sent.length, 3);
  assert.equal(sent[2]!.getChild('show'), undefined);
  assert.equal(sent[2]!.getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), 'a'.repeat(40), 'the avatar hash stays on every presence');
});

test('occupancy: a nick the room refuses as malformed is tried again in its plainest form, once; a second refusal fails the join', async () => {
  const sent: Element[] = [];
  const occupancies = new Occupancies(async (el) => { sent.push(el); }, { joinTimeoutMs: 5_000, maxNickAttempts: 3 }, silentLogger);
  const room = 'lobby@muc.example.org';
  const puppet = 'mtproto.41@bridge.example.org/switchboard';
  const malformed = (nick: string) => parsePresence(parse(`<presence type='error' from='${room}/${nick}' to='${puppet}'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`));
  const joined = occupancies.ensureJoined(room, puppet, 'Zoë ☕ Ω', 'mtproto');
  assert.equal(sent[0]!.attrs['to'], `${room}/Zoë ☕ Ω`);
  occupancies.onPresence(malformed('Zoë ☕ Ω'));
  assert.equal(sent[1]!.attrs['to'], `${room}/Zoe`, 'ASCII letters, digits and a few marks are left');
  occupancies.onPresence(parsePresence(parse(`<presence from='${room}/Zoe' to='${puppet}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>`)));
  assert.equal(await joined, 'Zoe');

  const other = 'mtproto.42@bridge.example.org/switchboard';
  const refused = occupancies.ensureJoined(room, other, '☕', 'mtproto');
  occupancies.onPresence(parsePresence(parse(`<presence type='error' from='${room}/☕' to='${other}'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`)));
  assert.equal(sent.at(-1)!.attrs['to'], `${room}/mtproto`, 'nothing plain is left: the network\'s name');
  occupancies.onPresence(parsePresence(parse(`<presence type='error' from='${room}/mtproto' to='${other}'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`)));
  await assert.rejects(refused, /jid-malformed/);
});

test('occupancy: an unavailable self-presence we did not ask for is a removal whatever its codes (ejabberd removes an occupant it could not deliver to with 110 alone); while joining it is the echo of an earlier leave', async () => {
  const sent: Element[] = [];
  const removed: string[] = [];
  const occupancies = new Occupancies(async (el) => { sent.push(el); }, { joinTimeoutMs: 5_000, maxNickAttempts: 3 }, silentLogger,
    (room, realJid, reason) => { removed.push(`${room} ${realJid} ${reason}`); });
  const room = 'lobby@conference.localhost';
  const relay = 'bridge.localhost/relay';
  const self = parsePresence(parse(`<presence to='${relay}' from='${room}/Switchboard'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='${relay}' role='participant' affiliation='none'/><status code='110'/></x></presence>`));
  // What ejabberd 23.01 sent the relay (verbatim but for the ids) after a message to a leftover of
  // an earlier stream of ours, with the same JID, could not be delivered.
  const removedByEjabberd = parsePresence(parse(`<presence to='${relay}' from='${room}/Switchboard' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='${relay}' role='none' affiliation='none'/><status code='110'/></x><status xml:lang='en'>It is not allowed to send error messages to the room. The participant (Switchboard) has sent an error message (remote-server-not-found) and got kicked from the room</status></presence>`));

  // While the join is under way, an unavailable self-presence is the echo of an earlier leave: the join goes on.
  const joined = occupancies.ensureJoined(room, relay, 'Switchboard', 'xmpp');
  occupancies.onPresence(removedByEjabberd);
  assert.deepEqual(removed, []);
  occupancies.onPresence(self);
  assert.equal(await joined, 'Switchboard');
  assert.equal(occupancies.isOurs(room, 'Switchboard'), true);

  // Joined: the same presence means we are out, and the owner hears of it (the relay joins again).
  occupancies.onPresence(removedByEjabberd);
  assert.deepEqual(removed, [`${room} ${relay} removed`]);
  assert.equal(occupancies.isOurs(room, 'Switchboard'), false);
  assert.equal(occupancies.nickOf(room, relay), undefined);
  const before = sent.length;
  const again = occupancies.ensureJoined(room, relay, 'Switchboard', 'xmpp');
  assert.equal(sent.length, before + 1, 'a new join goes out');
  occupancies.onPresence(self);
  assert.equal(await again, 'Switchboard');

  // A room destroyed by its owner (XEP-0045 §10.9) is not joined again: that would create it anew.
  occupancies.onPresence(parsePresence(parse(`<presence to='${relay}' from='${room}/Switchboard' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none' affiliation='none'/><destroy/><status code='110'/></x></presence>`)));
  assert.deepEqual(removed, [`${room} ${relay} removed`], 'no second removal');
  assert.equal(occupancies.isOurs(room, 'Switchboard'), false);
});

test('a room\'s subject message: a change only when live, not ours, and not the subject known; at the relay\'s join with none known, only stored', () => {
  const news = (s: Partial<Parameters<typeof subjectNews>[0]>): string => subjectNews({ source: 'live', atJoin: false, ours: false, known: 'old', text: 'new', ...s });
  assert.equal(news({}), 'changed', 'a live change by an occupant');
  assert.equal(news({ known: undefined }), 'changed', 'a live change, nothing known before');
  assert.equal(news({ text: '' }), 'changed', 'cleared');
  assert.equal(news({ text: 'old' }), 'unchanged');
  assert.equal(news({ ours: true }), 'echo', 'the relay\'s own change, coming back');
  assert.equal(news({ ours: true, text: 'old' }), 'echo');
  assert.equal(news({ atJoin: true }), 'changed', 'changed while the bridge was away');
  assert.equal(news({ atJoin: true, text: 'old' }), 'unchanged');
  assert.equal(news({ atJoin: true, known: undefined }), 'initial', 'a newly linked room: its subject overwrites nothing');
  assert.equal(news({ atJoin: true, ours: true }), 'echo');
  assert.equal(news({ source: 'archive' }), 'archived');
  assert.equal(news({ source: 'archive', known: undefined, atJoin: true }), 'archived');
});

test('room subjects: kept in the bus state per room (a long room JID hashed); the relay\'s change waits for its broadcast with that very text', async () => {
  const bus = new MemoryBus(busOptions(createRegistry(false)));
  const subjects = new RoomSubjects(bus.state('xmpp'));
  const room = 'lobby@conference.example.org';
  assert.equal(await subjects.known(room), undefined);
  await subjects.remember(room, 'release day');
  assert.equal(await subjects.known(room), 'release day');
  assert.equal(await bus.state('xmpp').get(`subject:${room}`), 'release day');
  const long = `${'x'.repeat(500)}@conference.example.org`;
  await subjects.remember(long, '');
  assert.equal(await subjects.known(long), '', 'cleared is known as cleared');
  assert.equal(roomStateKey('subject', long).length < 100, true);
  subjects.asked(room, 'o-1', 'new');
  assert.equal(subjects.broadcast(room, 'other'), undefined, 'someone else\'s text is not the answer');
  assert.equal(subjects.broadcast(room, 'new'), 'o-1');
  assert.equal(subjects.broadcast(room, 'new'), undefined, 'answered once');
  subjects.asked(room, 'o-2', 'newer');
  subjects.forget(room, 'o-1');
  subjects.forget(room, 'o-2');
  assert.equal(subjects.broadcast(room, 'newer'), undefined, 'forgotten when its delivery is over');
  await bus.close();
});

test('archive catch-up: a room that does not say whether it keeps an archive (a timeout) is caught up later, not skipped; live positions wait until then', async () => {
  const room = 'lobby@muc.example.org';
  const state = new LocalState().store('xmpp');
  await state.set(roomStateKey('mam', room), 's1');
  const bridged: string[] = [];
  let asked = 0;
  const archived = (id: string, text: string): ArchivedMessage => ({ id, message: xml('message', { type: 'groupchat', from: `${room}/alice` }, xml('body', {}, text)) } as ArchivedMessage);
  const held: HeldArchive = {
    archive: { page: async () => ({ messages: [archived('s2', 'said while away')], end: { complete: true } }) } as unknown as ArchiveReader,
    hasArchive: async () => { asked++; if (asked === 1) throw new Error('disco#info timed out'); return true; },
    onSubject: async () => {},
    bridge: async (msg) => { bridged.push(msg.body ?? ''); },
  };
  const order = new InboundOrder(silentLogger, counter(createRegistry(false), 'xmpp_inbound_test_total', 'test', ['outcome']));
  const catchUp = new ArchiveCatchUp({ domain: 'bridge.example.org', rooms: new Map([[room, { connector: 'xmpp', address: room }]]), state, logger: silentLogger, order, held: () => held, maxAgeMs: 0, pagesPerTurn: 100, pauseMs: 10_000 });
  try {
    await catchUp.catchUpOrLater(room, 20);
    assert.deepEqual(bridged, [], 'nothing read while the room did not answer');
    // Meanwhile a live message's position is not saved: a restart now would still read from s1.
    catchUp.notePosition(room, 's9', 'live');
    await waitFor(async () => bridged.length === 1, { what: 'the catch-up tried again', timeoutMs: 5_000 });
    assert.deepEqual(bridged, ['said while away']);
    assert.equal(asked, 2);
    assert.equal(await state.get(roomStateKey('mam', room)), 's1', 'the live position was not saved before the catch-up succeeded');
    catchUp.notePosition(room, 's10', 'live');
    await waitFor(async () => await state.get(roomStateKey('mam', room)) === 's10', { what: 'live positions saved again' });
  } finally {
    catchUp.stop();
  }
});

test('archive catch-up: bounded in age (the query\'s start), read from that bound or the archive\'s start when the archive no longer holds the position, paused after 100 pages, failed on other errors; each counted', async () => {
  const room = 'lobby@muc.example.org';
  const registry = createRegistry(false);
  const outcomes = counter(registry, 'xmpp_catch_ups_test_total', 'test', ['outcome']);
  const order = new InboundOrder(silentLogger, counter(registry, 'xmpp_inbound_test2_total', 'test', ['outcome']));
  const archived = (id: string): ArchivedMessage => ({ id, message: xml('message', { type: 'groupchat', from: `${room}/alice` }, xml('body', {}, id)) } as ArchivedMessage);
  const notFound = new IqErrorReply(xml('iq', { type: 'error' }), 'item-not-found');
  const now = Date.parse('2026-12-06T12:00:00Z');
  /** A catch-up over a stand-in archive that answers each query with `answer`; returns the queries and what was bridged. */
  const run = async (position: string, maxAgeMs: number, answer: (q: ArchiveQuery, n: number) => { messages: ArchivedMessage[]; end: PageEnd }) => {
    const state = new LocalState().store('xmpp');
    await state.set(roomStateKey('mam', room), position);
    const queries: ArchiveQuery[] = [];
    const bridged: string[] = [];
    const held: HeldArchive = {
      archive: { page: async (_room: string, q: ArchiveQuery) => { queries.push(q); return answer(q, queries.length); } } as unknown as ArchiveReader,
      hasArchive: async () => true,
      onSubject: async () => {},
      bridge: async (msg) => { bridged.push(msg.body ?? ''); },
    };
    const catchUp = new ArchiveCatchUp({ domain: 'bridge.example.org', rooms: new Map([[room, { connector: 'xmpp', address: room }]]), state, logger: silentLogger, order, held: () => held, maxAgeMs, outcomes, now: () => now, pagesPerTurn: 100, pauseMs: 60_000 });
    try {
      await catchUp.catchUpOrLater(room, 60_000);
    } finally {
      catchUp.stop();
    }
    return { queries, bridged };
  };
  const count = async (outcome: string) => (await registry.getSingleMetric('xmpp_catch_ups_test_total')!.get()).values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
  const day = 86_400_000;

  // The position is in the window: one query after it, from the bound on.
  let r = await run('s1', 7 * day, () => ({ messages: [archived('s2')], end: { complete: true } }));
  assert.deepEqual(r.queries, [{ after: 's1', start: now - 7 * day, max: 100 }]);
  assert.deepEqual(r.bridged, ['s2']);
  assert.equal(await count('read'), 1);

  // No bound (0): no start in the query.
  r = await run('s1', 0, () => ({ messages: [], end: { complete: true } }));
  assert.deepEqual(r.queries, [{ after: 's1', max: 100 }]);

  // The archive no longer holds the position among the window's messages: read from the bound.
  r = await run('s1', 7 * day, (q) => { if (q.after === 's1') throw notFound; return { messages: [archived('s5'), archived('s6')], end: { complete: true } }; });
  assert.deepEqual(r.queries, [{ after: 's1', start: now - 7 * day, max: 100 }, { start: now - 7 * day, max: 100 }]);
  assert.deepEqual(r.bridged, ['s5', 's6']);
  assert.equal(await count('read_from_age_bound'), 1);

  // Without a bound, an expired position: read all the archive holds.
  r = await run('s1', 0, (q) => { if (q.after === 's1') throw notFound; return { messages: [archived('s7')], end: { complete: true } }; });
  assert.deepEqual(r.queries, [{ after: 's1', max: 100 }, { max: 100 }]);
  assert.deepEqual(r.bridged, ['s7']);
  assert.equal(await count('read_from_archive_start'), 1);

  // item-not-found on a later page, or any other error: the catch-up fails (live only), no re-read.
  r = await run('s1', 7 * day, (q, n) => { if (n === 2) throw notFound; return { messages: [archived(`p${n}`)], end: { complete: false, last: `p${n}` } }; });
  assert.deepEqual(r.queries.map((q) => q.after), ['s1', 'p1']);
  assert.deepEqual(r.bridged, ['p1']);
  r = await run('s1', 7 * day, () => { throw new IqErrorReply(xml('iq', { type: 'error' }), 'forbidden'); });
  assert.equal(r.queries.length, 1);
  assert.equal(await count('failed'), 2);

  // An archive that never ends: 100 pages, then a pause (counted; the next turn is the next test's).
  r = await run('s1', 7 * day, (_q, n) => ({ messages: [archived(`m${n}`)], end: { complete: false, last: `m${n}` } }));
  assert.equal(r.queries.length, 100);
  assert.equal(r.bridged.length, 100);
  assert.equal(r.queries[99]?.after, 'm99');
  assert.equal(await count('paused'), 1);
});

test('archive catch-up: a backlog longer than a turn goes on after each pause from where it stopped, in order, until all is read; live positions are saved only once it is', async () => {
  const room = 'lobby@muc.example.org';
  const registry = createRegistry(false);
  const outcomes = counter(registry, 'xmpp_catch_ups_paced_total', 'test', ['outcome']);
  const order = new InboundOrder(silentLogger, counter(registry, 'xmpp_inbound_paced_total', 'test', ['outcome']));
  const count = async (outcome: string) => (await registry.getSingleMetric('xmpp_catch_ups_paced_total')!.get()).values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
  const state = new LocalState().store('xmpp');
  await state.set(roomStateKey('mam', room), 's0');
  // A stand-in archive of s0..s11, two per page, paged by `after` as a server does.
  const ids = Array.from({ length: 12 }, (_, i) => `s${i}`);
  const archived = (id: string): ArchivedMessage => ({ id, message: xml('message', { type: 'groupchat', from: `${room}/alice` }, xml('body', {}, id)) } as ArchivedMessage);
  const afters: (string | undefined)[] = [];
  const bridged: string[] = [];
  let catchUp: ArchiveCatchUp;
  const held: HeldArchive = {
    archive: {
      page: async (_room: string, q: ArchiveQuery) => {
        afters.push(q.after);
        const from = q.after === undefined ? 0 : ids.indexOf(q.after) + 1;
        const messages = ids.slice(from, from + 2).map(archived);
        return { messages, end: { complete: from + 2 >= ids.length, ...(messages.length > 0 ? { last: messages.at(-1)!.id } : {}) } };
      },
    } as unknown as ArchiveReader,
    hasArchive: async () => true,
    onSubject: async () => {},
    // As room-messages.ts does: each archived message bridged moves the position to it.
    bridge: async (msg) => { bridged.push(msg.body ?? ''); catchUp.notePosition(room, msg.stanzaId, 'archive'); },
  };
  catchUp = new ArchiveCatchUp({ domain: 'bridge.example.org', rooms: new Map([[room, { connector: 'xmpp', address: room }]]), state, logger: silentLogger, order, held: () => held, maxAgeMs: 0, outcomes, pagesPerTurn: 2, pauseMs: 150 });
  try {
    await catchUp.catchUpOrLater(room);
    assert.deepEqual(bridged, ['s1', 's2', 's3', 's4'], 'the first turn: two pages');
    assert.equal(await count('paused'), 1);
    // A live message during the pause: bridged (by the live path), its position not saved yet.
    catchUp.notePosition(room, 's12', 'live');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await state.get(roomStateKey('mam', room)), 's4', 'the position stays where the catch-up stopped');
    await waitFor(async () => bridged.length === 11, { what: 'the rest of the backlog, turn by turn', timeoutMs: 5_000 });
    assert.deepEqual(bridged, ids.slice(1));
    // Each turn went on from where the last one stopped: no page read twice, none skipped.
    assert.deepEqual(afters, ['s0', 's2', 's4', 's6', 's8', 's10']);
    assert.equal(await count('paused'), 2);
    assert.equal(await count('read'), 1);
    catchUp.notePosition(room, 's13', 'live');
    await waitFor(async () => await state.get(roomStateKey('mam', room)) === 's13', { what: 'live positions saved again once the backlog is read' });
  } finally {
    catchUp.stop();
  }
});
