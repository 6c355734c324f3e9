// The pure pieces of a bridges/ reload on the XMPP side: which addresses are room JIDs (start,
// `switchboard check` and the reload check share it), and what a change asks of the connector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomJidIssues, roomJidProblem } from '../../src/connectors/xmpp/room-jid.ts';
import { planRoomLinks } from '../../src/connectors/xmpp/room-links.ts';
import { diffEndpoints, type Bridge, type Endpoint } from '../../src/core/endpoint.ts';

test('roomJidProblem: a bare room JID as the server keeps it passes; anything else says why', () => {
  assert.equal(roomJidProblem('lobby@conference.example.org'), undefined);
  assert.equal(roomJidProblem('dev-team_2@muc.example.org'), undefined);
  const cases: Array<[string, RegExp]> = [
    ['conference.example.org', /server or service address/],
    ['lobby@conference.example.org/Alice', /full JID/],
    ['Lobby@Conference.example.org', /"lobby@conference\.example\.org"/],
    ['@conference.example.org', /not a JID/],
    ['lobby@', /not a JID/],
    ['', /not a JID/],
  ];
  for (const [address, why] of cases) assert.match(roomJidProblem(address) ?? 'passed', why, address);
});

test('roomJidIssues: one issue per xmpp endpoint that is not a room JID, naming its file and place; other networks\' addresses are not looked at', () => {
  const bridges: Bridge[] = [
    { room: 'lobby', source: 'bridges/lobby.yaml', endpoints: [{ connector: 'websocket', address: 'lobby' }, { connector: 'xmpp', address: 'lobby@conference.example.org' }] },
    { room: 'dev', source: 'bridges/dev.yaml', endpoints: [{ connector: 'mtproto', address: 'not@a/jid' }, { connector: 'xmpp', address: 'dev@conference.example.org/me' }] },
  ];
  const issues = roomJidIssues(bridges);
  assert.deepEqual(issues.map((i) => [i.file, i.path]), [['bridges/dev.yaml', 'endpoints.1.xmpp']]);
  assert.match(issues[0]?.message ?? '', /"dev@conference\.example\.org\/me" is not a room JID .*full JID/);
});

const xmpp = (address: string): Endpoint => ({ connector: 'xmpp', address });
const bridge = (room: string, ...addresses: string[]): Bridge => ({ room, source: `${room}.yaml`, endpoints: addresses.map(xmpp) });

test('planRoomLinks: linked, unlinked and moved rooms from a reload\'s change; what is served is the new table\'s word, so a change told twice changes nothing more', () => {
  const before = [bridge('lobby', 'lobby@muc.example.org'), bridge('dev', 'dev@muc.example.org'), bridge('ops', 'ops@muc.example.org')];
  const after = [bridge('lobby', 'lobby@muc.example.org'), bridge('all', 'dev@muc.example.org'), bridge('new', 'new@muc.example.org')];
  const served = new Map(before.flatMap((b) => b.endpoints).map((e) => [e.address, e]));
  const change = diffEndpoints(before, after, 'xmpp');
  const plan = planRoomLinks(served, change);
  assert.deepEqual(plan.link.map((e) => e.address), ['new@muc.example.org']);
  assert.deepEqual(plan.unlink, ['ops@muc.example.org']);
  assert.deepEqual(plan.moved, [{ room: 'dev@muc.example.org', from: 'dev', to: 'all' }]);
  assert.deepEqual([...plan.serve.keys()].sort(), ['dev@muc.example.org', 'lobby@muc.example.org', 'new@muc.example.org']);
  assert.deepEqual(plan.refused, []);
  const again = planRoomLinks(plan.serve, change);
  assert.deepEqual([again.link, again.unlink], [[], []], 'told twice: nothing to join or leave');
});

test('planRoomLinks: an address that is no room JID (which the app\'s check refuses first) is refused, not served, and does not throw', () => {
  const served = new Map<string, Endpoint>();
  const plan = planRoomLinks(served, { endpoints: [xmpp('good@muc.example.org'), xmpp('muc.example.org')], added: [xmpp('good@muc.example.org'), xmpp('muc.example.org')], removed: [], moved: [], redirected: [] });
  assert.deepEqual(plan.link.map((e) => e.address), ['good@muc.example.org']);
  assert.deepEqual(plan.refused.map((r) => r.address), ['muc.example.org']);
  assert.equal(plan.serve.has('muc.example.org'), false);
});

test('planRoomLinks: rooms bridged another way (bridges/ direction), also when moved at once; a refused address is not redirected', () => {
  const linked = (room: string, address: string, direction?: 'send-only' | 'receive-only'): Bridge =>
    ({ room, source: `${room}.yaml`, endpoints: [{ ...xmpp(address), ...(direction ? { direction } : {}) }] });
  const before = [linked('lobby', 'lobby@muc.example.org'), linked('dev', 'dev@muc.example.org', 'receive-only'), linked('ops', 'ops@muc.example.org')];
  const after = [linked('lobby', 'lobby@muc.example.org', 'send-only'), linked('all', 'dev@muc.example.org'), linked('ops', 'ops@muc.example.org')];
  const served = new Map(before.flatMap((b) => b.endpoints).map((e) => [e.address, xmpp(e.address)]));
  const plan = planRoomLinks(served, diffEndpoints(before, after, 'xmpp'));
  assert.deepEqual(plan.redirected, [
    { room: 'lobby@muc.example.org', from: 'both', to: 'send-only' },
    { room: 'dev@muc.example.org', from: 'receive-only', to: 'both' },
  ]);
  assert.deepEqual(plan.moved, [{ room: 'dev@muc.example.org', from: 'dev', to: 'all' }]);
  assert.deepEqual([plan.link, plan.unlink], [[], []]);

  const bad = xmpp('muc.example.org');
  const refused = planRoomLinks(new Map(), { endpoints: [bad], added: [], removed: [], moved: [], redirected: [{ endpoint: bad, from: 'both', to: 'send-only' }] });
  assert.deepEqual(refused.redirected, []);
});
