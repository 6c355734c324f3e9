import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xml } from '@xmpp/client';
import { PNG, startMediaRig } from './media-rig.ts';
import { newEventId } from '../../src/core/ids.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { Readable } from 'node:stream';
import { UrlSigner } from '../../src/media/index.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { startRoomRig } from './bridge-harness.ts';

test('a puppet\'s vCard (XEP-0054) carries its person\'s avatar as PHOTO bytes, fetched through the media store; an unfetchable one as its URL; its room presence advertises the bytes\' SHA-1 (XEP-0153) and keeps it through a presence change', async (t) => {
  const { originUrl, prosody, alice, room, bridge } = await startMediaRig(t, { '/face.png': { type: 'image/png', body: PNG } });

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


test('a person whose avatar is one of the media store\'s own links (an expired one) to an image too large for a vCard: the vCard gives its URL re-signed, and it downloads', async (t) => {
  const { mediaUrl, media, prosody, alice, bridge } = await startMediaRig(t, {});
  // A PNG (by its signature) over the vCard's 64 KiB, as an XMPP user's stored avatar may be.
  const big = Buffer.concat([PNG, Buffer.alloc(70 * 1024, 0x20)]);
  const ref = await media.store.put(Readable.from([big]), { mime: 'image/png' });
  assert.equal(ref.mime, 'image/png');
  // Signed a day ago with the store's secret: expired now.
  const dayAgo = new UrlSigner('m'.repeat(40), () => Date.now() - 86_400_000);
  const expired = `${mediaUrl}${dayAgo.signedPath('/media', ref.id, 'avatar', 3600).path}`;
  assert.equal((await fetch(expired)).status, 410, 'the link as given has expired');

  const hal = { network: 'mtproto', id: '43', name: 'Hal', avatar: expired };
  await bridge.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: 'hi from Hal', sender: hal, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
  await alice.waitFor((el) => el.getChildText('body') === 'hi from Hal', 'Hal\'s message');
  const card = (await alice.request(xml('iq', { type: 'get', to: puppetJid(hal, prosody.componentDomain), id: 'v-hal' }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild('vCard', 'vcard-temp');
  const url = card?.getChild('PHOTO')?.getChildText('EXTVAL') ?? '';
  assert.notEqual(url, expired, 're-signed');
  const got = await fetch(url);
  assert.equal(got.status, 200, url);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), big);
});

test('after a restart a puppet\'s vCard still gives its person\'s name before they speak again (kept in the bus state)', async (t) => {
  const { alice, bridge, prosody } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello' } });
  await alice.waitFor((el) => el.getChildText('body') === 'hello', 'carol\'s message');
  const carolJid = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  const fullNameOf = async (id: string) => (await alice.request(xml('iq', { type: 'get', to: carolJid, id }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild('vCard', 'vcard-temp')?.getChildText('FN');
  assert.equal(await fullNameOf('before'), 'Carol');
  await bridge.stopXmpp();
  await bridge.startXmpp();
  await waitFor(async () => (await fullNameOf(`after-${Date.now()}`).catch(() => undefined)) !== undefined, { what: 'the component back', intervalMs: 100 });
  assert.equal(await fullNameOf('after'), 'Carol', 'her name, not her id');
});
