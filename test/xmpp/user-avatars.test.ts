// XMPP users' avatars reach the other networks: alice (a real account on a real Prosody, vCard
// stored by its mod_vcard) advertises her photo's SHA-1 in her room presence (XEP-0153); the
// bridge asks for her vCard through the room, checks the photo against the hash, keeps it in the
// media store, and her canonical sender carries the store's URL — downloadable, the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xml } from '@xmpp/client';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { startProsody } from '../helpers/prosody.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startMediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { tempDir } from '../media/helpers.ts';
import { startRouteServer } from '../media/http-harness.ts';
import { startXmppBridge } from './bridge-harness.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { PNG, startMediaRig } from './media-rig.ts';
import type { Registry } from '../../src/core/metrics.ts';
import { MAX_OCCUPANT_AVATAR_BYTES, vcardPhotoOf } from '../../src/connectors/xmpp/occupant-avatars.ts';
import { parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';
import { metricValue } from '../websocket/harness.ts';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

interface Sender { network: string; name: string; avatar?: string }

async function setVcardPhoto(user: TestUser, photo: Buffer | undefined): Promise<void> {
  const card = photo === undefined ? xml('vCard', { xmlns: 'vcard-temp' }, xml('NICKNAME', {}, 'Alice'))
    : xml('vCard', { xmlns: 'vcard-temp' }, xml('NICKNAME', {}, 'Alice'), xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, photo.toString('base64'))));
  const answer = await user.request(xml('iq', { type: 'set', id: `vc-${Date.now()}` }, card));
  assert.equal(answer.attrs['type'], 'result', 'Prosody stored the vCard');
}

/** alice's presence in the room with this XEP-0153 photo hash ('' = no avatar). */
async function advertise(user: TestUser, room: string, hash: string, show?: string): Promise<void> {
  await user.send(xml('presence', { to: `${room}/Alice` }, ...(show ? [xml('show', {}, show)] : []), xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, hash))));
}

/** The first presence event of Alice that WS client `c` got after event number `since`, whose sender passes `pred`. */
async function alicePresence(c: TestClient, since: number, pred: (s: Sender) => boolean, what: string): Promise<Sender> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    for (const f of c.events.slice(since)) {
      const e = f.event as unknown as { kind: string; sender: Sender };
      if (e.kind === 'presence' && e.sender.network === 'xmpp' && e.sender.name === 'Alice' && pred(e.sender)) return e.sender;
    }
    if (Date.now() > deadline) throw new Error(`no presence of Alice ${what}: ${JSON.stringify(c.events.slice(since).map((x) => x.event))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(registry: Registry, outcome: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'switchboard_xmpp_occupant_avatars_total');
  return m?.values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

test('an XMPP user\'s vCard photo, advertised in her room presence, becomes her avatar on the other networks; a photo that does not match the hash, or none, gives none', async (t) => {
  const { prosody, alice, room, bridge } = await startMediaRig(t, {});
  void prosody;
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  await setVcardPhoto(alice, PNG);
  let since = carol.events.length;
  await advertise(alice, room, sha1(PNG), 'away');
  const withAvatar = await alicePresence(carol, since, (s) => s.avatar !== undefined, 'with an avatar');
  assert.equal(await metric(bridge.registry, 'stored'), 1);
  const url = withAvatar.avatar!;
  const got = await fetch(url);
  assert.equal(got.status, 200, url);
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG, 'the avatar URL gives her photo\'s bytes');

  // Her messages carry it too.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'av1' }, xml('body', {}, 'hello with a face')));
  const msg = await carol.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === 'hello with a face', 10_000);
  assert.equal((msg as unknown as { event: { sender: Sender } }).event.sender.avatar, url);

  // A hash her vCard photo does not have: not her avatar (the presence says the avatar changed: none now).
  const other = Buffer.concat([PNG, Buffer.from('x')]);
  since = carol.events.length;
  await advertise(alice, room, sha1(other));
  const mismatch = await alicePresence(carol, since, (s) => s.avatar === undefined, 'without an avatar after a mismatching hash');
  assert.equal(mismatch.avatar, undefined);
  await waitFor(async () => await metric(bridge.registry, 'mismatch') === 1, 'the mismatch counted');
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'av2' }, xml('body', {}, 'no face now')));
  const plain = await carol.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === 'no face now', 10_000);
  assert.equal((plain as unknown as { event: { sender: Sender } }).event.sender.avatar, undefined);

  // The right hash again: known already, at once; then an empty <photo/>: no avatar.
  since = carol.events.length;
  await advertise(alice, room, sha1(PNG));
  assert.equal((await alicePresence(carol, since, (s) => s.avatar !== undefined, 'with her avatar again')).avatar, url);
  since = carol.events.length;
  await advertise(alice, room, '');
  assert.equal((await alicePresence(carol, since, (s) => s.avatar === undefined, 'after an empty photo')).avatar, undefined);

  // A presence without the XEP-0153 element says nothing about the avatar: none it stays.
  since = carol.events.length;
  await alice.send(xml('presence', { to: `${room}/Alice` }, xml('show', {}, 'dnd')));
  assert.equal((await alicePresence(carol, since, () => true, 'going dnd')).avatar, undefined);
  // The hash of the photo stored before: known, so shown at once without asking again.
  since = carol.events.length;
  await advertise(alice, room, sha1(PNG), 'dnd');
  assert.equal((await alicePresence(carol, since, (s) => s.avatar !== undefined, 'with the known avatar')).avatar, url);
  assert.equal(await metric(bridge.registry, 'stored'), 1, 'one vCard request for one photo');
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a vCard photo that is not an image is no avatar (its declared TYPE is not believed); a hash is asked for once; an occupant changing avatars too fast is not asked every time', async (t) => {
  const { alice, room, bridge } = await startMediaRig(t, {});
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  const text = Buffer.from('this is not an image at all\n'.repeat(10));
  await setVcardPhoto(alice, text);
  let since = carol.events.length;
  await advertise(alice, room, sha1(text), 'dnd');
  await waitFor(async () => await metric(bridge.registry, 'not_image') === 1, 'the text refused');
  assert.equal((await alicePresence(carol, since, () => true, 'going dnd')).avatar, undefined, 'a text file is no avatar');
  since = carol.events.length;
  await advertise(alice, room, sha1(text), 'away');
  assert.equal((await alicePresence(carol, since, () => true, 'going away')).avatar, undefined);
  assert.equal(await metric(bridge.registry, 'not_image'), 1, 'the same hash is not asked for again (for 10 minutes)');
  assert.equal(await metric(bridge.registry, 'stored'), 0);

  // Changing the advertised avatar over and over: 3 requests at once per occupant, then one a minute.
  for (const [i, show] of (['xa', 'chat', 'away'] as const).entries()) {
    await advertise(alice, room, sha1(Buffer.from(`photo ${i}`)), show);
    await waitFor(async () => await metric(bridge.registry, 'mismatch') + await metric(bridge.registry, 'limited') === i + 1, `hash ${i} handled`);
  }
  assert.equal(await metric(bridge.registry, 'mismatch'), 2, 'two more requests');
  assert.equal(await metric(bridge.registry, 'limited'), 1, 'the fourth change within the minute is not asked for');
});

test('vCard photos: BINVAL decoded with whitespace, TYPE kept; none, empty or over 1 MiB (checked before decoding) is no photo', () => {
  const card = (...photo: ReturnType<typeof xml>[]) => xml('iq', { type: 'result' }, xml('vCard', { xmlns: 'vcard-temp' }, ...photo));
  const wrapped = PNG.toString('base64').replace(/(.{16})/g, '$1\n ');
  const got = vcardPhotoOf(card(xml('PHOTO', {}, xml('TYPE', {}, ' image/png '), xml('BINVAL', {}, wrapped))));
  assert.deepEqual(got, { bytes: PNG, type: 'image/png' });
  assert.equal(vcardPhotoOf(card()), undefined);
  assert.equal(vcardPhotoOf(card(xml('PHOTO', {}, xml('EXTVAL', {}, 'https://example.org/a.png')))), undefined, 'a URL is not fetched');
  assert.equal(vcardPhotoOf(card(xml('PHOTO', {}, xml('BINVAL', {}, '')))), undefined);
  assert.equal(vcardPhotoOf(card(xml('PHOTO', {}, xml('BINVAL', {}, Buffer.alloc(MAX_OCCUPANT_AVATAR_BYTES + 1, 1).toString('base64'))))), undefined);
  assert.equal(vcardPhotoOf(card(xml('PHOTO', {}, xml('BINVAL', {}, Buffer.alloc(MAX_OCCUPANT_AVATAR_BYTES, 1).toString('base64')))))?.bytes.length, MAX_OCCUPANT_AVATAR_BYTES, 'exactly 1 MiB is fine');
  assert.equal(vcardPhotoOf(xml('iq', { type: 'result' })), undefined, 'no vCard at all');
});

test('XEP-0153 in presence: a SHA-1 (any case) is the hash, an empty <photo/> means none, anything else or no element says nothing', () => {
  const pres = (photo?: string) => xml('presence', { from: 'r@m/a', to: 'x' }, ...(photo === undefined ? [] : [xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, photo))]));
  const hash = 'A'.repeat(40);
  assert.equal(parsePresence(pres(hash)).photo, 'a'.repeat(40));
  assert.equal(parsePresence(pres('')).photo, '');
  assert.equal(parsePresence(pres('not-a-hash')).photo, undefined);
  assert.equal(parsePresence(pres()).photo, undefined);
  assert.equal(parsePresence(xml('presence', {}, xml('x', { xmlns: 'vcard-temp:x:update' }))).photo, undefined, 'no <photo/>: the client is not ready to say');
});

test('the relay joins a room where six people with avatars already are: every one of them gets an avatar (4 requests at a time, the rest wait their turn)', async (t) => {
  const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
  const prosody = await startProsody({ users: Object.fromEntries(names.map((n) => [n, `pw-${n}`])) });
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const photos = new Map<string, Buffer>();
  for (const [i, name] of names.entries()) {
    const user = await connectUser(prosody, name);
    t.after(() => user.stop());
    // A different image each (PNG bytes plus a trailing chunk: still a PNG by its signature).
    const photo = Buffer.concat([PNG, Buffer.from([i])]);
    photos.set(name, photo);
    await setVcardPhoto(user, photo);
    await user.send(xml('presence', { to: `${room}/${name}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }), xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, sha1(photo)))));
    await user.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/${name}`, `${name} in the room`);
  }
  const dir = await tempDir();
  t.after(() => dir.remove());
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  t.after(() => mediaServer.close());
  const media = await startMediaService({ config: MediaConfigSchema.parse({ dir: './media', urls: { secret: 's'.repeat(40) } }), baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger });
  routes = media.routes;
  t.after(() => media.close());
  const bridge = await startXmppBridge(prosody, { media });
  t.after(() => bridge.stop());

  // Everyone's avatar arrives, as the presence that says it changed (read from the room's
  // beginning: some may come before carol joins); the bytes are theirs.
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby', since: null });
  const avatars = new Map<string, string>();
  const deadline = Date.now() + 20_000;
  while (avatars.size < names.length && Date.now() < deadline) {
    for (const f of carol.events) {
      const s = (f.event as unknown as { sender: Sender & { id: string } }).sender;
      if (s.network === 'xmpp' && s.avatar !== undefined) avatars.set(s.name, s.avatar);
    }
    if (avatars.size < names.length) await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual([...avatars.keys()].sort(), names, `avatars of ${JSON.stringify([...avatars.keys()])}`);
  for (const name of names) {
    const got = await fetch(avatars.get(name)!);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), photos.get(name), name);
  }
  assert.equal(await metric(bridge.registry, 'stored'), 6);
});

test('in a direct chat too: alice\'s presence to carol\'s puppet carries her avatar hash; carol sees her avatar on that presence and on her messages', async (t) => {
  const { prosody, alice, bridge } = await startMediaRig(t, {});
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await setVcardPhoto(alice, PNG);
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  const since = carol.events.length;
  await alice.send(xml('presence', { to: carolPuppet }, xml('nick', { xmlns: 'http://jabber.org/protocol/nick' }, 'Alice A.'), xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, sha1(PNG)))));
  const withAvatar = await new Promise<Sender>((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const look = (): void => {
      const hit = carol.events.slice(since).map((f) => f.event as unknown as { kind: string; sender: Sender }).find((e) => e.kind === 'presence' && e.sender.network === 'xmpp' && e.sender.avatar !== undefined);
      if (hit) resolve(hit.sender);
      else if (Date.now() > deadline) reject(new Error(`no presence with an avatar: ${JSON.stringify(carol.events.slice(since).map((f) => f.event))}`));
      else setTimeout(look, 20);
    };
    look();
  });
  assert.equal(withAvatar.name, 'Alice A.', 'the presence that brings the avatar keeps her nick (XEP-0172)');
  const got = await fetch(withAvatar.avatar!);
  assert.equal(got.status, 200);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG);
  await alice.send(xml('message', { to: carolPuppet, type: 'chat', id: 'dm-av' }, xml('body', {}, 'hi carol, with my face')));
  const msg = await carol.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === 'hi carol, with my face', 10_000);
  assert.equal((msg as unknown as { event: { sender: Sender } }).event.sender.avatar, withAvatar.avatar);
  assert.equal(await metric(bridge.registry, 'stored'), 1);
});

test('an avatar that arrives after the presence reaches every direct chat the user shows a presence in, not only the one whose presence carried the hash', async (t) => {
  const { prosody, alice, bridge } = await startMediaRig(t, {});
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => Promise.all([carol.close(), dave.close()]));
  await setVcardPhoto(alice, PNG);
  const davePuppet = puppetJid({ network: 'websocket', id: 'dave' }, prosody.componentDomain);
  const carolPuppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  // Alice shows herself to dave's puppet first, without a hash: dave sees her present, with no face yet.
  await alice.send(xml('presence', { to: davePuppet }));
  await dave.next((f) => f.type === 'event' && (f as unknown as { event: { kind: string } }).event.kind === 'presence', 10_000);
  const since = dave.events.length;
  // Then to carol's puppet with her hash: the photo is fetched after that presence went out.
  await alice.send(xml('presence', { to: carolPuppet }, xml('x', { xmlns: 'vcard-temp:x:update' }, xml('photo', {}, sha1(PNG)))));
  const atDave = await new Promise<Sender>((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const look = (): void => {
      const hit = dave.events.slice(since).map((f) => f.event as unknown as { kind: string; sender: Sender }).find((e) => e.kind === 'presence' && e.sender.avatar !== undefined);
      if (hit) resolve(hit.sender);
      else if (Date.now() > deadline) reject(new Error(`dave got no presence with her avatar: ${JSON.stringify(dave.events.slice(since).map((f) => f.event))}`));
      else setTimeout(look, 20);
    };
    look();
  });
  const got = await fetch(atDave.avatar!);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG);
  await carol.next((f) => f.type === 'event' && ((f as unknown as { event: { kind: string; sender: Sender } }).event.sender.avatar !== undefined), 10_000);
});

test('in a receive-only room an occupant\'s advertised avatar is not asked for (they are shown nowhere else); their presence is kept there', async (t) => {
  const { alice, room, bridge } = await startMediaRig(t, {}, { bridge: { directions: { xmpp: 'receive-only' } } });
  await setVcardPhoto(alice, PNG);
  const kept = (): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'receive_only' });
  const before = await kept();
  await advertise(alice, room, sha1(PNG), 'away');
  await waitFor(async () => await kept() > before, 'her presence kept in the room');
  // A vCard asked for is answered by Prosody within milliseconds here (the first test: `stored` at once).
  await new Promise((r) => setTimeout(r, 1_000));
  const asked = ((await bridge.registry.getMetricsAsJSON()).find((x) => x.name === 'switchboard_xmpp_occupant_avatars_total')?.values ?? []).reduce((n, v) => n + v.value, 0);
  assert.equal(asked, 0, 'no vCard asked for');
});
