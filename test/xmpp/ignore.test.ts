// bridges/ `ignore:` with a real Prosody: the rules name XMPP senders by the id the connector gives
// them (a bare JID in a room that shows real JIDs), so what an ignored occupant does, and the `!`
// commands anyone types, stay in the MUC; a WS user's command stays on WS. Everything said still
// enters the canonical stream. "Nothing arrived" is shown by a later message that did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Bus } from '../../src/bus/types.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRoomRig, startXmppBridge, wsInLobby } from './bridge-harness.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { directRoom } from '../../src/core/direct.ts';
import { metricValue } from '../websocket/harness.ts';
import { isText } from './reload-rig.ts';

/** What XMPP put in a canonical room's stream, as `kind text` lines. */
async function fromXmpp(bus: Bus, room: string): Promise<string[]> {
  const read = await bus.readStream(room, undefined, 1_000);
  return read.entries.map((e) => e.event).filter((e) => e.origin.connector === 'xmpp' && e.kind === 'message').map((e) => (e as { text: string }).text);
}

test('an ignored occupant and `!` commands stay in the MUC, a WS command stays on WS; all of it is in the stream', async (t) => {
  // bob is written as an operator might; the bare JID compares case-insensitively.
  const { alice, room, bridge, prosody } = await startRoomRig(t, { ignore: { senders: [{ network: 'xmpp', id: 'Bob@LOCALHOST' }], messages: ['^!'] } }, { mucPublicJids: true });
  const [carol] = await wsInLobby(t, bridge, 'carol');
  const bob = await connectUser(prosody, 'bob');
  t.after(() => bob.stop());
  assert.equal(bob.bareJid, 'bob@localhost');
  await bob.joinMuc(room, 'Bob');

  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'i1' }, xml('body', {}, '!ping')));
  await bob.send(xml('message', { to: room, type: 'groupchat', id: 'i2' }, xml('body', {}, 'bob here')));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'i3' }, xml('body', {}, 'hello from alice')));
  // Two senders' messages are published in either order: wait for all three, then one more from alice.
  await waitFor(async () => (await fromXmpp(bridge.bus, 'lobby')).length === 3, { what: 'three messages in the stream' });
  assert.deepEqual((await fromXmpp(bridge.bus, 'lobby')).sort(), ['!ping', 'bob here', 'hello from alice'], 'the stream has everything said in the MUC');
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'i4' }, xml('body', {}, 'last')));
  await carol.next(isText('last'), 10_000);
  const fromRoom = carol.events.filter((e) => (e.event['origin'] as { connector: string }).connector === 'xmpp');
  assert.deepEqual(fromRoom.filter((e) => e.event['kind'] === 'message').map((e) => e.event['text']), ['hello from alice', 'last'], 'neither the command nor bob reached WS');
  assert.equal(fromRoom.some((e) => (e.event['sender'] as { id: string }).id === 'bob@localhost'), false, 'nothing bob did (his join included) reached WS');
  assert.ok(fromRoom.some((e) => (e.event['sender'] as { id: string }).id === 'alice@localhost'), 'alice is named by her bare JID, as the rule names bob');

  // From WS: the command is acknowledged and shown on WS, and never posted into the MUC.
  const since = alice.mark();
  for (const text of ['!deploy', 'after the command']) {
    const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    assert.equal(ack.type, 'ack');
  }
  const first = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChild('body') !== undefined, 'carol\'s puppet speaking', { since });
  assert.equal(first.getChildText('body'), 'after the command');
});

test('config.yaml\'s ignored senders keep their direct chats too: an XMPP account\'s messages to a puppet reach no one; an ignored WS token is told its direct chat reaches no one, and nothing is sent', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const spammer = await connectUser(prosody, 'bob');
  t.after(() => spammer.stop());
  for (const user of [alice, spammer]) {
    await user.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await user.send(xml('presence'));
  }
  const bridge = await startXmppBridge(prosody, { directIgnore: { senders: [{ network: 'xmpp', id: 'Bob@Localhost' }, { network: 'websocket', id: 'dave' }], messages: [] } });
  t.after(() => bridge.stop());
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);

  const spamSince = spammer.mark();
  await spammer.send(xml('message', { to: carolPuppet, type: 'chat', id: 's1' }, xml('body', {}, 'buy now')));
  // Dropped without a word to the sender (an error would tell a spammer the address works), counted.
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'in', outcome: 'ignored' }) === 1, { what: 'the ignored direct message counted' });
  // Everything such an account does: its presence towards the puppet is not published either.
  await spammer.send(xml('presence', { to: carolPuppet }, xml('show', {}, 'chat')));
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'in', outcome: 'presence_unrouted' }) === 1, { what: 'the ignored presence not published' });
  const spamRoom = directRoom({ network: 'xmpp', id: spammer.bareJid }, { network: 'websocket', id: 'carol' })!;
  assert.equal((await bridge.bus.readStream(spamRoom, undefined, 10)).entries.length, 0, 'not published');
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'a1' }, xml('body', {}, 'hello carol')));
  await carol.next(isText('hello carol'), 10_000);
  assert.deepEqual(carol.events.map((e) => [e.event.kind, e.event['text']]), [['message', 'hello carol']], 'nothing of the ignored account reached carol');

  // dave (WS) is named there too: his direct chat to alice is refused, saying why; alice gets nothing.
  const since = alice.mark();
  const refused = await dave.request({ type: 'send', room: `@xmpp:${alice.bareJid}`, event: { kind: 'message', text: 'hi alice' } });
  assert.equal(refused['type'], 'error');
  assert.equal(refused['code'], 'forbidden');
  assert.match(String(refused['message']), /stays on WebSocket \(config\.yaml ignore: senders\)/);
  const ok = await carol.request({ type: 'send', room: `@xmpp:${alice.bareJid}`, event: { kind: 'message', text: 'carol to alice' } });
  assert.equal(ok['type'], 'ack');
  const got = await alice.waitFor((el) => el.name === 'message' && el.attrs['type'] === 'chat' && el.getChild('body') !== undefined, 'carol\'s message', { since });
  assert.equal(got.getChildText('body'), 'carol to alice', 'dave\'s came before it, if at all: it did not');
  assert.equal(spammer.stanzas.slice(spamSince).filter((el) => el.name === 'message').length, 0, 'the ignored account got no answer');
});
