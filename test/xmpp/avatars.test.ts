import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xml } from '@xmpp/client';
import { silentLogger } from '../../src/core/logger.ts';
import { newEventId } from '../../src/core/ids.ts';
import { startMediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { tempDir } from '../media/helpers.ts';
import { startRouteServer } from '../media/http-harness.ts';
import { startXmppBridge } from './bridge-harness.ts';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('a puppet\'s vCard (XEP-0054) carries its person\'s avatar as PHOTO bytes, fetched through the media store; an unfetchable one as its URL; its room presence advertises the bytes\' SHA-1 (XEP-0153) and keeps it through a presence change', async (t) => {
  const origin = createServer((req, res) => {
    if (req.url === '/face.png') { res.writeHead(200, { 'content-type': 'image/png' }); res.end(PNG); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => origin.close(() => r())));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  const dir = await tempDir();
  t.after(() => dir.remove());
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  t.after(() => mediaServer.close());
  const media = await startMediaService({
    config: MediaConfigSchema.parse({ dir: './media', urls: { secret: 'm'.repeat(40) }, fetch: { allow: ['127.0.0.1/32'] } }),
    baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger,
  });
  routes = media.routes;
  t.after(() => media.close());

  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice');
  const bridge = await startXmppBridge(prosody, { media });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');

  // Two people of another network speak in the room: one with a reachable avatar, one without.
  const people = [
    { network: 'mtproto', id: '41', name: 'Dana', avatar: `${originUrl}/face.png` },
    { network: 'mtproto', id: '42', name: 'Eli', avatar: `${originUrl}/missing.png` },
  ];
  for (const sender of people) {
    await bridge.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: `hi from ${sender.name}`, sender, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
    await alice.waitFor((el) => el.getChildText('body') === `hi from ${sender.name}`, `${sender.name}'s message`);
  }

  const vcardOf = async (jid: string) => (await alice.request(xml('iq', { type: 'get', to: jid, id: `v-${jid}` }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild('vCard', 'vcard-temp');
  const dana = await vcardOf(puppetJid(people[0] as { network: string; id: string }, prosody.componentDomain));
  assert.equal(dana?.getChildText('NICKNAME'), 'Dana');
  assert.equal(dana?.getChild('PHOTO')?.getChildText('TYPE'), 'image/png');
  assert.equal(dana?.getChild('PHOTO')?.getChildText('BINVAL'), PNG.toString('base64'));
  const eli = await vcardOf(puppetJid(people[1] as { network: string; id: string }, prosody.componentDomain));
  assert.equal(eli?.getChild('PHOTO')?.getChildText('EXTVAL'), `${originUrl}/missing.png`);

  // XEP-0153: once Dana's avatar is fetched, her occupant's presence carries its SHA-1, which is
  // the hash of the very bytes her vCard gives; Eli's (no bytes) advertises nothing.
  const sha1 = createHash('sha1').update(PNG).digest('hex');
  const photoIn = (el: { getChild(name: string, ns?: string): { getChildText(name: string): string | null } | undefined }) => el.getChild('x', 'vcard-temp:x:update')?.getChildText('photo');
  const danaOccupant = `${room}/Dana`;
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === danaOccupant && photoIn(el) === sha1, 'Dana\'s presence with her avatar hash');
  const since = alice.stanzas.length;
  await bridge.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'presence', state: 'away', status: 'lunch', sender: people[0]!, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
  const away = await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === danaOccupant && el.getChildText('show') === 'away', 'Dana going away', { since });
  assert.equal(away.getChildText('status'), 'lunch');
  assert.equal(photoIn(away), sha1, 'a presence change keeps advertising the avatar');
  await bridge.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: 'last from Eli', sender: people[1]!, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
  await alice.waitFor((el) => el.getChildText('body') === 'last from Eli', 'Eli\'s last message');
  const eliPresences = alice.stanzas.filter((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Eli`);
  assert.ok(eliPresences.length > 0, 'Eli joined');
  assert.deepEqual(eliPresences.filter((el) => el.getChild('x', 'vcard-temp:x:update') !== undefined).map(String), [], 'no avatar hash for a photo known only by its URL');

  // Direct chats too: alice subscribes to Dana's puppet; its presence to her carries the same hash.
  await alice.send(xml('presence'));
  const danaPuppet = puppetJid(people[0] as { network: string; id: string }, prosody.componentDomain);
  const mark = alice.stanzas.length;
  await alice.send(xml('presence', { to: danaPuppet, type: 'subscribe' }));
  const direct = await alice.waitFor((el) => el.name === 'presence' && el.attrs['from']?.split('/')[0] === danaPuppet && el.attrs['type'] === undefined, 'the puppet\'s presence to alice', { since: mark });
  assert.equal(photoIn(direct), sha1);
});

