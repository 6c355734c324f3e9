import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/core/logger.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { isMediaError, MediaErrorCode, RemoteFetcher, AddressPolicy, startMediaService, type MediaId, type RouteHandler } from '../../src/media/index.ts';
import { sha256Hex, tempDir } from './helpers.ts';
import { startRouteServer } from './http-harness.ts';

const SECRET = 'o'.repeat(40);
const MINUTE = 60_000;
// A 1x1 PNG: what a stored avatar is.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/**
 * A media service whose public base URL is a real server on 127.0.0.1 that counts every request
 * it gets (it serves the media routes, and `/files/avatar` as a plain remote file): a request
 * counted there is one the fetcher sent over the network.
 */
async function setUp(fetchAllow: string[] = [], fetchMaxBytes?: number) {
  const dir = await tempDir();
  let now = Date.now();
  let requests = 0;
  let routes: RouteHandler = () => false;
  const server = await startRouteServer((req, res) => {
    requests++;
    if (req.url === '/files/avatar') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG);
      return true;
    }
    return routes(req, res);
  });
  const config = MediaConfigSchema.parse({ urls: { secret: SECRET, ttlSeconds: 600 }, fetch: { allow: fetchAllow, ...(fetchMaxBytes !== undefined ? { maxBytes: fetchMaxBytes } : {}) } });
  const service = await startMediaService({ config, baseDir: dir.path, httpUrl: server.url, logger: silentLogger, now: () => now });
  routes = service.routes;
  const avatar = await service.store.put(Readable.from([PNG]), { mime: 'image/png' });
  return {
    service, server, avatar,
    requests: () => requests,
    advance: (ms: number) => { now += ms; },
    close: async () => { await service.close(); await server.close(); await dir.remove(); },
  };
}

function code(expected: string) {
  return (err: unknown) => isMediaError(err) && err.code === expected;
}

test('the fetcher answers our own signed links from the store, fresh or expired, without a request, in the shape of a fetched file', async () => {
  const t = await setUp(); // the default policy: loopback, where our own port is, is refused
  try {
    const url = t.service.attachmentFor(t.avatar, 'avatar').url;
    const expected = { id: t.avatar.id, sha256: t.avatar.sha256, size: PNG.length, mime: 'image/png', name: 'avatar', finalUrl: url };
    const before = await t.service.store.stat(t.avatar.id);
    await sleep(20);
    assert.deepEqual(await t.service.fetcher.fetch(url), expected);
    assert.ok((await t.service.store.stat(t.avatar.id))!.touchedAt > before!.touchedAt, 'touched: the GC grace period restarts, as after a put');
    assert.deepEqual(await t.service.fetcher.fetch(url, { name: 'photo\n.png' }), { ...expected, name: 'photo.png' }, 'the caller\'s name, sanitized');

    t.advance(60 * MINUTE);
    const u = new URL(url);
    assert.deepEqual(t.service.signer.verify(t.avatar.id, 'avatar', u.searchParams.get('exp'), u.searchParams.get('sig')), { ok: false, reason: 'expired' });
    assert.deepEqual(await t.service.fetcher.fetch(url), expected, 'an expired link of ours still names what we stored');
    assert.equal(t.requests(), 0, 'nothing was requested over the network');
  } finally {
    await t.close();
  }
});

test('our own link to a stored file larger than fetches may bring is refused as TooLarge, as fetching it would be', async () => {
  const t = await setUp([], 2048);
  try {
    const big = await t.service.store.put(Readable.from([Buffer.alloc(4096, 7)]), { mime: 'application/octet-stream' });
    await assert.rejects(t.service.fetcher.fetch(t.service.attachmentFor(big, 'big.bin').url), code(MediaErrorCode.TooLarge));
    // At the limit or below, as before.
    assert.equal((await t.service.fetcher.fetch(t.service.attachmentFor(t.avatar, 'avatar').url)).id, t.avatar.id);
    assert.equal(t.requests(), 0, 'nothing was requested over the network');
  } finally {
    await t.close();
  }
});

test('a URL of ours with a tampered or missing signature, another name, an unknown id, or on another origin goes the remote way and is refused as before', async () => {
  const t = await setUp();
  try {
    const url = t.service.attachmentFor(t.avatar, 'avatar').url;
    const unknown = sha256Hex('never stored') as MediaId;
    const cases: [string, string][] = [
      ['tampered signature', url.replace(/sig=(.)/, (_, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)],
      ['no signature', url.split('?')[0]!],
      ['made-up signature', url.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`)],
      ['another name', url.replace('/avatar?', '/other.png?')],
      ['an id the store does not have', `${t.server.url}${t.service.signer.signedPath('/media', unknown, 'avatar', 600).path}`],
      ['another origin', url.replace('//127.0.0.1:', '//127.0.0.2:')],
    ];
    for (const [what, bad] of cases) {
      await assert.rejects(t.service.fetcher.fetch(bad), code(MediaErrorCode.ForbiddenAddress), what);
    }
    assert.equal(t.requests(), 0, 'refused before connecting, as any loopback URL');
  } finally {
    await t.close();
  }
});

test('where loopback may be fetched, the refused cases really reach the network, while our own link still does not', async () => {
  const t = await setUp(['127.0.0.1/32']);
  try {
    const url = t.service.attachmentFor(t.avatar, 'avatar').url;
    const own = await t.service.fetcher.fetch(url);
    assert.equal(t.requests(), 0);

    // The same bytes fetched as a plain remote file: the same fields and values, but for where they came from.
    const remote = await new RemoteFetcher({ store: t.service.store, policy: new AddressPolicy({ allow: ['127.0.0.1/32'] }) }).fetch(`${t.server.url}/files/avatar`);
    assert.equal(t.requests(), 1);
    assert.deepEqual(Object.keys(own).sort(), Object.keys(remote).sort());
    assert.deepEqual({ ...own, finalUrl: '' }, { ...remote, finalUrl: '' });

    await assert.rejects(t.service.fetcher.fetch(url.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`)), code(MediaErrorCode.BadStatus), 'our route answers 403');
    const unknown = sha256Hex('never stored') as MediaId;
    await assert.rejects(t.service.fetcher.fetch(`${t.server.url}${t.service.signer.signedPath('/media', unknown, 'avatar', 600).path}`), code(MediaErrorCode.BadStatus), 'our route answers 404');
    assert.equal(t.requests(), 3);
  } finally {
    await t.close();
  }
});

test('links.freshUrl: a URL we signed, expired or not, gets a fresh link for the same id and name; any other URL is left as it is', async () => {
  const dir = await tempDir();
  let now = 1_700_000_000_000;
  try {
    const config = MediaConfigSchema.parse({ urls: { secret: SECRET, ttlSeconds: 600, publicBaseUrl: 'https://chat.example.org' } });
    const service = await startMediaService({ config, baseDir: dir.path, httpUrl: 'http://127.0.0.1:1', logger: silentLogger, now: () => now });
    try {
      const ref = await service.store.put(Readable.from([PNG]), { mime: 'image/png' });
      const old = service.attachmentFor(ref, 'avatar').url;
      now += 60 * MINUTE;
      const expiredAt = new URL(old);
      assert.equal(service.signer.verify(ref.id, 'avatar', expiredAt.searchParams.get('exp'), expiredAt.searchParams.get('sig')).ok, false);

      const fresh = new URL(service.links.freshUrl(old));
      assert.equal(fresh.origin, 'https://chat.example.org');
      assert.equal(fresh.pathname, `/media/${ref.id}/avatar`);
      assert.equal(Number(fresh.searchParams.get('exp')), Math.floor(now / 1000) + 600);
      assert.deepEqual(service.signer.verify(ref.id, 'avatar', fresh.searchParams.get('exp'), fresh.searchParams.get('sig')), { ok: true });

      for (const other of [
        'https://avatars.example.net/alice.png',
        `https://elsewhere.example.org/media/${ref.id}/avatar${expiredAt.search}`,
        old.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`),
        old.replace('/avatar?', '/other?'),
        'not a url',
      ]) assert.equal(service.links.freshUrl(other), other, other);
    } finally {
      await service.close();
    }
  } finally {
    await dir.remove();
  }
});
