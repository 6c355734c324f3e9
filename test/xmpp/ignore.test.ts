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
import { startRoomRig, wsInLobby } from './bridge-harness.ts';
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
