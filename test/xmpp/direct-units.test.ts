import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Router } from '../../src/router/router.ts';
import { Contacts } from '../../src/connectors/xmpp/contacts.ts';
import { directChatOf, peerReach } from '../../src/connectors/xmpp/direct-inbound.ts';
import { SentOnStream, userAddress } from '../../src/connectors/xmpp/direct-outbound.ts';
import { UserPresence } from '../../src/connectors/xmpp/user-presence.ts';
import type { Element } from '@xmpp/xml';
import { DirectChats, type DirectChatsHolding } from '../../src/connectors/xmpp/direct-chats.ts';
import { InboundOrder } from '../../src/connectors/xmpp/inbound-order.ts';
import type { InboundPresence, PresenceType } from '../../src/connectors/xmpp/stanza/presence.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { counter, createRegistry } from '../../src/core/metrics.ts';
import { busOptions } from '../websocket/harness.ts';

const DOMAIN = 'bridge.example.org';

test('directChatOf: a puppet JID names the person and the direct room; anything else is the error to answer', () => {
  const chat = directChatOf('alice@example.org', `websocket.carol@${DOMAIN}/switchboard`, DOMAIN);
  assert.ok(!('refused' in chat));
  assert.deepEqual([chat.puppet, chat.peer, chat.room], [`websocket.carol@${DOMAIN}`, { network: 'websocket', id: 'carol' }, 'dm:websocket:carol|xmpp:alice@example.org']);
  for (const to of [`carol@${DOMAIN}`, DOMAIN, `websocket.=zz@${DOMAIN}`, `websocket.=61@${DOMAIN}`, 'websocket.carol@elsewhere.org']) {
    const r = directChatOf('alice@example.org', to, DOMAIN);
    assert.ok('refused' in r && r.condition === 'item-not-found', to);
  }
  const hashed = directChatOf('alice@example.org', `websocket.=h${'a'.repeat(40)}@${DOMAIN}`, DOMAIN);
  assert.ok('refused' in hashed && /digest/.test(hashed.text));
  const long = directChatOf(`${'a'.repeat(240)}@example.org`, `websocket.carol@${DOMAIN}`, DOMAIN);
  assert.ok('refused' in long && long.condition === 'not-acceptable');
});

test('peerReach asks the router: only a network that delivers here; a user config.yaml ignores reaches no one, and is told apart', () => {
  const chat = directChatOf('alice@example.org', `mtproto.777@${DOMAIN}`, DOMAIN);
  assert.ok(!('refused' in chat));
  assert.equal(peerReach(new Router([], { deliveringNetworks: ['websocket', 'xmpp'] }), chat), 'unreachable');
  assert.equal(peerReach(new Router([], { deliveringNetworks: ['mtproto', 'xmpp'] }), chat), 'reaches');
  const ignoring = new Router([], { deliveringNetworks: ['mtproto', 'xmpp'], directIgnore: { senders: [{ network: 'xmpp', id: 'Alice@Example.org' }], messages: [] } });
  assert.equal(peerReach(ignoring, chat), 'ignored');
});

test('userAddress: a bare JID in lower case; full JIDs, domains and our own domain are refused', () => {
  assert.deepEqual(userAddress('Alice@Example.org', DOMAIN), { ok: true, jid: 'alice@example.org' });
  assert.deepEqual(userAddress('alice@example.org/phone', DOMAIN), { ok: false, outcome: 'bad_address' });
  assert.deepEqual(userAddress('example.org', DOMAIN), { ok: false, outcome: 'bad_address' });
  assert.deepEqual(userAddress('not a jid@', DOMAIN), { ok: false, outcome: 'bad_address' });
  assert.deepEqual(userAddress(`websocket.bob@${DOMAIN}`, DOMAIN), { ok: false, outcome: 'loop' });
});

test('UserPresence: the most present resource shows, offline only when all are; one answer per change', () => {
  const p = new UserPresence();
  assert.equal(p.update('a@x', 'pup@b', 'phone', { state: 'offline' }), undefined, 'a first offline is no news');
  assert.deepEqual(p.update('a@x', 'pup@b', 'phone', { state: 'away', status: 'out' }), { state: 'away', status: 'out' });
  assert.deepEqual(p.update('a@x', 'pup@b', 'laptop', { state: 'available' }), { state: 'available' });
  assert.equal(p.update('a@x', 'pup@b', 'phone', { state: 'xa' }), undefined, 'the laptop still shows available');
  assert.deepEqual(p.update('a@x', 'pup@b', 'laptop', { state: 'offline' }), { state: 'xa' });
  assert.deepEqual(p.update('a@x', 'pup@b', 'phone', { state: 'offline', status: 'bye' }), { state: 'offline', status: 'bye' });
  assert.deepEqual(p.update('a@x', 'other@b', 'phone', { state: 'dnd' }), { state: 'dnd' }, 'each puppet on its own');
});

test('SentOnStream is bounded and forgets on clear', () => {
  const s = new SentOnStream(2);
  s.add('a'); s.add('b'); s.add('c');
  assert.deepEqual([s.has('a'), s.has('b'), s.has('c')], [false, true, true]);
  s.clear();
  assert.equal(s.has('c'), false);
});

test('Contacts: subscriptions survive a restart (the state file), are bounded, and a later write never loses an earlier one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-contacts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.jsonl');
  let local = new LocalState(file);
  let contacts = new Contacts(local.store('xmpp'), silentLogger);
  await Promise.all([contacts.subscribe('a@x', 'p1@b'), contacts.subscribe('a@x', 'p2@b'), contacts.subscribe('c@x', 'p1@b')]);
  await contacts.unsubscribe('a@x', 'p2@b');
  await contacts.setPresence('p1@b', 'a@x', { state: 'dnd', status: 'focus' });
  await contacts.markChat('c@x', 'p9@b');
  local.close();

  local = new LocalState(file);
  contacts = new Contacts(local.store('xmpp'), silentLogger);
  await contacts.load();
  assert.deepEqual(contacts.all(), [['a@x', 'p1@b'], ['c@x', 'p1@b']]);
  assert.deepEqual(await contacts.presenceOf('p1@b', 'a@x'), { state: 'dnd', status: 'focus' });
  assert.equal(await contacts.presenceOf('p1@b', 'c@x'), undefined);
  assert.equal(await contacts.mayShowPresence('a@x', 'p1@b'), true, 'subscribed');
  assert.equal(await contacts.mayShowPresence('c@x', 'p9@b'), true, 'chatting');
  assert.equal(await contacts.mayShowPresence('a@x', 'p9@b'), false);
  local.close();

  // Bounded: in all, and per user (nobody fills the table for everyone).
  const bounded = new Contacts(new LocalState().store('xmpp'), silentLogger, { maxSubscriptions: 10, maxPerUser: 3 });
  for (let i = 0; i < 3; i++) assert.equal(await bounded.subscribe('greedy@x', `p${i}@b`), true);
  assert.equal(await bounded.subscribe('greedy@x', 'p3@b'), false, 'beyond the user\'s share: answered, not remembered');
  await bounded.unsubscribe('greedy@x', 'p0@b');
  assert.equal(await bounded.subscribe('greedy@x', 'p3@b'), true, 'room again after an unsubscribe');
  for (let i = 0; i < 7; i++) assert.equal(await bounded.subscribe(`u${i}@x`, 'p@b'), true);
  assert.equal(await bounded.subscribe('late@x', 'p@b'), false, 'beyond the table\'s bound');
  assert.equal(bounded.all().length, 10);
});

test('a user\'s presences to a puppet that nothing acts on (subscribed, unsubscribed, error) take nothing of their direct-chat rate; the others take a token each (probes excepted)', async () => {
  const asked: string[] = [];
  const registry = createRegistry(false);
  const state = new LocalState().store('xmpp');
  const sent: string[] = [];
  const chats = new DirectChats({
    domain: DOMAIN, bus: new MemoryBus(busOptions(registry)), routing: new Router([], { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket', 'xmpp'] }),
    logger: silentLogger, media: undefined, rooms: new Map(), metrics: { direct: counter(registry, 'direct_test_total', 'test', ['direction', 'outcome']) },
    occupantAvatars: undefined, order: new InboundOrder(silentLogger, counter(registry, 'order_test_total', 'test', ['outcome'])),
    senderAllowed: (key) => { asked.push(key); return true; }, photoOf: () => ({}), holding: () => undefined,
  });
  const holding = { link: { send: async (el: Element) => { sent.push(el.attrs['type'] ?? 'available'); }, status: 'online' as const }, contacts: new Contacts(state, silentLogger) };
  const presence = (type: PresenceType): InboundPresence => ({ from: 'alice@example.org/phone', to: `websocket.carol@${DOMAIN}`, type });
  for (const type of ['subscribed', 'unsubscribed', 'error'] as const) chats.onUserPresence(presence(type), holding as unknown as DirectChatsHolding);
  assert.deepEqual(asked, [], 'no token taken for what is ignored');
  chats.onUserPresence(presence('probe'), holding as unknown as DirectChatsHolding);
  assert.deepEqual(asked, [], 'probes are the server\'s: no token');
  for (const type of ['subscribe', 'available', 'unavailable', 'unsubscribe'] as const) chats.onUserPresence(presence(type), holding as unknown as DirectChatsHolding);
  assert.deepEqual(asked, ['dm:alice@example.org', 'dm:alice@example.org', 'dm:alice@example.org', 'dm:alice@example.org']);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(sent.includes('subscribed'), 'a subscription was answered: the handled types still act');
});
