import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { AttachmentSchema } from '../../src/core/event.ts';
import { MediaConfigSchema, startMediaService, type RouteHandler } from '../../src/media/index.ts';
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
