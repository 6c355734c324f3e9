import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { AttachmentSchema } from '../../src/core/event.ts';
import { startMediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import type { MediaLinks } from '../../src/mapper/attachments.ts';
import { tempDir } from './helpers.ts';
import { httpRequest, json, startRouteServer } from './http-harness.ts';

test('the proposed config section has safe defaults and refuses bad values', () => {
  const d = MediaConfigSchema.parse({});
  assert.equal(d.maxBytes, 100 * 1024 * 1024);
  assert.equal(d.urls.ttlSeconds, 7 * 86_400);
  assert.equal(d.urls.basePath, '/media');
  assert.deepEqual(d.fetch.allow, []);
  assert.equal(d.gc.graceSeconds, 86_400);
  for (const bad of [{ urls: { secret: 'short' } }, { maxBytes: 0 }, { urls: { basePath: 'media' } }, { fetch: { maxRedirects: 100 } }, { unknown: 1 }, { gc: { graceSeconds: 1 } }]) {
    assert.equal(MediaConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('startMediaService wires store, signed routes, upload, attachments, metrics and GC from the config', async () => {
  const dir = await tempDir();
  // As in the app: the routes exist before the server listens; the URL is known only after.
  let handler: RouteHandler = () => false;
  let listening: string | undefined;
  const registry = createRegistry(false);
  let server: Awaited<ReturnType<typeof startRouteServer>> | undefined;
  try {
    const config = MediaConfigSchema.parse({ dir: './media-data', maxBytes: 4096, urls: { secret: 's'.repeat(40), ttlSeconds: 120 }, gc: { intervalSeconds: 3600 } });
    const service = await startMediaService({
      config, baseDir: dir.path, httpUrl: () => listening ?? 'http://not-listening-yet', logger: silentLogger, registry,
      authorize: (req) => (req.headers.authorization === 'Bearer ok' ? { id: 'u' } : undefined),
      liveReferences: () => [],
    });
    handler = service.routes;
    server = await startRouteServer((req, res) => handler(req, res));
    listening = server.url;
    assert.ok(existsSync(join(dir.path, 'media-data', 'blobs')), 'relative dir resolved against the config folder');

    const up = await httpRequest(`${server.url}/media?name=a.txt`, { method: 'POST', headers: { authorization: 'Bearer ok', 'content-type': 'text/plain' }, body: 'hi there' });
    assert.equal(up.status, 201);
    const att = AttachmentSchema.parse(json(up));
    assert.equal((await httpRequest(att.url)).body.toString(), 'hi there');
    const exp = Number(new URL(att.url).searchParams.get('exp'));
    assert.ok(exp - Date.now() / 1000 <= 120 && exp - Date.now() / 1000 > 100, 'ttl from the config');

    const ref = await service.store.put(Readable.from([Buffer.from('from a connector')]), { mime: 'text/plain' });
    const again = AttachmentSchema.parse(service.attachmentFor(ref, 'note\n.txt'));
    assert.equal(again.name, 'note.txt');
    assert.equal((await httpRequest(again.url)).body.toString(), 'from a connector');

    const tooBig = await httpRequest(`${server.url}/media?name=b`, { method: 'POST', headers: { authorization: 'Bearer ok' }, body: Buffer.alloc(5000) });
    assert.equal(tooBig.status, 413);
    const metrics = await registry.metrics();
    assert.match(metrics, /switchboard_media_responses_total\{route="upload",status="201"\} 1/);
    assert.match(metrics, /switchboard_media_refusals_total\{source="upload",reason="too_large"\} 1/);
    assert.match(metrics, /switchboard_media_bytes_in_total\{source="upload"\} 8/);

    assert.ok(service.gc, 'GC runs when live references are wired');
    const report = await service.gc.runNow();
    assert.equal(report?.removed, 0, 'within the grace period');
    await service.close();
    await service.close();
  } finally {
    await server?.close();
    await dir.remove();
  }
});

test('a bad type pattern or allow-list entry stops the start with a message naming it', async () => {
  const dir = await tempDir();
  try {
    const base = { baseDir: dir.path, httpUrl: 'http://127.0.0.1:1', logger: silentLogger };
    await assert.rejects(startMediaService({ ...base, config: MediaConfigSchema.parse({ types: { allow: ['images'] } }) }), /not a MIME type pattern.*images/);
    await assert.rejects(startMediaService({ ...base, config: MediaConfigSchema.parse({ fetch: { allow: ['intranet'] } }) }), /allow-list.*intranet/);
  } finally {
    await dir.remove();
  }
});

test('links for the mapper: a fresh signed URL for references we signed; foreign URLs and bare hashes pass unchanged', async () => {
  const dir = await tempDir();
  let now = 1_700_000_000_000;
  try {
    const config = MediaConfigSchema.parse({ urls: { secret: 'q'.repeat(40), ttlSeconds: 600, publicBaseUrl: 'https://chat.example.org' } });
    const service = await startMediaService({ config, baseDir: dir.path, httpUrl: 'http://127.0.0.1:1', logger: silentLogger, now: () => now });
    const ref = await service.store.put(Readable.from([Buffer.from('linked')]), { mime: 'text/plain' });
    const att = service.attachmentFor(ref, 'x.txt');
    now += 3_600_000; // the reference's own link has expired by the time it is delivered
    const seam: MediaLinks = service.links; // plugs into the mapper's seam as it is
    const fresh = seam.urlFor(att, { connector: 'xmpp', address: 'room@muc.example.org' });
    assert.notEqual(fresh, att.url);
    const u = new URL(fresh);
    assert.equal(u.origin, 'https://chat.example.org');
    assert.equal(u.pathname, `/media/${ref.id}/x.txt`);
    assert.equal(Number(u.searchParams.get('exp')), Math.floor(now / 1000) + 600);
    assert.deepEqual(service.signer.verify(ref.id, 'x.txt', u.searchParams.get('exp'), u.searchParams.get('sig')), { ok: true });

    const foreign = { ...att, url: 'https://upload.xmpp.example/abc/x.txt' };
    assert.equal(service.links.urlFor(foreign), foreign.url);
    const forged = { ...att, url: `https://chat.example.org/media/${ref.id}/x.txt?exp=9999999999&sig=${'A'.repeat(43)}` };
    assert.equal(service.links.urlFor(forged), forged.url, 'knowing the hash does not buy a link');
    const renamed = { ...att, url: att.url.replace('/x.txt?', '/y.txt?') };
    assert.equal(service.links.urlFor(renamed), renamed.url);
    const otherId = { ...att, id: 'b'.repeat(64) };
    assert.equal(service.links.urlFor(otherId), otherId.url, 'the reference id must be the signed one');
  } finally {
    await dir.remove();
  }
});
