import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/router/router.ts';
import { diffEndpoints, type Bridge } from '../../src/core/endpoint.ts';
import { newEventId } from '../../src/core/ids.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { directRoom } from '../../src/core/direct.ts';

const bridges: Bridge[] = [
  { room: 'lobby', source: 'bridges/lobby.yaml', endpoints: [
    { connector: 'websocket', address: 'lobby' },
    { connector: 'xmpp', address: 'lobby@conference.example.org' },
    { connector: 'mtproto', address: '-100' },
  ] },
  { room: 'ops', source: 'bridges/ops.yaml', endpoints: [{ connector: 'xmpp', address: 'ops@conference.example.org' }] },
];

function eventFrom(connector: string, endpoint: string, room = 'lobby'): CanonicalEvent {
  return { v: 1, id: newEventId(), ts: 0, room, kind: 'typing', state: 'active',
    sender: { network: connector, id: 'u' }, origin: { connector, endpoint } };
}

test('an event goes to every linked endpoint except its origin', () => {
  const router = new Router(bridges);
  assert.deepEqual(router.route(eventFrom('xmpp', 'lobby@conference.example.org')).map((e) => e.connector), ['websocket', 'mtproto']);
  assert.deepEqual(router.route(eventFrom('mtproto', '-100')).map((e) => e.connector), ['websocket', 'xmpp']);
});

test('hosted connectors keep their own endpoint as a target (other sessions there), others never get an echo', () => {
  const router = new Router(bridges, { hostedConnectors: ['websocket', 'mtproto'] });
  assert.deepEqual(router.route(eventFrom('websocket', 'lobby')).map((e) => e.connector), ['websocket', 'xmpp', 'mtproto']);
  assert.deepEqual(router.route(eventFrom('xmpp', 'lobby@conference.example.org')).map((e) => e.connector), ['websocket', 'mtproto']);
});

test('an event of an unknown room, or claiming a room its endpoint is not linked to, goes nowhere', () => {
  const router = new Router(bridges);
  assert.deepEqual(router.route(eventFrom('websocket', 'lobby', 'nowhere')), []);
  assert.deepEqual(router.route(eventFrom('xmpp', 'ops@conference.example.org', 'lobby')), []);
  assert.deepEqual(router.route(eventFrom('websocket', 'unlinked', 'lobby')), []);
});

test('roomOf finds the room of an endpoint', () => {
  const router = new Router(bridges);
  assert.equal(router.roomOf({ connector: 'websocket', address: 'lobby' }), 'lobby');
  assert.equal(router.roomOf({ connector: 'websocket', address: 'ops' }), undefined);
  assert.deepEqual(router.rooms, ['lobby', 'ops']);
});

test('a room declared twice, or an endpoint linked to two rooms, is refused with the file named', () => {
  assert.throws(() => new Router([...bridges, { room: 'lobby', source: 'bridges/again.yaml', endpoints: [] }]), /declared twice \(bridges\/again\.yaml\)/);
  assert.throws(() => new Router([...bridges, { room: 'x', source: 'bridges/x.yaml', endpoints: [{ connector: 'mtproto', address: '-100' }] }]),
    /mtproto:-100 is linked to two rooms \("lobby" and "x", bridges\/x\.yaml\)/);
});

test('replaceBridges puts a new table in force whole; a table it refuses changes nothing', () => {
  const router = new Router(bridges);
  const moved: Bridge[] = [
    { room: 'lobby', source: 'bridges/lobby.yaml', endpoints: [{ connector: 'websocket', address: 'lobby' }] },
    { room: 'ops', source: 'bridges/ops.yaml', endpoints: [{ connector: 'xmpp', address: 'ops@conference.example.org' }, { connector: 'mtproto', address: '-100' }] },
  ];
  router.replaceBridges(moved);
  assert.equal(router.roomOf({ connector: 'mtproto', address: '-100' }), 'ops');
  assert.equal(router.roomOf({ connector: 'xmpp', address: 'lobby@conference.example.org' }), undefined);
  assert.deepEqual(router.route(eventFrom('mtproto', '-100', 'ops')), [{ connector: 'xmpp', address: 'ops@conference.example.org' }]);
  assert.deepEqual(router.route(eventFrom('mtproto', '-100', 'lobby')), [], 'an event of the old room from a moved endpoint goes nowhere');

  assert.throws(() => router.replaceBridges([...moved, { room: 'x', source: 'bridges/x.yaml', endpoints: [{ connector: 'websocket', address: 'lobby' }] }]), /linked to two rooms/);
  assert.throws(() => router.replaceBridges([{ room: 'dm:a', source: 'bridges/dm.yaml', endpoints: [] }]), /direct chats/);
  assert.deepEqual(router.rooms, ['lobby', 'ops'], 'the refused tables left the one in force');
  assert.equal(router.roomOf({ connector: 'mtproto', address: '-100' }), 'ops');
  assert.equal(router.roomOf({ connector: 'websocket', address: 'x' }), undefined);
});

test('diffEndpoints: what one network gains, loses and moves between two tables', () => {
  const after: Bridge[] = [
    { room: 'lobby', source: 'a', endpoints: [{ connector: 'websocket', address: 'lobby' }, { connector: 'xmpp', address: 'new@conference.example.org' }] },
    { room: 'ops', source: 'b', endpoints: [{ connector: 'xmpp', address: 'lobby@conference.example.org' }] },
  ];
  assert.deepEqual(diffEndpoints(bridges, after, 'xmpp'), {
    endpoints: [{ connector: 'xmpp', address: 'new@conference.example.org' }, { connector: 'xmpp', address: 'lobby@conference.example.org' }],
    added: [{ connector: 'xmpp', address: 'new@conference.example.org' }],
    removed: [{ connector: 'xmpp', address: 'ops@conference.example.org' }],
    moved: [{ endpoint: { connector: 'xmpp', address: 'lobby@conference.example.org' }, from: 'lobby', to: 'ops' }],
    redirected: [],
  });
  assert.deepEqual(diffEndpoints(bridges, after, 'websocket'), { endpoints: [{ connector: 'websocket', address: 'lobby' }], added: [], removed: [], moved: [], redirected: [] });
  assert.deepEqual(diffEndpoints(bridges, after, 'mtproto').removed, [{ connector: 'mtproto', address: '-100' }]);
});

test('diffEndpoints: an endpoint bridged another way is redirected, in its room or moved; its place is what every list names', () => {
  const after: Bridge[] = [
    { room: 'lobby', source: 'a', endpoints: [{ connector: 'websocket', address: 'lobby', direction: 'receive-only' }, { connector: 'mtproto', address: '-100' }] },
    { room: 'ops', source: 'b', endpoints: [{ connector: 'xmpp', address: 'ops@conference.example.org' }, { connector: 'xmpp', address: 'lobby@conference.example.org', direction: 'send-only' }] },
  ];
  assert.deepEqual(diffEndpoints(bridges, after, 'websocket'), {
    endpoints: [{ connector: 'websocket', address: 'lobby' }], added: [], removed: [], moved: [],
    redirected: [{ endpoint: { connector: 'websocket', address: 'lobby' }, from: 'both', to: 'receive-only' }],
  });
  const xmpp = diffEndpoints(bridges, after, 'xmpp');
  assert.deepEqual(xmpp.moved, [{ endpoint: { connector: 'xmpp', address: 'lobby@conference.example.org' }, from: 'lobby', to: 'ops' }]);
  assert.deepEqual(xmpp.redirected, [{ endpoint: { connector: 'xmpp', address: 'lobby@conference.example.org' }, from: 'both', to: 'send-only' }]);
  assert.deepEqual(diffEndpoints(after, bridges, 'websocket').redirected, [{ endpoint: { connector: 'websocket', address: 'lobby' }, from: 'receive-only', to: 'both' }]);
  assert.deepEqual(diffEndpoints(bridges, after, 'mtproto'), { endpoints: [{ connector: 'mtproto', address: '-100' }], added: [], removed: [], moved: [], redirected: [] });
});

// ---------------------------------------------------------------- directions

const directed: Bridge[] = [
  { room: 'news', source: 'bridges/news.yaml', endpoints: [
    { connector: 'xmpp', address: 'announce@conference.example.org', direction: 'send-only' },
    { connector: 'websocket', address: 'news', direction: 'receive-only' },
    { connector: 'mtproto', address: '-200' },
    { connector: 'xmpp', address: 'mirror@conference.example.org', direction: 'receive-only' },
  ] },
  { room: 'lobby', source: 'bridges/lobby.yaml', endpoints: [{ connector: 'websocket', address: 'lobby' }, { connector: 'xmpp', address: 'lobby@conference.example.org' }] },
];

test('a send-only endpoint reaches the others and gets nothing of theirs; nothing from a receive-only one goes anywhere', () => {
  const router = new Router(directed, { hostedConnectors: ['websocket', 'mtproto'] });
  const targets = (connector: string, endpoint: string, room = 'news') => router.route(eventFrom(connector, endpoint, room)).map((e) => `${e.connector}:${e.address}`);
  assert.deepEqual(targets('xmpp', 'announce@conference.example.org'), ['websocket:news', 'mtproto:-200', 'xmpp:mirror@conference.example.org']);
  assert.deepEqual(targets('mtproto', '-200'), ['websocket:news', 'mtproto:-200', 'xmpp:mirror@conference.example.org'], 'a both endpoint reaches every receiving one (and its own sessions), never the send-only source');
  assert.deepEqual(targets('websocket', 'news'), [], 'a receive-only endpoint\'s events go nowhere, not even to its own sessions');
  assert.deepEqual(targets('xmpp', 'mirror@conference.example.org'), []);
  assert.deepEqual(targets('websocket', 'lobby', 'lobby'), ['websocket:lobby', 'xmpp:lobby@conference.example.org'], 'rooms without directions route as before');
  assert.equal(router.directionOf({ connector: 'xmpp', address: 'announce@conference.example.org' }), 'send-only');
  assert.equal(router.directionOf({ connector: 'websocket', address: 'news' }), 'receive-only');
  assert.equal(router.directionOf({ connector: 'mtproto', address: '-200' }), 'both');
  assert.equal(router.directionOf({ connector: 'websocket', address: 'unlinked' }), 'both');
  assert.deepEqual(router.endpointsOf('news')[0], { connector: 'xmpp', address: 'announce@conference.example.org' }, 'endpointsOf lists places, not how they are linked');
});

test('a hosted send-only endpoint still shows its own sessions what they sent', () => {
  const router = new Router([{ room: 'src', source: 's', endpoints: [{ connector: 'websocket', address: 'src', direction: 'send-only' }, { connector: 'xmpp', address: 'out@conference.example.org' }] }], { hostedConnectors: ['websocket'] });
  assert.deepEqual(router.route(eventFrom('websocket', 'src', 'src')).map((e) => e.address), ['src', 'out@conference.example.org']);
  assert.deepEqual(router.route(eventFrom('xmpp', 'out@conference.example.org', 'src')), []);
});

test('a reload changes directions whole: the next event routes by the new table', () => {
  const router = new Router(directed);
  router.replaceBridges(directed.map((b) => ({ ...b, endpoints: b.endpoints.map(({ connector, address }) => ({ connector, address })) })));
  assert.equal(router.directionOf({ connector: 'websocket', address: 'news' }), 'both');
  assert.deepEqual(router.route(eventFrom('websocket', 'news', 'news')).map((e) => e.address), ['announce@conference.example.org', '-200', 'mirror@conference.example.org']);
  assert.throws(() => router.replaceBridges([...directed, { room: 'x', source: 'x', endpoints: [{ connector: 'websocket', address: 'news', direction: 'both' }] }]), /linked to two rooms/);
  assert.equal(router.directionOf({ connector: 'websocket', address: 'news' }), 'both', 'a refused table leaves the directions in force');
});

// ---------------------------------------------------------------- direct chats

function directEvent(room: string, connector: string, endpoint: string): CanonicalEvent {
  return { v: 1, id: newEventId(), ts: 0, room, kind: 'message', text: 'hi',
    sender: { network: connector, id: endpoint }, origin: { connector, endpoint } };
}

const carolAlice = directRoom({ network: 'websocket', id: 'carol' }, { network: 'xmpp', id: 'alice@example.org' }) as string;

test('a direct chat goes to the other party, without any bridge file', () => {
  const router = new Router(bridges, { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket', 'xmpp'] });
  // From the XMPP party: to carol's WS endpoint (never back to XMPP: no echo).
  assert.deepEqual(router.route(directEvent(carolAlice, 'xmpp', 'alice@example.org')), [{ connector: 'websocket', address: 'carol' }]);
  // From the hosted WS party: to alice, and to carol's own endpoint (her other sessions).
  assert.deepEqual(router.route(directEvent(carolAlice, 'websocket', 'carol')),
    [{ connector: 'xmpp', address: 'alice@example.org' }, { connector: 'websocket', address: 'carol' }]);
  assert.deepEqual(router.endpointsOf(carolAlice), [{ connector: 'websocket', address: 'carol' }, { connector: 'xmpp', address: 'alice@example.org' }]);
  assert.deepEqual(router.rooms, ['lobby', 'ops'], 'direct rooms are not listed');
  assert.equal(router.roomOf({ connector: 'websocket', address: 'carol' }), undefined);
});

test('a direct chat between two WS users reaches both sides; a chat with oneself reaches one\'s other sessions only', () => {
  const router = new Router([], { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket'] });
  const room = directRoom({ network: 'websocket', id: 'dave' }, { network: 'websocket', id: 'carol' }) as string;
  assert.deepEqual(router.route(directEvent(room, 'websocket', 'dave')), [{ connector: 'websocket', address: 'carol' }, { connector: 'websocket', address: 'dave' }]);
  const self = directRoom({ network: 'websocket', id: 'carol' }, { network: 'websocket', id: 'carol' }) as string;
  assert.deepEqual(router.route(directEvent(self, 'websocket', 'carol')), [{ connector: 'websocket', address: 'carol' }]);
  // Not hosted: a chat with oneself goes nowhere (it would be an echo).
  const xself = directRoom({ network: 'xmpp', id: 'a@b' }, { network: 'xmpp', id: 'a@b' }) as string;
  assert.deepEqual(new Router([]).route(directEvent(xself, 'xmpp', 'a@b')), []);
});

test('only networks that deliver are targets of a direct chat', () => {
  const router = new Router([], { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket'] });
  // alice's network does not deliver here: carol's other sessions still see what she sent, nothing goes to xmpp.
  assert.deepEqual(router.route(directEvent(carolAlice, 'websocket', 'carol')), [{ connector: 'websocket', address: 'carol' }]);
  const toMtproto = directRoom({ network: 'websocket', id: 'carol' }, { network: 'mtproto', id: '777' }) as string;
  assert.deepEqual(router.route(directEvent(toMtproto, 'websocket', 'carol')), [{ connector: 'websocket', address: 'carol' }]);
  assert.deepEqual(router.endpointsOf(toMtproto), [{ connector: 'websocket', address: 'carol' }]);
  // Without the option (tests without an app) every network counts as delivering.
  assert.deepEqual(new Router([]).route(directEvent(toMtproto, 'websocket', 'carol')), [{ connector: 'mtproto', address: '777' }]);
});

test('a topic in a direct chat goes nowhere: a direct chat has none', () => {
  const router = new Router(bridges, { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket', 'xmpp'] });
  const topic = { ...directEvent(carolAlice, 'websocket', 'carol'), kind: 'topic', text: 'ours' } as unknown as CanonicalEvent;
  assert.deepEqual(router.route(topic), []);
  assert.notDeepEqual(router.route(directEvent(carolAlice, 'websocket', 'carol')), [], 'a message in the same chat is routed');
});

test('an event claiming a direct room it is not a party of is routed nowhere (spoofing)', () => {
  const router = new Router(bridges, { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket', 'xmpp', 'mtproto'] });
  // dave writing into carol's conversation with alice.
  assert.deepEqual(router.route(directEvent(carolAlice, 'websocket', 'dave')), []);
  // The right id on the wrong network, the right network with another id, a room endpoint.
  assert.deepEqual(router.route(directEvent(carolAlice, 'mtproto', 'carol')), []);
  assert.deepEqual(router.route(directEvent(carolAlice, 'xmpp', 'bob@example.org')), []);
  assert.deepEqual(router.route(directEvent(carolAlice, 'xmpp', 'lobby@conference.example.org')), []);
  // A sender naming itself in `sender` changes nothing: the origin counts.
  const spoof = { ...directEvent(carolAlice, 'websocket', 'dave'), sender: { network: 'websocket', id: 'carol' } };
  assert.deepEqual(router.route(spoof), []);
  // Keys not in canonical form (other order, other escaping, three parties) are not direct rooms.
  assert.deepEqual(router.route(directEvent('dm:xmpp:alice@example.org|websocket:carol', 'websocket', 'carol')), []);
  assert.deepEqual(router.route(directEvent('dm:websocket:carol|xmpp:alice%40example.org', 'websocket', 'carol')), []);
  assert.deepEqual(router.route(directEvent('dm:websocket:carol|xmpp:a@b|xmpp:c@d', 'websocket', 'carol')), []);
  assert.deepEqual(router.route(directEvent('dm:garbage', 'websocket', 'carol')), []);
  assert.deepEqual(router.endpointsOf('dm:garbage'), []);
});

test('a bridge may not take a room key of a direct chat', () => {
  assert.throws(() => new Router([{ room: 'dm:websocket:a|websocket:b', source: 'bridges/x.yaml', endpoints: [] }]), /direct chats, not bridges/);
});
