import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityResolver } from '../../src/mapper/identities.ts';
import { hintsOf } from '../../src/mapper/types.ts';
import { EMPTY_TABLES } from '../../src/mapper/tables.ts';
import { FULL, MT, Rig, TABLES, WS, XMPP, delivery, event } from './harness.ts';

test('a linked person is one identity on every target: display name, canonical key, and their own account there', () => {
  const r = new IdentityResolver(TABLES);
  const fromWs = r.resolve({ network: 'websocket', id: 'demo-alice', name: 'alice-web' }, 'xmpp', FULL);
  assert.deepEqual(fromWs, { key: 'alice', canonical: 'alice', displayName: 'Alice (websocket)', account: 'alice@example.org' });
  // A full JID in another case is still her (RFC 7622 case folding; the resource is not part of the account).
  const fromXmpp = r.resolve({ network: 'xmpp', id: 'Alice@Example.org/phone' }, 'websocket', FULL);
  assert.deepEqual(fromXmpp, { key: 'alice', canonical: 'alice', displayName: 'Alice (xmpp)', account: 'demo-alice' });
  // Linked without a displayName: the name their network gives; no account on the target: none in the hint.
  assert.deepEqual(r.resolve({ network: 'xmpp', id: 'bob@example.org', name: 'Bobby' }, 'websocket', FULL),
    { key: 'bob', canonical: 'bob', displayName: 'Bobby (xmpp)' });
});

test('an unlinked person gets a stable puppet identity: the key is their account, the name does not depend on the event kind', () => {
  const r = new IdentityResolver(TABLES);
  const a = r.resolve({ network: 'mtproto', id: '5550001', name: 'Carol' }, 'xmpp', FULL);
  const b = r.resolve({ network: 'mtproto', id: '5550001', name: 'Carol' }, 'xmpp', FULL);
  assert.deepEqual(a, { key: 'mtproto:5550001', displayName: 'Carol (mtproto)' });
  assert.deepEqual(a, b);
  // No name at all: the id, never an empty name.
  assert.equal(r.resolve({ network: 'mtproto', id: '5550002' }, 'xmpp', FULL).displayName, '5550002 (mtproto)');
  assert.equal(r.resolve({ network: 'mtproto', id: '5550002', name: '   ' }, 'xmpp', FULL).displayName, '5550002 (mtproto)');
});

test('display-name templates per target, network names, avatars only where the target shows them, no placeholder injection', () => {
  const r = new IdentityResolver({
    ...EMPTY_TABLES,
    identities: [{ canonical: 'alice', displayName: 'Alice', avatar: 'https://example.org/alice.png', accounts: { websocket: 'demo-alice' } }],
    displayNames: { default: '{name} ({network})', byTarget: { websocket: '{name}', mtproto: '{name} via {network} [{id}]' }, networkNames: { xmpp: 'Jabber' } },
  });
  assert.equal(r.resolve({ network: 'xmpp', id: 'c@x.org', name: 'Carol' }, 'websocket', FULL).displayName, 'Carol');
  assert.equal(r.resolve({ network: 'xmpp', id: 'c@x.org', name: 'Carol' }, 'mtproto', FULL).displayName, 'Carol via Jabber [c@x.org]');
  assert.equal(r.resolve({ network: 'xmpp', id: 'c@x.org', name: '{id}{network}' }, 'xmpp', FULL).displayName, '{id}{network} (Jabber)');
  assert.equal(r.resolve({ network: 'xmpp', id: 'c@x.org', name: 'x'.repeat(300) }, 'xmpp', FULL).displayName.length, 256);
  assert.equal(r.resolve({ network: 'websocket', id: 'demo-alice' }, 'xmpp', FULL).avatar, undefined);
  assert.equal(r.resolve({ network: 'websocket', id: 'demo-alice' }, 'xmpp', { ...FULL, avatars: true }).avatar, 'https://example.org/alice.png');
  assert.equal(r.resolve({ network: 'xmpp', id: 'c@x.org', avatar: 'https://x.org/c.png' }, 'mtproto', { ...FULL, avatars: true }).avatar, 'https://x.org/c.png');
});

test('a linked person is never a puppet of themselves where they have an account: their person-level events stay home, counted', async () => {
  const xmpp = new Rig('xmpp', FULL);
  const fromAliceWs = [
    event('presence', { state: 'away' }, WS, 'demo-alice'),
    event('typing', { state: 'active' }, WS, 'demo-alice'),
    event('membership', { action: 'join' }, WS, 'demo-alice'),
    event('message', { text: 'hi from the web' }, WS, 'demo-alice'),
  ];
  const out = await xmpp.batch(...fromAliceWs.map((e) => delivery(e, XMPP)));
  // Her message reaches the room (everyone else there must see it), exactly once, marked with her own account.
  assert.deepEqual(out.map((d) => d.event.kind), ['message']);
  assert.deepEqual(hintsOf(out[0]!)?.identity, { key: 'alice', canonical: 'alice', displayName: 'Alice (websocket)', account: 'alice@example.org' });
  for (const kind of ['presence', 'typing', 'membership']) assert.equal(await xmpp.degraded(kind, 'own_account'), 1, kind);

  // Someone else's person-level events, and hers where she has no account, go through.
  const mt = new Rig('mtproto', FULL);
  const outMt = await mt.batch(delivery(event('presence', { state: 'away' }, WS, 'demo-alice'), MT), delivery(event('presence', { state: 'away' }, WS, 'demo-carol'), MT));
  assert.equal(outMt.length, 2);
  assert.equal(hintsOf(outMt[0]!)?.identity.account, undefined);
});

test('on a hosted network her own events from that same network are hers, not a puppet: nothing is dropped', async () => {
  const ws = new Rig('websocket', FULL);
  const out = await ws.batch(delivery(event('presence', { state: 'away' }, WS, 'demo-alice'), WS), delivery(event('typing', { state: 'active' }, WS, 'demo-alice'), WS));
  assert.equal(out.length, 2);
});

test('a person linked on two networks shows on a third as one puppet in the most present state of their accounts', async () => {
  const ws = new Rig('websocket', FULL);
  const states = async (...steps: [typeof XMPP, string, string][]) => {
    const out = await ws.batch(...steps.map(([from, id, state]) => delivery(event('presence', { state }, from, id), WS)));
    return out.map((d) => (d.event as { state: string }).state);
  };
  assert.deepEqual(await states([XMPP, 'bob@example.org', 'available']), ['available']);
  await ws.advance(5_000);
  // His MTProto client goes away while XMPP stays available: nothing changes on WS (a no-op, not a flap).
  assert.deepEqual(await states([MT, '777000123', 'away']), []);
  await ws.advance(5_000);
  // XMPP goes offline: the most present account is now MTProto's "away".
  assert.deepEqual(await states([XMPP, 'bob@example.org', 'offline']), ['away']);
  await ws.advance(5_000);
  const [last] = await ws.batch(delivery(event('presence', { state: 'offline' }, MT, '777000123'), WS));
  assert.equal((last!.event as { state: string }).state, 'offline');
  assert.equal(hintsOf(last!)?.identity.key, 'bob', 'one puppet, whichever account spoke');
});
