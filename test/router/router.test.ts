import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/router/router.ts';
import type { Bridge } from '../../src/core/endpoint.ts';
import { newEventId } from '../../src/core/ids.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';

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
