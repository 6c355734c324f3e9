import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { AttachmentSchema } from '../../src/core/event.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startMediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaErrorCode } from '../../src/media/errors.ts';
import { S3Client, type S3ClientOptions } from '../../src/media/s3-client.ts';
import { S3MediaStore } from '../../src/media/s3-store.ts';
import { startS3Server, type S3Server } from '../helpers/s3.ts';
import { filesUnder, readAll, sha256Hex, tempDir } from './helpers.ts';
import { httpRequest, json, startRouteServer } from './http-harness.ts';
import { rejectsWith, storeContract, type StoreOpenOptions } from './store-contract.ts';

let server: S3Server;
before(async () => { server = await startS3Server(); });
after(async () => { await server?.stop(); });

let prefixes = 0;
const s3Options = (over: Partial<S3ClientOptions> = {}): S3ClientOptions => ({
  endpoint: server.endpoint, region: 'us-east-1', bucket: server.bucket, forcePathStyle: true,
  accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, timeoutMs: 10_000, ...over,
});

/** Every key under `prefix`, read with a client of its own (all pages). */
async function keysUnder(prefix: string): Promise<string[]> {
  const client = new S3Client(s3Options());
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.listPage(prefix, 1000, token);
      keys.push(...page.keys);
      token = page.next;
    } while (token !== undefined);
    return keys.sort();
  } finally {
    client.close();
  }
}

async function openS3(options: StoreOpenOptions & { s3?: Partial<S3ClientOptions>; listPageSize?: number } = {}) {
  // Each store gets its own key prefix in the one bucket: tests never see each other's objects.
  const prefix = `t${++prefixes}-${process.pid}/media/`;
  const spool = await tempDir('sb-s3-spool-');
  const store = await S3MediaStore.open({
    s3: s3Options(options.s3), prefix, spoolDir: spool.path, maxBytes: options.maxBytes ?? 1024 * 1024,
    types: { ...(options.allow ? { allow: options.allow } : {}), ...(options.deny ? { deny: options.deny } : {}) },
    ...(options.now ? { now: options.now } : {}),
    ...(options.listPageSize ? { listPageSize: options.listPageSize } : {}),
  });
  return {
    store, prefix, spoolDir: spool.path,
    traces: async () => [...(await filesUnder(spool.path)).map((f) => `spool/${f}`), ...(await keysUnder(prefix))],
    debris: () => filesUnder(spool.path),
    dispose: async () => { store.close(); await spool.remove(); },
  };
}

storeContract({ name: 's3', open: openS3 });

test('s3: a wrong secret or an unknown access key is a clear store_unavailable error, and nothing is stored', async () => {
  for (const [creds, code] of [[{ secretAccessKey: 'not-the-secret' }, 'SignatureDoesNotMatch'], [{ accessKeyId: 'NOBODY' }, 'InvalidAccessKeyId']] as const) {
    const s = await openS3({ s3: creds });
    try {
      const body = Buffer.from(`credentials test ${code}`);
      const err = await s.store.put(Readable.from([body])).then(() => undefined, (e: unknown) => e);
      assert.ok(rejectsWith(MediaErrorCode.StoreUnavailable)(err));
      // The error says the store is away; its cause says which request, on which key, failed how.
      assert.equal((err as Error).message, 'the S3 store is unavailable');
      const message = ((err as Error).cause as Error).message;
      assert.match(message, new RegExp(`403 ${code}`), message);
      assert.doesNotMatch(message, /S3RVER|not-the-secret/, 'no credential in the message');
      assert.deepEqual(await s.traces(), [], 'no object, no spool file');
      await assert.rejects(s.store.stat(sha256Hex(body) as never), rejectsWith(MediaErrorCode.StoreUnavailable));
    } finally {
      await s.dispose();
    }
  }
});

test('s3: an endpoint that is down, or that accepts and never answers, fails the put within the timeout', async () => {
  // A port that was free a moment ago: connection refused.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  // A server that takes connections and stays silent.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => { sockets.add(socket); socket.on('error', () => undefined); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    for (const [endpoint, expect] of [[`http://127.0.0.1:${closedPort}`, /unreachable \(ECONNREFUSED\)/], [`http://127.0.0.1:${silentPort}`, /no answer .* within 800 ms/]] as const) {
      const s = await openS3({ s3: { endpoint, timeoutMs: 800 } });
      try {
        const started = Date.now();
        const err = await s.store.put(Readable.from([Buffer.from('nobody home')])).then(() => undefined, (e: unknown) => e);
        const took = Date.now() - started;
        assert.ok(rejectsWith(MediaErrorCode.StoreUnavailable)(err));
        const cause = ((err as Error).cause as Error).message;
        assert.match(cause, expect);
        assert.match(cause, /^S3 (HeadObject|PutObject) [\w.-]+\/\S*[0-9a-f]{64}: /, 'names the operation, the bucket and the key');
        assert.doesNotMatch(`${(err as Error).message}: ${cause}`, /(unreachable|no answer)[\s\S]*\1/, 'said once');
        assert.ok(took < 5_000, `failed after ${took} ms with an 800 ms timeout`);
        assert.deepEqual(await s.debris(), [], 'the spool file is gone');
      } finally {
        await s.dispose();
      }
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('s3: a server that stalls in the middle of a body cuts the download within the timeout', async () => {
  // A fault no real server shows on demand: headers and half the body, then silence.
  const stalled = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-length': 1000, 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(500, 1));
  });
  await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
  const client = new S3Client(s3Options({ endpoint: `http://127.0.0.1:${(stalled.address() as { port: number }).port}`, timeoutMs: 600 }));
  try {
    const started = Date.now();
    const body = await client.get(`x/${'a'.repeat(64)}`);
    assert.ok(body);
    await assert.rejects(readAll(body), /no answer from 127\.0\.0\.1:\d+ within 600 ms/);
    assert.ok(Date.now() - started < 5_000);
  } finally {
    client.close();
    stalled.closeAllConnections();
    await new Promise<void>((r) => stalled.close(() => r()));
  }
});

test('s3: list follows ListObjectsV2 pagination and skips keys under the prefix that are not media', async () => {
  const s = await openS3({ listPageSize: 2 });
  try {
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await s.store.put(Readable.from([Buffer.from(`item ${i}`)]))).id);
    // Foreign objects under the prefix (another tool's file, a nested key): not ours, not listed.
    const client = new S3Client(s3Options());
    const scratch = await tempDir();
    try {
      const file = join(scratch.path, 'notes.txt');
      await writeFile(file, 'beside the media');
      const sha256 = sha256Hex('beside the media');
      for (const key of [`${s.prefix}notes.txt`, `${s.prefix}nested/${sha256}`]) {
        assert.equal(await client.putFile(key, { path: file, size: 16, sha256 }, { contentType: 'text/plain', metadata: {} }, { ifNoneMatch: false }), 'stored');
      }
    } finally {
      client.close();
      await scratch.remove();
    }
    const seen = [];
    for await (const m of s.store.list()) seen.push(m.id);
    assert.deepEqual(seen.sort(), ids.sort(), 'seven items over four pages of two');
    assert.equal((await keysUnder(s.prefix)).length, 9);
  } finally {
    await s.dispose();
  }
});

test('s3: an object at a media key without our metadata is not content; a put of those bytes replaces it with checked bytes and a type', async () => {
  const s = await openS3();
  const client = new S3Client(s3Options());
  const scratch = await tempDir();
  try {
    const body = Buffer.from('copied in by another tool');
    const id = sha256Hex(body);
    const file = join(scratch.path, 'raw');
    await writeFile(file, body);
    await client.putFile(`${s.prefix}${id}`, { path: file, size: body.length, sha256: id }, { contentType: 'application/octet-stream', metadata: {} }, { ifNoneMatch: false });
    assert.equal(await s.store.stat(id as never), undefined, 'no stored type: not served');
    const listed = [];
    for await (const m of s.store.list()) listed.push(m.id);
    assert.deepEqual(listed, []);
    const ref = await s.store.put(Readable.from([body]), { mime: 'text/plain' });
    assert.equal(ref.id, id);
    assert.equal((await s.store.stat(ref.id))?.mime, 'text/plain');
  } finally {
    client.close();
    await scratch.remove();
    await s.dispose();
  }
});

test('s3: virtual-hosted addressing puts the bucket in the host name and the key alone in the path', async (t) => {
  // A server of its own: s3rver checks virtual-hosted signatures against /<bucket>/<key>, where
  // SigV4 signs the path as sent (/<key>), so this one skips the signature check. Path-style
  // requests, which every other test makes, are verified.
  const vhost = await startS3Server({ allowMismatchedSignatures: true });
  t.after(() => vhost.stop());
  const hosts = new Set<string>();
  const lookup: S3ClientOptions['lookup'] = (hostname, options, callback) => {
    // The names <bucket>.s3.test exist only for this test: resolve them to the loopback server.
    hosts.add(hostname);
    if (typeof options === 'object' && options.all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else (callback as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4);
  };
  const spool = await tempDir('sb-s3-spool-');
  const store = await S3MediaStore.open({
    s3: { ...s3Options(), endpoint: `http://s3.test:${vhost.port}`, forcePathStyle: false, lookup },
    prefix: 'vh/', spoolDir: spool.path, maxBytes: 1024 * 1024,
  });
  try {
    const body = Buffer.from('addressed by host name');
    const ref = await store.put(Readable.from([body]));
    assert.deepEqual(await readAll((await store.open(ref.id, { start: 0, end: 8 }))!), body.subarray(0, 9));
    assert.equal(await store.touch(ref.id), true);
    const listed = [];
    for await (const m of store.list()) listed.push(m.id);
    assert.deepEqual(listed, [ref.id]);
    assert.deepEqual([...hosts], [`${vhost.bucket}.s3.test`], 'every request went to <bucket>.<endpoint host>');
    // The server filed it under the bucket named by the host: a path-style client finds it there.
    const pathStyle = new S3Client({ ...s3Options(), endpoint: vhost.endpoint });
    try {
      assert.deepEqual((await pathStyle.listPage('vh/', 10)).keys, [`vh/${ref.id}`]);
    } finally {
      pathStyle.close();
    }
    assert.equal(await store.delete(ref.id), true);
  } finally {
    store.close();
    await spool.remove();
  }
});

test('s3: config: driver s3 needs endpoint, bucket and keys, and names the missing field', () => {
  const ok = MediaConfigSchema.parse({ store: { driver: 's3' }, s3: { endpoint: 'https://s3.example.org', bucket: 'media', accessKeyId: 'AK', secretAccessKey: 'SK' } });
  assert.equal(ok.store.driver, 's3');
  assert.equal(ok.s3?.forcePathStyle, true);
  assert.equal(ok.s3?.region, 'us-east-1');
  assert.equal(ok.s3?.prefix, '');
  assert.equal(MediaConfigSchema.parse({}).store.driver, 'local', 'local stays the default');
  const pathOf = (input: unknown) => {
    const r = MediaConfigSchema.safeParse(input);
    assert.equal(r.success, false, JSON.stringify(input));
    return r.error!.issues.map((i) => i.path.join('.'));
  };
  assert.deepEqual(pathOf({ store: { driver: 's3' } }), ['s3']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { endpoint: 'https://s3.example.org', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['s3.bucket']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { bucket: 'media', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['s3.endpoint']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { endpoint: 'https://s3.example.org', bucket: 'media', accessKeyId: 'AK' } }), ['s3.secretAccessKey']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { endpoint: 'ftp://s3.example.org', bucket: 'media', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['s3.endpoint']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { endpoint: 'https://s3.example.org', bucket: 'Bad_Bucket', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['s3.bucket']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, s3: { endpoint: 'https://s3.example.org', bucket: 'media', prefix: '../x', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['s3.prefix']);
  assert.deepEqual(pathOf({ store: { driver: 's3' }, maxBytes: 6 * 1024 ** 3, s3: { endpoint: 'https://s3.example.org', bucket: 'media', accessKeyId: 'AK', secretAccessKey: 'SK' } }), ['maxBytes']);
  assert.deepEqual(pathOf({ store: { driver: 'ftp' } }), ['store.driver']);
});

test('s3: startMediaService with driver s3 stores an upload in the bucket and serves it back on a signed link, whole and by range; GC deletes from the bucket', async () => {
  const dir = await tempDir();
  let handler: RouteHandler = () => false;
  const web = await startRouteServer((req, res) => handler(req, res));
  let now = Date.now();
  try {
    const prefix = `svc-${process.pid}/`;
    const config = MediaConfigSchema.parse({
      dir: './media-data', maxBytes: 2 * 1024 * 1024,
      store: { driver: 's3' },
      s3: { endpoint: server.endpoint, bucket: server.bucket, prefix, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, timeoutMs: 5_000 },
      urls: { secret: 's'.repeat(40), ttlSeconds: 600 },
    });
    const service = await startMediaService({
      config, baseDir: dir.path, httpUrl: web.url, logger: silentLogger, now: () => now,
      authorize: (req) => (req.headers.authorization === 'Bearer ok' ? { id: 'u' } : undefined),
      liveReferences: () => [],
    });
    handler = service.routes;
    assert.ok(service.store instanceof S3MediaStore);
    const body = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(100_000, 7)]);
    const up = await httpRequest(`${web.url}/media?name=pic.gif`, { method: 'POST', headers: { authorization: 'Bearer ok', 'content-type': 'image/gif', 'content-length': body.length }, body });
    assert.equal(up.status, 201, up.body.toString());
    const att = AttachmentSchema.parse(json(up));
    assert.equal(att.sha256, sha256Hex(body));
    assert.equal(att.mime, 'image/gif');
    assert.deepEqual(await keysUnder(prefix), [`${prefix}${att.id}`], 'in the bucket under the prefix');
    assert.deepEqual(await filesUnder(join(dir.path, 'media-data')), [], 'the spool (media-data/spool) holds nothing after the put');

    const whole = await httpRequest(att.url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-type'], 'image/gif');
    assert.equal(whole.headers.etag, `"${att.sha256}"`);
    assert.deepEqual(whole.body, body);
    const part = await httpRequest(att.url, { headers: { range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 2-5/${body.length}`);
    assert.equal(part.body.toString(), 'F89a');
    const tail = await httpRequest(att.url, { headers: { range: `bytes=-3` } });
    assert.deepEqual(tail.body, body.subarray(body.length - 3));
    const tampered = await httpRequest(att.url.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A')));
    assert.equal(tampered.status, 403);

    // Unreferenced and past the grace period: the collector removes it from the bucket.
    now += (config.gc.graceSeconds + 60) * 1000;
    const report = await service.gc!.runNow();
    assert.equal(report?.removed, 1);
    assert.deepEqual(await keysUnder(prefix), []);
    assert.equal((await httpRequest(att.url.replace(/exp=\d+/, `exp=${Math.floor(now / 1000) + 60}`))).status, 403, 'a re-dated link is not valid');
    const fresh = service.attachmentFor({ id: att.id as never, sha256: att.sha256, size: att.size, mime: att.mime }, 'pic.gif');
    assert.equal((await httpRequest(fresh.url)).status, 404, 'gone from the bucket: 404 to a holder of a valid link');
    await service.close();
  } finally {
    await web.close();
    await dir.remove();
  }
});

test('s3: with the endpoint down, the HTTP routes answer 503 store_unavailable with Retry-After (upload and download), the detail only in the log, nothing left in the spool', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const dir = await tempDir();
  let handler: RouteHandler = () => false;
  const web = await startRouteServer((req, res) => handler(req, res));
  try {
    const config = MediaConfigSchema.parse({
      dir: './media-data', maxBytes: 1024 * 1024, store: { driver: 's3' },
      s3: { endpoint: `http://127.0.0.1:${closedPort}`, bucket: 'media', accessKeyId: 'AK', secretAccessKey: 'not-to-be-shown', timeoutMs: 1_000 },
      urls: { secret: 's'.repeat(40), ttlSeconds: 600 },
      gc: { enabled: false },
    });
    const service = await startMediaService({
      config, baseDir: dir.path, httpUrl: web.url, logger: silentLogger,
      authorize: (req) => (req.headers.authorization === 'Bearer ok' ? { id: 'u' } : undefined),
      liveReferences: () => [],
    });
    try {
      handler = service.routes;
      const body = Buffer.from('hello, nobody');
      const up = await httpRequest(`${web.url}/media?name=a.txt`, { method: 'POST', headers: { authorization: 'Bearer ok', 'content-type': 'text/plain', 'content-length': body.length }, body });
      assert.equal(up.status, 503, up.body.toString());
      assert.equal(up.headers['retry-after'], '5');
      assert.deepEqual(json(up), { error: 'store_unavailable', message: 'the media store is unavailable; try again later' });
      assert.deepEqual(await filesUnder(join(dir.path, 'media-data')), [], 'the spool holds nothing after the failed put');
      const link = service.attachmentFor({ id: sha256Hex(body) as never, sha256: sha256Hex(body), size: body.length, mime: 'text/plain' }, 'a.txt');
      const down = await httpRequest(link.url);
      assert.equal(down.status, 503);
      assert.equal(down.headers['retry-after'], '5');
      assert.equal(json(down)['error'], 'store_unavailable');
    } finally {
      await service.close();
    }
  } finally {
    await web.close();
    await dir.remove();
  }
});
