import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startRoomRig } from './bridge-harness.ts';

test('a room that refuses a puppet (banned) gets that event not delivered, logged and counted, at once: the deliveries behind it go on, nothing waits for retries or ends dead-lettered', async (t) => {
  const { alice, room, bridge, prosody } = await startRoomRig(t);
  // alice made the room, so she owns it: she bans carol's puppet.
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'outcast', jid: puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain) }))));
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  for (const c of [carol, dave]) await c.request({ type: 'join', room: 'lobby' });

  const since = alice.mark();
  assert.equal((await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from the banned' } })).type, 'ack');
  assert.equal((await dave.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from dave' } })).type, 'ack');
  await alice.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'from dave', 'dave\'s message, right behind the refused one', { since, timeoutMs: 5_000 });
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_delivered_total', { outcome: 'refused' }), 1);
  assert.equal((await bridge.bus.stats()).deadLettered, 0, 'not retried into the dead-letter queue');
  assert.ok(!alice.stanzas.some((el) => el.getChildText('body') === 'from the banned'));
});
