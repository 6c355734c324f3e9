import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { FreshLinks, type AttachmentLinks } from '../../src/connectors/websocket/fresh-links.ts';
import type { Attachment, CanonicalEvent, EventOfKind } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { createSignedLinks, startMediaService, UrlSigner, type MediaId, type RouteHandler } from '../../src/media/index.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { httpRequest, startRouteServer } from '../media/http-harness.ts';
import { sha256Hex, tempDir } from '../media/helpers.ts';
import { startBridge, xmppMessage } from './harness.ts';

const SECRET = 'w'.repeat(40);
const BASE = 'https://chat.example.org';
const HOUR = 3_600_000;
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const ID = sha256Hex('an avatar') as MediaId;
const FILE = sha256Hex('a file') as MediaId;

/** The store's links (real signer) on a clock, with every signing check counted. */
function signedLinks() {
  let now = 1_700_000_000_000;
  const signer = new UrlSigner(SECRET, () => now);
  const real = createSignedLinks({ signer, basePath: '/media', publicBaseUrl: () => BASE, ttlSeconds: 600 });
  const calls = { urlFor: 0, freshUrl: 0 };
  const links = {
    urlFor: (a: Attachment) => { calls.urlFor++; return real.urlFor(a); },
    freshUrl: (url: string) => { calls.freshUrl++; return real.freshUrl(url); },
  };
  const sign = (id: MediaId, name: string) => `${BASE}${signer.signedPath('/media', id, name, 600).path}`;
  const valid = (url: string | undefined) => {
    const u = new URL(url!);
    const [, , id, name] = u.pathname.split('/');
    return signer.verify(id!, decodeURIComponent(name!), u.searchParams.get('exp'), u.searchParams.get('sig')).ok;
  };
  return { links, calls, sign, valid, advance: (ms: number) => { now += ms; } };
}

function presence(avatar: string | undefined): CanonicalEvent {
  return {
    v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'presence', state: 'available',
    sender: { network: 'xmpp', id: 'romeo@example.org', ...(avatar !== undefined ? { avatar } : {}) },
    origin: { connector: 'xmpp', endpoint: 'lobby@conference.example.org' },
  };
}

function attachment(id: MediaId, url: string): Attachment {
  return { id, name: 'f.bin', mime: 'application/octet-stream', size: 1, sha256: id, url };
}

test('fresh-links: a sender avatar we signed goes out re-signed (expired -> valid), once per event and burst; a foreign one leaves the event as it is', () => {
  const s = signedLinks();
  const expired = s.sign(ID, 'avatar');
  s.advance(2 * HOUR);
  assert.equal(s.valid(expired), false);
  let clock = 0;
  const fresh = new FreshLinks(s.links, () => clock);

  const event = presence(expired);
  const out = fresh.of(event);
  assert.notEqual(out.sender.avatar, expired);
  assert.ok(s.valid(out.sender.avatar), 'a working link');
  assert.deepEqual({ ...out, sender: { ...out.sender, avatar: expired } }, event, 'nothing else changed');
  assert.equal(event.sender.avatar, expired, 'the original event is untouched');
  assert.equal(fresh.of(event), out, 'the same object for every session');
  assert.equal(s.calls.freshUrl, 1, 'signed once per event');

  // Later, a replay of the very same event object (the memory bus keeps it): the copy of then has
  // expired by now, so it is signed again.
  clock += 60_000;
  s.advance(2 * HOUR);
  assert.equal(s.valid(out.sender.avatar), false);
  const later = fresh.of(event);
  assert.ok(s.valid(later.sender.avatar), 'not the stale copy');
  assert.equal(s.calls.freshUrl, 2);

  const foreign = presence('https://avatars.example.net/romeo.png');
  assert.equal(fresh.of(foreign), foreign, 'a foreign avatar: the event itself');
  const none = presence(undefined);
  assert.equal(fresh.of(none), none);
  assert.equal(new FreshLinks(undefined).of(event), event, 'no media store: as it is');
});

test('fresh-links: a message gets both its attachments and its sender avatar renewed; links without freshUrl still renew attachments', () => {
  const s = signedLinks();
  const avatar = s.sign(ID, 'avatar');
  const file = attachment(FILE, s.sign(FILE, 'f.bin'));
  const other = attachment(ID, 'https://files.example.net/f.bin');
  s.advance(2 * HOUR);
  const message: CanonicalEvent = { ...(xmppMessage('look') as EventOfKind<'message'>), sender: { network: 'xmpp', id: 'romeo@example.org', avatar }, attachments: [file, other] };

  const out = new FreshLinks(s.links).of(message);
  assert.equal(out.kind, 'message');
  assert.ok(s.valid(out.sender.avatar));
  const [renewed, foreign] = out.kind === 'message' ? out.attachments ?? [] : [];
  assert.ok(s.valid(renewed?.url));
  assert.equal(foreign, other, 'a foreign attachment is the same object');

  const onlyAttachments: AttachmentLinks = { urlFor: (a) => s.links.urlFor(a) };
  const partly = new FreshLinks(onlyAttachments).of(message);
  assert.equal(partly.sender, message.sender, 'without freshUrl the avatar stays');
  assert.ok(s.valid(partly.kind === 'message' ? partly.attachments?.[0]?.url : undefined));
  const lone = presence(avatar);
  assert.equal(new FreshLinks(onlyAttachments).of(lone), lone);
});

test('websocket: an event whose sender avatar is our expired link reaches clients with a fresh one that downloads, live and on a replay', async () => {
  const dir = await tempDir();
  let now = Date.now();
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  const media = await startMediaService({
    config: MediaConfigSchema.parse({ urls: { secret: SECRET, ttlSeconds: 600 } }),
    baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger, now: () => now,
  });
  routes = media.routes;
  const bridge = await startBridge({ media });
  try {
    // An XMPP user's vCard photo, stored by the bridge and given out with a link that has since expired.
    const ref = await media.store.put(Readable.from([PNG]), { mime: 'image/png' });
    const expired = media.attachmentFor(ref, 'avatar').url;
    now += 2 * HOUR;
    assert.equal((await httpRequest(expired)).status, 410);

    const bob = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      await bob.request({ type: 'join', room: 'lobby' });
      const sender = { network: 'xmpp', id: 'romeo@example.org', avatar: expired };
      await bridge.bus.publish([{ ...presence(expired), sender }]);
      await bridge.bus.publish([{ ...xmppMessage('hello'), sender }]);
      const avatarsOf = (frames: { event: Record<string, unknown> }[]) => frames.map((f) => (f.event['sender'] as { avatar?: string }).avatar);

      const live = await bob.collectEvents(2);
      assert.deepEqual(live.map((f) => f.event.kind), ['presence', 'message']);
      for (const url of avatarsOf(live)) {
        assert.notEqual(url, expired);
        const got = await httpRequest(String(url));
        assert.equal(got.status, 200, 'live: a working avatar link');
        assert.deepEqual(got.body, PNG);
      }

      await bob.request({ type: 'leave', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby', since: null });
      const replayed = await bob.collectEvents(2);
      assert.deepEqual(replayed.map((f) => f.event.id), live.map((f) => f.event.id));
      for (const url of avatarsOf(replayed)) {
        const got = await httpRequest(String(url));
        assert.equal(got.status, 200, 'replayed: a working avatar link');
        assert.deepEqual(got.body, PNG);
      }

      const history = await bob.request({ type: 'history', room: 'lobby' });
      const paged = history['events'] as { event: Record<string, unknown> }[];
      assert.deepEqual(paged.map((f) => f.event['id']), live.map((f) => f.event.id));
      for (const url of avatarsOf(paged)) {
        const got = await httpRequest(String(url));
        assert.equal(got.status, 200, 'a history page: a working avatar link');
      }
    } finally {
      await bob.close();
    }
  } finally {
    await bridge.stop();
    await media.close();
    await mediaServer.close();
    await dir.remove();
  }
});
