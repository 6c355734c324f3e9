import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { ComponentLinkError } from '../../src/connectors/xmpp/component-link.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startRoomRig, startXmppBridge } from './bridge-harness.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { busOptions, metricValue } from '../websocket/harness.ts';
import { waitFor } from '../helpers/wait.ts';

test('a wrong component secret fails the connector start with one clear error, no retry loop', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  await assert.rejects(startXmppBridge(prosody, { xmpp: { secret: 'wrong' } }),
    (err: unknown) => err instanceof ComponentLinkError && err.code === 'not_authorized' && /secret/.test(err.message));
  assert.equal(prosody.log().split('\n').filter((l) => l.includes('Component authentication failed')).length, 1);
});

test('with five puppets in the room every message of alice is bridged exactly once, and each of theirs reaches the room once', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const names = ['carol', 'dave', 'erin', 'frank', 'grace'] as const;
  const clients: TestClient[] = [];
  for (const name of names) {
    const c = await connectClient(bridge.wsUrl, bridge.tokens[name]);
    t.after(() => c.close());
    await c.request({ type: 'join', room: 'lobby' });
    clients.push(c);
  }
  // Each WS user speaks once: five puppets join the room.
  for (const [i, c] of clients.entries()) await c.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `from ${names[i]}` } });
  for (const name of names) await alice.waitFor((el) => el.getChildText('body') === `from ${name}`, `${name}'s message`);
  const occupants = new Set(alice.stanzas.filter((el) => el.name === 'presence' && el.attrs['type'] !== 'unavailable').map((el) => el.attrs['from']));
  assert.ok(occupants.size >= 7, `alice, the relay and five puppets are in the room (${[...occupants].join(', ')})`);

  for (let i = 0; i < 10; i++) await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `alice ${i}`)));
  const expected = Array.from({ length: 10 }, (_, i) => `alice ${i}`);
  for (const [i, c] of clients.entries()) {
    const others = names.filter((n) => n !== names[i]).map((n) => `from ${n}`);
    const events = await c.collectEvents(others.length + 10, 15_000);
    const texts = events.map((e) => e.event['text']);
    assert.deepEqual(texts.filter((x) => String(x).startsWith('alice')), expected, `${names[i]} got each of alice's messages once, in order`);
    assert.deepEqual(texts.filter((x) => String(x).startsWith('from')).sort(), others.sort());
  }
  for (const name of names) assert.equal(alice.stanzas.filter((el) => el.getChildText('body') === `from ${name}`).length, 1);
  const stream = await bridge.bus.readStream('lobby', undefined, 1_000);
  assert.equal(stream.entries.filter((e) => e.event.origin.connector === 'xmpp' && e.event.kind === 'message').length, 10);
});

test('nick conflicts are resolved with a suffix; disco, vCard and subscriptions of puppets answered; a direct message reaches the person, one to the component is refused politely, never to a room', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Carol'); // alice takes the nick carol's puppet wants
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'who took my nick?' } });
  const msg = await alice.waitFor((el) => el.getChildText('body') === 'who took my nick?', 'carol\'s message');
  assert.equal(msg.attrs['from'], `${room}/Carol (websocket)`);

  const domain = prosody.componentDomain;
  const carolJid = puppetJid({ network: 'websocket', id: 'carol' }, domain);
  const info = await alice.request(xml('iq', { type: 'get', to: carolJid }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.equal(info.getChild('query')?.getChild('identity')?.attrs['name'], 'Carol');
  const vcard = await alice.request(xml('iq', { type: 'get', to: carolJid }, xml('vCard', { xmlns: 'vcard-temp' })));
  assert.equal(vcard.getChild('vCard', 'vcard-temp')?.getChildText('NICKNAME'), 'Carol');
  const ping = await alice.request(xml('iq', { type: 'get', to: domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(ping.attrs['type'], 'result');
  await assert.rejects(alice.request(xml('iq', { type: 'get', to: `nobody@${domain}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }))),
    (err: Error & { condition?: string }) => err.condition === 'item-not-found');

  // An interested, available resource (RFC 6121 §2.1.6, §4.2): it gets roster pushes and contacts' presence.
  await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await alice.send(xml('presence'));
  let since = alice.mark();
  await alice.send(xml('presence', { to: carolJid, type: 'subscribe' }));
  // The server turns the puppet's `subscribed` into a roster push (RFC 6121 §3.1.6); then the puppet's presence arrives.
  await alice.waitFor((el) => el.name === 'iq' && el.getChild('query', 'jabber:iq:roster')?.getChild('item')?.attrs['subscription'] === 'to', 'the roster push: subscribed', { since });
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from']?.split('/')[0] === carolJid && el.attrs['type'] === undefined, 'the puppet\'s presence', { since });

  // A direct message to the puppet reaches carol (test/xmpp/direct.test.ts has the rest); one to
  // the component itself, which is nobody, is answered service-unavailable.
  await alice.send(xml('message', { to: carolJid, type: 'chat', id: 'dm1' }, xml('body', {}, 'psst')));
  const dm = await carol.next((f) => f.type === 'event' && f.room === `@xmpp:${alice.bareJid}`, 10_000);
  assert.equal((dm as unknown as { event: { text: string } }).event.text, 'psst');
  since = alice.mark();
  await alice.send(xml('message', { to: domain, type: 'chat', id: 'dm2' }, xml('body', {}, 'psst')));
  const bounce = await alice.waitFor((el) => el.name === 'message' && el.attrs['type'] === 'error' && el.attrs['id'] === 'dm2', 'the error for a message to the component', { since });
  assert.equal(bounce.getChild('error')?.getChildElements()[0]?.name, 'service-unavailable');
  // Alice is still in the room (no error went to it).
  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'still here' } });
  await alice.waitFor((el) => el.getChildText('body') === 'still here', 'a later room message', { since });
});

test('presence both ways: a room occupant\'s show/status reaches WS clients; a WS user\'s presence shows on their puppet; offline makes the puppet leave', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  await alice.send(xml('presence', { to: `${room}/Alice` }, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
  const away = await carol.next((f) => f.type === 'event' && (f as { event?: { kind?: string } }).event?.kind === 'presence', 10_000);
  const ev = (away as unknown as { event: Record<string, unknown> }).event;
  assert.deepEqual([ev['state'], ev['status'], (ev['sender'] as { name: string }).name], ['away', 'lunch', 'Alice']);

  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi' } });
  await alice.waitFor((el) => el.getChildText('body') === 'hi', 'carol\'s message (her puppet joined)');
  let since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state: 'dnd', status: 'focus' } });
  const dnd = await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Carol` && el.getChildText('show') === 'dnd', 'carol dnd', { since });
  assert.equal(dnd.getChildText('status'), 'focus');
  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state: 'offline' } });
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Carol` && el.attrs['type'] === 'unavailable', 'carol\'s puppet leaving', { since });
});

test('a puppet kicked from the room comes back by itself before its next message, which arrives once; no error ever goes to the room', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice'); // the room's owner: she may kick
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'before' } });
  await alice.waitFor((el) => el.getChildText('body') === 'before', 'carol\'s first message');

  let since = alice.mark();
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { nick: 'Carol', role: 'none' }, xml('reason', {}, 'out you go')))));
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Carol` && el.attrs['type'] === 'unavailable', 'the kick', { since });

  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after' } });
  await alice.waitFor((el) => el.getChildText('body') === 'after', 'carol\'s message after the kick', { since });
  const rejoin = alice.stanzas.slice(since).findIndex((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Carol` && el.attrs['type'] === undefined);
  const message = alice.stanzas.slice(since).findIndex((el) => el.getChildText('body') === 'after');
  assert.ok(rejoin !== -1 && rejoin < message, 'the puppet rejoined, then spoke');
  assert.equal(alice.stanzas.filter((el) => el.getChildText('body') === 'after').length, 1);
  assert.doesNotMatch(prosody.log(), /bounced an error|kicked.*error/i);
});

test('a flood from one occupant is cut at its rate (logged, counted), the others are still bridged', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  const bob = await connectUser(prosody, 'bob');
  t.after(() => Promise.all([alice.stop(), bob.stop()]));
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice');
  await bob.joinMuc(room, 'Bob');
  const bridge = await startXmppBridge(prosody, { xmpp: { inboundPerSenderPerSecond: 0.1, inboundPerSenderBurst: 3 } });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  for (let i = 0; i < 10; i++) await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `flood ${i}`)));
  await alice.waitFor((el) => el.getChildText('body') === 'flood 9', 'the last of the flood in the room');
  await bob.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'bob is fine')));
  await carol.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === 'bob is fine', 10_000);
  const texts = carol.events.filter((e) => e.event.kind === 'message').map((e) => e.event['text']);
  assert.deepEqual(texts, ['flood 0', 'flood 1', 'flood 2', 'bob is fine'], 'alice\'s burst of 3 passed, the rest was cut; bob unaffected');
  const m = bridge.registry.getSingleMetric('switchboard_xmpp_inbound_total');
  const flood = async () => m ? (await m.get()).values.find((v) => v.labels['outcome'] === 'flood')?.value : undefined;
  assert.equal(await flood(), 7);

  // The room's copies of our own puppets' messages (the reflections their deliveries wait for) are
  // never counted against the rate: carol's 6 in a row all go out at once, none taken for a flood.
  const since = alice.mark();
  for (let i = 0; i < 6; i++) assert.equal((await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `carol ${i}` } })).type, 'ack');
  await alice.waitFor((el) => el.getChildText('body') === 'carol 5', 'carol\'s last message', { since, timeoutMs: 4_000 });
  assert.equal(await flood(), 7, 'no reflection counted as a flood');
});

test('an occupant\'s rate is counted as their messages arrive: messages within it, held up behind a bus that stalled, are all bridged when it goes on', async (t) => {
  // A bus whose publishes wait while `held` (Redis slow or away): the room's inbound queue backs up.
  const registry = createRegistry(false);
  const real = new MemoryBus(busOptions(registry));
  t.after(() => real.close());
  let release: () => void = () => {};
  let held: Promise<void> = Promise.resolve();
  const gated = (fn: (...a: unknown[]) => Promise<unknown>) => async (...args: unknown[]) => { await held; return await fn(...args); };
  const bus = new Proxy(real, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'publish' || property === 'publishOnce') return gated((value as (...a: unknown[]) => Promise<unknown>).bind(target));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const { alice, room, bridge } = await startRoomRig(t, { bus, xmpp: { inboundPerSenderPerSecond: 1, inboundPerSenderBurst: 2 } });
  held = new Promise<void>((resolve) => { release = resolve; });
  // Five messages at 1.2 s apart: within 1/s, so none is a flood however late it is worked through.
  for (let i = 0; i < 5; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1_200));
    await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `paced ${i}`)));
  }
  await alice.waitFor((el) => el.getChildText('body') === 'paced 4', 'the last one in the room');
  release();
  const texts = async () => (await real.readStream('lobby', undefined, 1_000)).entries.map((e) => e.event).filter((e) => e.kind === 'message').map((e) => (e as { text: string }).text);
  await waitFor(async () => (await texts()).length >= 5, { what: 'the five on the bus', timeoutMs: 10_000 });
  assert.deepEqual(await texts(), ['paced 0', 'paced 1', 'paced 2', 'paced 3', 'paced 4']);
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'flood' }), 0);
});
