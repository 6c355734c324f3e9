// Linked MUCs bridged one way (bridges/ `direction:`), against a real Prosody: a receive-only MUC
// (a read-only mirror) gets what the WS side says and publishes nothing of its own, live or from
// its archive after a reconnect; a send-only MUC (a source) is read and gets nothing; reloads that
// redirect a MUC make its puppets leave (send-only) or stop its publishing (receive-only), also
// together with a move to another canonical room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { roomStateKey } from '../../src/connectors/xmpp/address.ts';
import { RECEIVE_ONLY_STATUS, SEND_ONLY_STATUS } from '../../src/connectors/xmpp/directions.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { EventFrame } from '../helpers/ws-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startRoomRig, wsInLobby } from './bridge-harness.ts';
import { isText, presenceOf, startReloadRig } from './reload-rig.ts';

const SID = 'urn:xmpp:sid:0';

/** The room's stanza-id on a message alice got from it. */
const stanzaIdOf = (el: Element, room: string): string => el.getChildren('stanza-id', SID).find((s) => s.attrs['by'] === room)?.attrs['id'] ?? '';

/** What XMPP put in a canonical room's stream, as `kind text` lines. */
async function fromXmpp(bus: Bus, room: string): Promise<string[]> {
  const read = await bus.readStream(room, undefined, 1_000);
  return read.entries.map((e) => e.event).filter((e) => e.origin.connector === 'xmpp').map((e) => `${e.kind} ${(e as { text?: string }).text ?? ''}`.trim());
}

/** alice says `text` in `room` (with `id`), and gets the room's copy back. */
async function says(alice: TestUser, room: string, text: string, id: string): Promise<Element> {
  const since = alice.mark();
  await alice.send(xml('message', { to: room, type: 'groupchat', id }, xml('body', {}, text)));
  return await alice.waitFor((el) => el.name === 'message' && el.attrs['id'] === id && el.attrs['from'] === `${room}/Alice`, `the room's copy of ${text}`, { since });
}

test('a receive-only MUC: its occupants\' messages, correction, reaction, retraction, chat state, subject and presences stay there (counted, not in the stream, not at WS), while what the WS side says reaches it from a puppet; a direct chat goes on as ever', async (t) => {
  const { alice, room, bridge, prosody } = await startRoomRig(t, { directions: { xmpp: 'receive-only' } });
  // The room's people are told, in the relay's status (the occupant list shows it).
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.getChildText('status') === RECEIVE_ONLY_STATUS, 'the relay saying the room is a read-only mirror');
  const [carol] = await wsInLobby(t, bridge, 'carol');
  const kept = (): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'receive_only' });

  let since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from carol' } });
  const fromCarol = await alice.waitFor((el) => el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'from carol', 'carol\'s puppet speaking', { since });

  const mine = await says(alice, room, 'kept here', 'k1');
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'k2' }, xml('body', {}, 'kept here, corrected'), xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'k1' })));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'k3' }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: stanzaIdOf(fromCarol, room) }, xml('reaction', {}, '👍'))));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'k4' }, xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: stanzaIdOf(mine, room) })));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'k5' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'k6' }, xml('subject', {}, 'a mirror of the lobby')));
  await alice.send(xml('presence', { to: `${room}/Alice` }, xml('show', {}, 'away')));
  const bob = await connectUser(prosody, 'bob');
  t.after(() => bob.stop());
  await bob.joinMuc(room, 'Bob');
  // alice's presence at the relay's join, her six messages, her away and bob's join: nine, each kept.
  await waitFor(async () => await kept() >= 9, { what: 'nine things kept', timeoutMs: 8_000 }).catch(() => { /* the assertions below say what went wrong */ });
  assert.deepEqual(await fromXmpp(bridge.bus, 'lobby'), [], 'nothing of the room in the canonical stream');
  assert.equal(await kept(), 9);
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'published' }), 0);

  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'still posted' } });
  await alice.waitFor((el) => el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'still posted', 'carol\'s puppet speaking again', { since });
  assert.deepEqual(carol.events.filter((e) => (e.event['origin'] as { connector: string }).connector === 'xmpp'), [], 'carol got nothing of the room');

  // A direct chat is no room's: alice's message to carol's puppet reaches her.
  await alice.send(xml('message', { to: puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain), type: 'chat', id: 'd1' }, xml('body', {}, 'direct')));
  const direct = await carol.next(isText('direct'), 10_000) as EventFrame;
  assert.equal(direct.room, `@xmpp:${alice.bareJid}`);
});

test('a receive-only MUC after the component was away: what was said there meanwhile is read from the archive and kept too', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t, { directions: { xmpp: 'receive-only' } });
  const position = (): Promise<string | undefined> => bridge.bus.state('xmpp').get(roomStateKey('mam', room));
  // The relay's first join notes where the archive ends: the next join catches up from there.
  await waitFor(async () => await position() !== undefined, { what: 'the archive position noted' });
  await says(alice, room, 'live', 'l1');
  await bridge.stopXmpp();
  await says(alice, room, 'while away', 'w1');
  const last = await says(alice, room, 'while away, too', 'w2');
  const since = alice.mark();
  await bridge.startXmpp();
  await alice.waitFor(presenceOf(`${room}/Switchboard`), 'the relay back', { since });
  // Read to the end (each read message moves the position), kept or published.
  await waitFor(async () => await position() === stanzaIdOf(last, room), { what: 'the catch-up read to the last message' });
  assert.deepEqual(await fromXmpp(bridge.bus, 'lobby'), [], 'nothing of the room in the canonical stream');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'published' }), 0);
});

test('a send-only MUC: what is said there reaches WS; what WS says is not posted there, and no puppet joins it', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t, { directions: { xmpp: 'send-only' } });
  await alice.send(xml('presence')); // available: carol's direct message below reaches her
  const [carol] = await wsInLobby(t, bridge, 'carol');
  await says(alice, room, 'from the source', 's1');
  const got = await carol.next(isText('from the source'), 10_000) as EventFrame;
  assert.equal((got.event['sender'] as { name: string }).name, 'Alice');

  const since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'not for the source' } });
  // Then a direct message, on the same egress queue: once alice has it, carol's room message had its turn.
  await carol.request({ type: 'send', room: `@xmpp:${alice.bareJid}`, event: { kind: 'message', text: 'fence' } });
  await alice.waitFor((el) => el.attrs['type'] === 'chat' && el.getChildText('body') === 'fence', 'carol\'s direct message', { since });
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.attrs['from']?.startsWith(`${room}/`)).map((el) => el.toString()), [], 'nothing posted, nobody joined');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_delivered_total', { outcome: 'sent' }), 0);
});

test('a reload makes a MUC send-only: the puppet leaves saying why, the relay stays, the room still sends; back to both, the puppet comes back when carol speaks', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'] });
  const { alice } = rig;
  const lobby = rig.muc('lobby');
  const carol = await rig.carolIn('lobby');
  const fromCarol = (text: string) => (el: Element): boolean => el.attrs['from'] === `${lobby}/Carol` && el.getChildText('body') === text;
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'carol in lobby' } });
  await alice.waitFor(fromCarol('carol in lobby'), 'carol\'s puppet in lobby');

  const since = alice.mark();
  await rig.link('lobby', { direction: 'send-only' });
  const left = await alice.waitFor(presenceOf(`${lobby}/Carol`, 'unavailable'), 'carol\'s puppet leaving', { since });
  assert.equal(left.getChildText('status'), SEND_ONLY_STATUS);
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'redirected' }), 1);
  await rig.aliceSays('lobby', 'the source goes on');
  await carol.next(isText('the source goes on'), 10_000);
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.name === 'presence' && el.attrs['from']?.startsWith(`${lobby}/`)).map((el) => el.attrs['from']),
    [`${lobby}/Carol`], 'carol\'s puppet left; the relay stayed');

  await rig.link('lobby');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'both ways again' } });
  await alice.waitFor(presenceOf(`${lobby}/Carol`), 'carol\'s puppet joining again', { since });
  await alice.waitFor(fromCarol('both ways again'), 'carol\'s puppet speaking again', { since });
});

test('a reload makes a MUC send-only while a delivery to it is in hand and another queued: the one in hand completes, the queued one is dropped (counted, not retried, not sent), and the puppet is out', async (t) => {
  // Pings off: Prosody is paused below, and must look like a slow room, not a dead stream.
  const rig = await startReloadRig(t, { linked: ['lobby'], xmpp: '  pingIntervalMs: 0\n' });
  const { alice, prosody } = rig;
  const lobby = rig.muc('lobby');
  const carol = await rig.carolIn('lobby');
  const fromCarol = (text: string) => (el: Element): boolean => el.attrs['from'] === `${lobby}/Carol` && el.getChildText('body') === text;
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'carol in lobby' } });
  await alice.waitFor(fromCarol('carol in lobby'), 'carol\'s puppet in lobby');
  await waitFor(async () => await rig.metric('switchboard_xmpp_delivered_total', { outcome: 'sent' }) === 1, { what: 'the delivery done' });

  // Prosody paused: carol's next message is in hand (waiting for its reflection), the one after it waits on the bus.
  const since = alice.mark();
  prosody.signal('SIGSTOP');
  t.after(() => { if (prosody.running) prosody.signal('SIGCONT'); });
  const messagesOut = (): Promise<number> => rig.metric('switchboard_xmpp_stanzas_out_total', { name: 'message' });
  const written = await messagesOut();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'in hand' } });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'queued' } });
  await waitFor(async () => await messagesOut() > written, { what: 'the first written to the paused server' });
  await rig.link('lobby', { direction: 'send-only' });
  prosody.signal('SIGCONT');

  await alice.waitFor(fromCarol('in hand'), 'the message in hand', { since });
  await alice.waitFor(presenceOf(`${lobby}/Carol`, 'unavailable'), 'carol\'s puppet leaving', { since });
  await waitFor(async () => await rig.metric('switchboard_xmpp_delivered_total', { outcome: 'send_only' }) === 1, { what: 'the queued delivery dropped' });
  assert.equal(await rig.metric('switchboard_xmpp_delivered_total', { outcome: 'sent' }), 2, 'the first and the one in hand');
  await rig.aliceSays('lobby', 'fence');
  await carol.next(isText('fence'), 10_000);
  assert.equal(alice.stanzas.some(fromCarol('queued')), false, 'the queued delivery was not sent');
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.name === 'presence' && el.attrs['from']?.startsWith(`${lobby}/`)).map((el) => el.attrs['from']),
    [`${lobby}/Carol`], 'carol\'s puppet left and did not come back; the relay stayed');
  assert.equal(await rig.metric('switchboard_bus_delivery_retries_total', { connector: 'xmpp' }), 0, 'not retried');
  assert.equal(await rig.metric('switchboard_bus_dead_lettered_total', { stage: 'egress', connector: 'xmpp' }), 0);
});

test('a reload makes a MUC receive-only: what is said there from then on stays there, what WS says still reaches it; back to both, it is bridged again (and not what was kept)', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'] });
  const { alice, app } = rig;
  const lobby = rig.muc('lobby');
  const carol = await rig.carolIn('lobby');
  await rig.aliceSays('lobby', 'before');
  await carol.next(isText('before'), 10_000);

  let shown = alice.mark();
  await rig.link('lobby', { direction: 'receive-only' });
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${lobby}/Switchboard` && el.getChildText('status') === RECEIVE_ONLY_STATUS, 'the relay\'s status: a read-only mirror now', { since: shown });
  await rig.aliceSays('lobby', 'mirrored only');
  await waitFor(async () => await rig.metric('switchboard_xmpp_inbound_total', { outcome: 'receive_only' }) === 1, { what: 'alice\'s message kept', timeoutMs: 8_000 })
    .catch(() => { /* the assertion below says what went wrong */ });
  // (alice's presence is the room's, seen at the relay's join.)
  assert.deepEqual(await fromXmpp(app.bus, 'lobby'), ['presence', 'message before'], 'nothing new in the canonical stream');
  const since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'to the mirror' } });
  await alice.waitFor((el) => el.attrs['from'] === `${lobby}/Carol` && el.getChildText('body') === 'to the mirror', 'carol\'s puppet speaking', { since });

  shown = alice.mark();
  await rig.link('lobby');
  const cleared = await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${lobby}/Switchboard` && el.attrs['type'] === undefined, 'the relay\'s presence again', { since: shown });
  assert.equal(cleared.getChild('status'), undefined, 'bridged both ways again: no status');
  await rig.aliceSays('lobby', 'both again');
  await carol.next(isText('both again'), 10_000);
  assert.deepEqual(await fromXmpp(app.bus, 'lobby'), ['presence', 'message before', 'message both again']);
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'redirected' }), 2);
});

test('a reload moves a MUC to another canonical room and makes it send-only at once: the puppet leaves, the relay stays, the room is bridged into its new room', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby', 'dev'] });
  const { alice } = rig;
  const dev = rig.muc('dev');
  const carol = await rig.carolIn('dev');
  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'carol in dev' } });
  await alice.waitFor((el) => el.attrs['from'] === `${dev}/Carol` && el.getChildText('body') === 'carol in dev', 'carol\'s puppet in dev');

  const since = alice.mark();
  rig.tree.write('bridges/ops.yaml', `endpoints:\n  - websocket: ops\n  - xmpp: ${dev}\n    direction: send-only\n`);
  await rig.unlink('dev');
  const left = await alice.waitFor(presenceOf(`${dev}/Carol`, 'unavailable'), 'carol\'s puppet leaving dev', { since });
  assert.equal(left.getChildText('status'), SEND_ONLY_STATUS);
  assert.deepEqual([await rig.metric('switchboard_xmpp_room_links_total', { change: 'moved' }), await rig.metric('switchboard_xmpp_room_links_total', { change: 'redirected' })], [1, 1]);

  const inOps = await rig.carolIn('ops');
  await rig.aliceSays('dev', 'to ops');
  const got = await inOps.next(isText('to ops'), 10_000) as EventFrame;
  assert.equal(got.event.room, 'ops');
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.name === 'presence' && el.attrs['from']?.startsWith(`${dev}/`)).map((el) => el.attrs['from']),
    [`${dev}/Carol`], 'the relay neither left nor joined');
});
