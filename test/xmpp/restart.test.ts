import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type ServerFrame } from '../helpers/ws-client.ts';
import { busOptions, metricValue } from '../websocket/harness.ts';
import { roomStateKey } from '../../src/connectors/xmpp/address.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRoomRig, startXmppBridge, wsInLobby, type After } from './bridge-harness.ts';

const isText = (f: ServerFrame, text: string): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;

/** Every body in the room's archive, oldest first (XEP-0313 query by alice, all pages). */
async function roomArchive(user: TestUser, room: string): Promise<string[]> {
  const bodies: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 50; page++) {
    const queryid = `q${page}`;
    const since = user.mark();
    const fin = await user.request(xml('iq', { type: 'set', to: room },
      xml('query', { xmlns: 'urn:xmpp:mam:2', queryid },
        xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '100'), after ? xml('after', {}, after) : undefined))));
    const results = user.stanzas.slice(since).filter((el: Element) => el.getChild('result', 'urn:xmpp:mam:2')?.attrs['queryid'] === queryid);
    for (const r of results) {
      const body = r.getChild('result', 'urn:xmpp:mam:2')?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message')?.getChildText('body');
      if (body) bodies.push(body);
    }
    const f = fin.getChild('fin', 'urn:xmpp:mam:2');
    if (f?.attrs['complete'] === 'true' || results.length === 0) return bodies;
    after = f?.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('last') ?? undefined;
  }
  return bodies;
}

test('Prosody stopped mid-conversation while both sides keep sending, then started again: each side has every message of the other once, in order', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  let alice = await connectUser(prosody, 'alice');
  await alice.joinMuc(room, 'Alice');
  const registry = createRegistry(false);
  // Deliveries keep being retried while the server is away (the default test bus gives up after 3).
  const bus = new MemoryBus({ ...busOptions(registry), delivery: { maxAttempts: 10_000, backoffMs: 20, maxBackoffMs: 200 } });
  t.after(() => bus.close());
  const bridge = await startXmppBridge(prosody, { bus, xmpp: { reconnectMaxMs: 200, reflectionTimeoutMs: 2_000 } });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  const say = (user: TestUser, text: string): Promise<void> => user.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));
  const carolSays = (text: string) => carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });

  await say(alice, 'A1');
  await carolSays('C1');
  await alice.waitFor((el) => el.getChildText('body') === 'C1', 'C1 at alice');
  await say(alice, 'A2');
  await carol.next((f) => isText(f, 'A2'), 10_000);

  // Mid-conversation: carol keeps sending while the server goes down and comes back.
  const acks = [carolSays('C2'), carolSays('C3')];
  await prosody.stop();
  acks.push(carolSays('C4'), carolSays('C5'));
  for (const a of acks) assert.equal((await a).type, 'ack', 'the bus accepts carol\'s messages while XMPP is away');
  await alice.stop();
  await prosody.start();
  // alice is back first and talks at once: the bridge may not be in the room yet (its archive has it).
  alice = await connectUser(prosody, 'alice', 'again');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  await say(alice, 'A3');
  await say(alice, 'A4');
  await say(alice, 'A5');
  // Last words on each side: once they arrived, everything before them has too (order per room).
  await carolSays('C6');
  await alice.waitFor((el) => el.getChildText('body') === 'C6' && el.attrs['from'] === `${room}/Carol`, 'C6 at alice', { timeoutMs: 30_000 });
  await say(alice, 'A6');
  await carol.next((f) => isText(f, 'A6'), 30_000);

  const atCarol = carol.events.filter((e) => e.event.kind === 'message').map((e) => e.event['text']);
  assert.deepEqual(atCarol, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'], 'every message of alice once, in order');
  const archived = await roomArchive(alice, room);
  assert.deepEqual(archived.filter((b) => b.startsWith('C')), ['C1', 'C2', 'C3', 'C4', 'C5', 'C6'], 'every message of carol once, in order, in the room');
  assert.deepEqual(archived.filter((b) => b.startsWith('A')), ['A1', 'A2', 'A3', 'A4', 'A5', 'A6']);
});

test('the component away while the room talks on, then back: it catches up from the room archive, in order, once; what was sent to the room meanwhile goes out once', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const registry = createRegistry(false);
  const bus = new MemoryBus({ ...busOptions(registry), delivery: { maxAttempts: 10_000, backoffMs: 20, maxBackoffMs: 200 } });
  t.after(() => bus.close());
  const bridge = await startXmppBridge(prosody, { bus });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const say = (text: string): Promise<void> => alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));

  await say('A1');
  await carol.next((f) => isText(f, 'A1'), 10_000);
  let since = alice.mark();
  await bridge.stopXmpp();
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.attrs['type'] === 'unavailable', 'the relay leaving', { since });
  // The room talks on without the bridge; carol too.
  for (const text of ['A2', 'A3', 'A4']) await say(text);
  await alice.waitFor((el) => el.getChildText('body') === 'A4', 'A4 reflected');
  const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C1' } });
  assert.equal(ack.type, 'ack');
  since = alice.mark();
  await bridge.startXmpp();
  await alice.waitFor((el) => el.getChildText('body') === 'C1', 'C1 delivered after the comeback', { since, timeoutMs: 20_000 });
  await say('A5');
  await carol.next((f) => isText(f, 'A5'), 20_000);
  assert.deepEqual(carol.events.filter((e) => e.event.kind === 'message').map((e) => e.event['text']), ['A1', 'A2', 'A3', 'A4', 'A5']);
  assert.equal(alice.stanzas.filter((el) => el.getChildText('body') === 'C1').length, 1, 'C1 reached the room once');
  const archived = await roomArchive(alice, room);
  assert.deepEqual(archived, ['A1', 'A2', 'A3', 'A4', 'C1', 'A5']);
});

test('a room slow to reflect gets the message once: the retry waits for the reflection while the stream is up, and looks in the archive after the stream went', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const registry = createRegistry(false);
  const bus = new MemoryBus({ ...busOptions(registry), delivery: { maxAttempts: 10_000, backoffMs: 20, maxBackoffMs: 200 } });
  t.after(() => bus.close());
  // Pings off: the hung server must not look like a dead stream here, only like a slow room.
  const bridge = await startXmppBridge(prosody, { bus, xmpp: { reflectionTimeoutMs: 100, pingIntervalMs: 0 } });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C0' } });
  await alice.waitFor((el) => el.getChildText('body') === 'C0', 'C0 (carol\'s puppet is in the room)');

  const retries = async (): Promise<number> => {
    const m = registry.getSingleMetric('switchboard_bus_delivery_retries_total');
    return m ? (await m.get()).values.filter((v) => v.labels['connector'] === 'xmpp').reduce((a, v) => a + v.value, 0) : 0;
  };
  const foundInArchive = async (): Promise<number> => {
    const m = bridge.registry.getSingleMetric('switchboard_xmpp_retry_archive_lookups_total');
    return m ? (await m.get()).values.filter((v) => v.labels['found'] === 'yes').reduce((a, v) => a + v.value, 0) : 0;
  };
  const before = await retries();
  const foundBefore = await foundInArchive();
  prosody.signal('SIGSTOP'); // the room holds C1 unanswered: no reflection within 100 ms
  t.after(() => { try { prosody.signal('SIGCONT'); } catch { /* already stopped */ } });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C1' } });
  await waitFor(async () => (await retries()) > before, { what: 'the delivery of C1 to be retried' });
  prosody.signal('SIGCONT');
  await alice.waitFor((el) => el.getChildText('body') === 'C1', 'C1 at alice');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C2' } });
  await alice.waitFor((el) => el.getChildText('body') === 'C2', 'C2 at alice');
  assert.equal(alice.stanzas.filter((el) => el.getChildText('body') === 'C1').length, 1, 'C1 reached the room once');
  assert.equal(await foundInArchive(), foundBefore, 'the stream stayed up: the retry waited for the reflection, no archive lookup');

  // Now the stream goes while C3 waits for its reflection: the next holder of the component
  // cannot know whether the server got it (a reset connection may have lost it), so its retry
  // looks in the archive, and sends C3 only when it is not there: once either way.
  const lookups = async (): Promise<number> => {
    const m = bridge.registry.getSingleMetric('switchboard_xmpp_retry_archive_lookups_total');
    return m ? (await m.get()).values.reduce((a, v) => a + v.value, 0) : 0;
  };
  const lookupsBefore = await lookups();
  const retriesBeforeC3 = await retries();
  prosody.signal('SIGSTOP');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C3' } });
  await waitFor(async () => (await retries()) > retriesBeforeC3, { what: 'the delivery of C3 to be retried' });
  const stopped = bridge.stopXmpp();
  prosody.signal('SIGCONT');
  await stopped;
  await bridge.startXmpp();
  await waitFor(async () => (await lookups()) > lookupsBefore, { what: 'the retry of C3 to look in the archive' });
  await alice.waitFor((el) => el.getChildText('body') === 'C3', 'C3 at alice');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'C4' } });
  await alice.waitFor((el) => el.getChildText('body') === 'C4', 'C4 at alice');
  assert.deepEqual(await roomArchive(alice, room), ['C0', 'C1', 'C2', 'C3', 'C4']);
});

test('deliveries wait on the bus while the server is away (no retries burnt, nothing dead-lettered), and go out once it is back', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  let alice = await connectUser(prosody, 'alice');
  await alice.joinMuc(room, 'Alice');
  // The test bus gives a delivery 3 attempts within ~0.1 s: far less than the outage below.
  const bridge = await startXmppBridge(prosody, { xmpp: { reconnectMaxMs: 300 } });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await alice.stop();
  await prosody.stop();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while you were away' } });
  await prosody.start();
  alice = await connectUser(prosody, 'alice', 'back');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const got = await roomArchiveUntil(alice, room, 'while you were away');
  assert.equal(got.filter((b) => b === 'while you were away').length, 1);
  assert.deepEqual(await bridge.bus.deadLetters(10), []);
});

/** The room archive once it holds `body` (polled: it arrives whenever the bridge is back). */
async function roomArchiveUntil(user: TestUser, room: string, body: string): Promise<string[]> {
  let bodies: string[] = [];
  await waitFor(async () => (bodies = await roomArchive(user, room)).includes(body), { what: `${body} in the room archive`, timeoutMs: 30_000, intervalMs: 200 });
  return bodies;
}

/**
 * Bob says B-live, then B-away while the component is away (stopXmpp: the next start is a new
 * connector, with nothing of the old one's memory, only the bus and its state), and leaves before
 * it is back. The senders carol saw for his two messages.
 */
async function spokeAndLeftWhileAway(t: After, rig: Awaited<ReturnType<typeof startRoomRig>>): Promise<string[]> {
  const { prosody, alice, room, bridge } = rig;
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const bob = await connectUser(prosody, 'bob');
  t.after(() => bob.stop());
  await bob.joinMuc(room, 'Bob');
  await bob.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'B-live')));
  await carol.next((f) => isText(f, 'B-live'), 10_000);
  await bridge.stopXmpp();
  await bob.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'B-away')));
  await alice.waitFor((el) => el.getChildText('body') === 'B-away', 'B-away in the room');
  await bob.stop(); // gone before the bridge is back: the relay never sees him in the room again
  await bridge.startXmpp();
  await carol.next((f) => isText(f, 'B-away'), 20_000);
  return carol.events.filter((e) => e.event.kind === 'message').map((e) => (e.event['sender'] as { id: string }).id);
}

test('a person who spoke and left while the component was away is the same sender caught up from the archive as live (the message\'s occupant-id)', async (t) => {
  const rig = await startRoomRig(t);
  const senders = await spokeAndLeftWhileAway(t, rig);
  assert.equal(senders.length, 2);
  assert.equal(senders[1], senders[0], 'one person, one sender');
  assert.match(senders[0]!, new RegExp(`^${rig.room.replace(/\./g, '\\.')}#`), 'named by the room\'s occupant-id (the room does not show real JIDs to the relay)');
});

test('in a room that shows real JIDs, a person who spoke and left while the component was away is caught up under their JID after a restart of the connector, as live', async (t) => {
  const rig = await startRoomRig(t, {}, { mucPublicJids: true });
  const senders = await spokeAndLeftWhileAway(t, rig);
  assert.deepEqual(senders, [`bob@${rig.prosody.domain}`, `bob@${rig.prosody.domain}`], 'one person, one sender: their JID live and caught up');
});

/** alice in the lobby MUC, carol on WS, the bridge with this catch-up age bound; what carol got, the catch-ups counted. */
async function catchUpRig(t: After, catchUpMaxAgeSeconds: number, pace: { catchUpPagesPerTurn?: number; catchUpPauseSeconds?: number } = {}) {
  const { alice, room, bridge } = await startRoomRig(t, { xmpp: { catchUpMaxAgeSeconds, ...pace } });
  const [carol] = await wsInLobby(t, bridge, 'carol');
  return {
    alice, room, bridge, carol,
    say: (text: string): Promise<void> => alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text))),
    texts: () => carol.events.filter((e) => e.event.kind === 'message').map((e) => e.event['text']),
    catchUps: (outcome: string) => metricValue(bridge.registry, 'switchboard_xmpp_catch_ups_total', { outcome }),
    /** The component away, its saved position replaced by one the archive does not hold (as if expired), `text` said meanwhile; back once carol has it. */
    async awayWithPositionLost(text: string): Promise<void> {
      await bridge.stopXmpp();
      await bridge.bus.state('xmpp').set(roomStateKey('mam', room), 'expired-long-ago');
      await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));
      await alice.waitFor((el) => el.getChildText('body') === text, `${text} reflected`);
      await bridge.startXmpp();
      await carol.next((f) => isText(f, text), 20_000);
    },
  };
}

test('the component away longer than xmpp.catchUpMaxAgeSeconds: only what the room said within the bound is caught up; a position the archive no longer holds is read from the bound, nothing twice', { timeout: 60_000 }, async (t) => {
  const { alice, bridge, carol, say, texts, catchUps, awayWithPositionLost } = await catchUpRig(t, 4);

  await say('A1');
  await carol.next((f) => isText(f, 'A1'), 10_000);
  await bridge.stopXmpp();
  await say('A2, long ago');
  await alice.waitFor((el) => el.getChildText('body') === 'A2, long ago', 'A2 reflected');
  // A2 now older than the bound (4 s), even with the whole seconds MAM's `start` keeps; A3 within
  // it unless the comeback takes over 4 s.
  await new Promise((r) => setTimeout(r, 7_000));
  await say('A3, just now');
  await alice.waitFor((el) => el.getChildText('body') === 'A3, just now', 'A3 reflected');
  await bridge.startXmpp();
  await carol.next((f) => isText(f, 'A3, just now'), 20_000);
  // Prosody looks for the position (A1) among the messages from the bound on: not there.
  assert.equal(await catchUps('read_from_age_bound'), 1);
  await say('A4');
  await carol.next((f) => isText(f, 'A4'), 10_000);
  assert.deepEqual(texts(), ['A1', 'A3, just now', 'A4'], 'A2, older than the bound, was not bridged');

  // A position the archive does not hold (expired there): read from the bound, what was bridged
  // already (A4, within the bound) recognised by its stanza-id.
  await awayWithPositionLost('A5');
  await say('A6');
  await carol.next((f) => isText(f, 'A6'), 10_000);
  assert.deepEqual(texts(), ['A1', 'A3, just now', 'A4', 'A5', 'A6']);
  assert.equal(await catchUps('read_from_age_bound'), 2);
});

test('without an age bound (xmpp.catchUpMaxAgeSeconds: 0), a position the archive no longer holds is read from what the archive still holds: the missed message bridged, the earlier ones not twice', { timeout: 60_000 }, async (t) => {
  const { carol, say, texts, catchUps, awayWithPositionLost } = await catchUpRig(t, 0);
  await say('A1');
  await carol.next((f) => isText(f, 'A1'), 10_000);
  await awayWithPositionLost('A2');
  await say('A3');
  await carol.next((f) => isText(f, 'A3'), 10_000);
  assert.deepEqual(texts(), ['A1', 'A2', 'A3']);
  assert.equal(await catchUps('read_from_archive_start'), 1);
});

test('a backlog longer than a catch-up turn (Prosody pages of 50, one page a turn): every message said while away is bridged once, in order, turn after turn, with a live message meanwhile', { timeout: 90_000 }, async (t) => {
  const { alice, bridge, carol, say, texts, catchUps } = await catchUpRig(t, 0, { catchUpPagesPerTurn: 1, catchUpPauseSeconds: 0.5 });
  await say('before');
  await carol.next((f) => isText(f, 'before'), 10_000);
  await bridge.stopXmpp();
  const away = Array.from({ length: 120 }, (_, i) => `away ${i + 1}`);
  for (const text of away) await say(text);
  await alice.waitFor((el) => el.getChildText('body') === 'away 120', 'the backlog reflected');
  await bridge.startXmpp();
  // The first turn: Prosody's 50 (max_archive_query_results); then a pause before the next.
  await carol.next((f) => isText(f, 'away 50'), 20_000);
  await say('live, during the catch-up');
  await carol.next((f) => isText(f, 'away 120'), 30_000);
  await carol.next((f) => isText(f, 'live, during the catch-up'), 10_000);
  await say('after');
  await carol.next((f) => isText(f, 'after'), 10_000);
  const got = texts();
  assert.deepEqual(got.filter((x) => typeof x === 'string' && x.startsWith('away ')), away, 'the whole backlog, once each, in order');
  assert.equal(got.filter((x) => x === 'live, during the catch-up').length, 1, 'the live message once, although the catch-up read it from the archive too');
  assert.equal(got.at(-1), 'after');
  assert.ok(await catchUps('paused') >= 2, `paused at least twice (${await catchUps('paused')})`);
  assert.equal(await catchUps('read_from_archive_start') + await catchUps('read'), 1, 'one catch-up that read to the end');
});
