import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startXmppBridge } from './bridge-harness.ts';

test('a linked room that does not exist yet is created by the relay and opened at once (an instant room), not left locked', async (t) => {
  // Rooms locked until configured, as Prosody has them by default.
  const prosody = await startProsody({ mucRoomLocking: true });
  t.after(() => prosody.destroy());
  // Nobody made the room: the bridge's relay is the first to join it.
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  const room = `lobby@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  // Until the relay has made the room, a join is answered item-not-found, and so it is while a
  // made room stays locked (Prosody: for 300 s). Tried for 10 s.
  let joined: string | undefined;
  for (const until = Date.now() + 10_000; Date.now() < until && joined === undefined;) {
    const since = alice.mark();
    await alice.send(xml('presence', { to: `${room}/Alice` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' }))));
    const answer = await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Alice`, 'the answer to alice\'s join', { since });
    if (answer.attrs['type'] !== 'error') { joined = 'yes'; break; }
    const condition = answer.getChild('error')?.getChildElements()[0]?.name;
    assert.equal(condition, 'item-not-found', `only "not there (yet)" may be answered: ${answer.toString()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(joined, 'yes', 'alice could join the room the relay created');

  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const since = alice.mark();
  assert.equal((await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'in the new room' } })).type, 'ack');
  await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'in the new room', 'carol\'s message', { since });
});
