import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AttachmentSchema } from '../../src/core/event.ts';
import { LocalMediaStore } from '../../src/media/local-store.ts';
import { createMediaRoutes, type RouteHandler } from '../../src/media/routes.ts';
import { UrlSigner } from '../../src/media/url-signer.ts';
import { mediaIdOf } from '../../src/media/media-id.ts';
import { filesUnder, patternBytes, sha256Hex, tempDir } from './helpers.ts';
import { httpRequest, json, startRouteServer, type RawResponse } from './http-harness.ts';

const SECRET = 'test-secret-0123456789abcdef-0123456789abcdef';
const TOKEN = 'Bearer let-me-in';
const LIMIT = 1024 * 1024;

let dir: Awaited<ReturnType<typeof tempDir>>;
let store: LocalMediaStore;
let server: Awaited<ReturnType<typeof startRouteServer>>;
let clock = Date.now();
const signer = new UrlSigner(SECRET, () => clock);

before(async () => {
  dir = await tempDir();
  store = await LocalMediaStore.open({ dir: dir.path, maxBytes: LIMIT, types: { deny: ['application/x-msdownload'] } });
  let handler: RouteHandler = () => false;
  server = await startRouteServer((req, res) => handler(req, res));
  handler = createMediaRoutes({ store, signer }, {
    authorize: (req) => (req.headers.authorization === TOKEN ? { id: 'alice' } : req.headers.authorization === 'Bearer slow' ? { id: 'slow' } : undefined),
    publicBaseUrl: server.url,
    urlTtlSeconds: 3600,
    maxConcurrentPerPrincipal: 1,
  });
});
after(async () => {
  await server.close();
  await dir.remove();
});

async function upload(name: string, body: Buffer | string, mime = 'text/plain'): Promise<RawResponse> {
  return await httpRequest(`${server.url}/media?name=${encodeURIComponent(name)}`, {
    method: 'POST', headers: { authorization: TOKEN, 'content-type': mime }, body,
  });
}

function pathAndQuery(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

test('upload answers a canonical attachment; its signed URL serves the bytes with safe headers, HEAD, ranges, 304 and 416', async () => {
  const body = 'hello, bridged world\n';
  const up = await upload('notes ü/../x.txt', body);
  assert.equal(up.status, 201, up.body.toString());
  const att = AttachmentSchema.parse(json(up));
  assert.equal(att.id, sha256Hex(body));
  assert.equal(att.sha256, att.id);
  assert.equal(att.size, Buffer.byteLength(body));
  assert.equal(att.mime, 'text/plain');
  assert.equal(att.name, 'notes ü_.._x.txt');
  assert.ok(att.url.startsWith(`${server.url}/media/${att.id}/`));

  const get = await httpRequest(att.url);
  assert.equal(get.status, 200);
  assert.equal(get.body.toString(), body);
  assert.equal(get.headers['content-type'], 'text/plain');
  assert.equal(get.headers['content-length'], String(att.size));
  assert.equal(get.headers['content-disposition'], `inline; filename="notes __.._x.txt"; filename*=UTF-8''notes%20%C3%BC_.._x.txt`);
  assert.equal(get.headers['x-content-type-options'], 'nosniff');
  assert.match(String(get.headers['content-security-policy']), /default-src 'none'.*sandbox/);
  assert.equal(get.headers.etag, `"${att.sha256}"`);
  assert.equal(get.headers['accept-ranges'], 'bytes');
  const maxAge = Number(/max-age=(\d+)/.exec(get.headers['cache-control'] ?? '')?.[1]);
  assert.ok(maxAge > 3500 && maxAge <= 3600, `max-age ${maxAge} runs to the link's expiry`);

  const head = await httpRequest(att.url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String(att.size));

  const part = await httpRequest(att.url, { headers: { range: 'bytes=7-13' } });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'bridged');
  assert.equal(part.headers['content-range'], `bytes 7-13/${att.size}`);
  const tail = await httpRequest(att.url, { headers: { range: 'bytes=-6' } });
  assert.equal(tail.body.toString(), 'world\n');
  const open = await httpRequest(att.url, { headers: { range: 'bytes=15-' } });
  assert.equal(open.body.toString(), 'world\n');
  const beyond = await httpRequest(att.url, { headers: { range: 'bytes=500-' } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${att.size}`);
  const multi = await httpRequest(att.url, { headers: { range: 'bytes=0-1,3-4' } });
  assert.equal(multi.status, 200, 'multiple ranges: the whole file');
  const staleIfRange = await httpRequest(att.url, { headers: { range: 'bytes=0-1', 'if-range': '"other"' } });
  assert.equal(staleIfRange.status, 200);
  assert.equal(staleIfRange.body.toString(), body);

  const cached = await httpRequest(att.url, { headers: { 'if-none-match': `"${att.sha256}"` } });
  assert.equal(cached.status, 304);
  assert.equal(cached.body.length, 0);
});

test('scriptable content is never served inline, whatever was declared', async () => {
  const up = await upload('cat.png', '<html><body><script>alert(document.cookie)</script></body></html>', 'image/png');
  const att = AttachmentSchema.parse(json(up));
  assert.equal(att.mime, 'text/html');
  const get = await httpRequest(att.url);
  assert.equal(get.headers['content-type'], 'text/html');
  assert.match(get.headers['content-disposition'] ?? '', /^attachment;/);
  assert.equal(get.headers['x-content-type-options'], 'nosniff');
  const svg = AttachmentSchema.parse(json(await upload('logo.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'image/svg+xml')));
  assert.match((await httpRequest(svg.url)).headers['content-disposition'] ?? '', /^attachment;/);
  const png = AttachmentSchema.parse(json(await upload('real.png', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(64)]), 'application/octet-stream')));
  assert.equal(png.mime, 'image/png');
  assert.match((await httpRequest(png.url)).headers['content-disposition'] ?? '', /^inline;/);
});

test('a bad signature is 403 and an expired link 410, both JSON, and neither tells whether the id exists', async () => {
  const att = AttachmentSchema.parse(json(await upload('a.txt', 'exists')));
  const u = new URL(att.url);
  const exp = u.searchParams.get('exp') ?? '';
  const sig = u.searchParams.get('sig') ?? '';
  const missingId = mediaIdOf(sha256Hex('never stored'));
  const variants = {
    tamperedName: `/media/${att.id}/b.txt?exp=${exp}&sig=${sig}`,
    tamperedExp: `/media/${att.id}/a.txt?exp=${Number(exp) + 1}&sig=${sig}`,
    otherIdSameSig: `/media/${missingId}/a.txt?exp=${exp}&sig=${sig}`,
    noSig: `/media/${att.id}/a.txt?exp=${exp}`,
    shortSig: `/media/${att.id}/a.txt?exp=${exp}&sig=${sig.slice(0, 20)}`,
    notAnId: `/media/..%2F..%2Fetc/passwd?exp=${exp}&sig=${sig}`,
    extraSegment: `/media/${att.id}/x/a.txt?exp=${exp}&sig=${sig}`,
  };
  const answers: RawResponse[] = [];
  for (const [what, path] of Object.entries(variants)) {
    const r = await httpRequest(`${server.url}${path}`);
    assert.equal(r.status, 403, what);
    assert.deepEqual(json(r), { error: 'forbidden', message: 'this media link is not valid' }, what);
    answers.push(r);
  }
  const strip = (r: RawResponse) => ({ ...r.headers, date: undefined });
  assert.deepEqual(strip(answers[0]!), strip(answers[2]!), 'same answer for an existing and a missing id');

  const signedMissing = signer.signedPath('/media', missingId, 'a.txt', 60).path;
  assert.equal((await httpRequest(`${server.url}${signedMissing}`)).status, 404, 'only a validly signed URL learns that an id is gone');

  clock += 3601_000;
  try {
    const expired = await httpRequest(att.url);
    assert.equal(expired.status, 410);
    assert.equal(json(expired)['error'], 'expired');
    const expiredMissing = await httpRequest(`${server.url}${signedMissing}`);
    assert.equal(expiredMissing.status, 410);
    assert.deepEqual(json(expiredMissing), json(expired));
  } finally {
    clock -= 3601_000;
  }
  const post = await httpRequest(`${server.url}${pathAndQuery(att.url)}`, { method: 'DELETE' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('uploads need the authorize hook to say yes, and are refused by size (declared or streamed) and type, leaving nothing', async () => {
  const before = await filesUnder(dir.path);
  const noAuth = await httpRequest(`${server.url}/media?name=x`, { method: 'POST', body: 'x' });
  assert.equal(noAuth.status, 401);
  assert.equal(noAuth.headers['www-authenticate'], 'Bearer');
  assert.equal((await httpRequest(`${server.url}/media`, { method: 'PUT', headers: { authorization: 'Bearer nope' }, body: 'x' })).status, 401);
  const get = await httpRequest(`${server.url}/media`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST, PUT');

  // Declared too large: refused on the headers, before the body is read.
  async function* never(): AsyncGenerator<Buffer> { await new Promise((r) => setTimeout(r, 10_000).unref()); }
  const declared = await httpRequest(`${server.url}/media?name=big`, { method: 'POST', headers: { authorization: TOKEN, 'content-length': LIMIT + 1 }, body: never() });
  assert.equal(declared.status, 413);
  assert.equal(json(declared)['error'], 'too_large');

  // Chunked, no length: counted while streaming.
  const data = patternBytes(64 * LIMIT, 11);
  const streamed = await httpRequest(`${server.url}/media?name=big`, { method: 'POST', headers: { authorization: TOKEN, 'content-type': 'application/octet-stream' }, body: data.stream() });
  assert.equal(streamed.status, 413);
  assert.ok(data.pulled() < 32 * LIMIT, `the client was cut off long before it sent its 64 MiB (sent ${data.pulled()} bytes)`);

  const exe = await upload('setup.exe', Buffer.from('MZ\x90\x00binary'), 'application/x-msdownload');
  assert.equal(exe.status, 415);
  assert.equal(json(exe)['error'], 'unsupported_type');

  const badLength = await httpRequest(`${server.url}/media?name=x`, { method: 'POST', headers: { authorization: TOKEN, 'content-length': '12abc' }, body: 'x' }).catch(() => undefined);
  assert.ok(badLength === undefined || badLength.status === 400, 'node itself or the route refuses a malformed Content-Length');

  assert.deepEqual((await filesUnder(dir.path)).filter((f) => !before.includes(f)), [], 'no file left by any refused upload');
});

test('one principal runs at most its limit of uploads at once; a client that vanishes mid-upload leaves nothing', async () => {
  const before = await filesUnder(dir.path);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  async function* held(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(10_000, 97);
    await gate;
    yield Buffer.alloc(10_000, 98);
  }
  const first = httpRequest(`${server.url}/media?name=held`, { method: 'POST', headers: { authorization: 'Bearer slow', 'content-type': 'text/plain' }, body: held() });
  await new Promise((r) => setTimeout(r, 200));
  const second = await httpRequest(`${server.url}/media?name=second`, { method: 'POST', headers: { authorization: 'Bearer slow' }, body: 'x' });
  assert.equal(second.status, 429);
  release();
  assert.equal((await first).status, 201);

  // A client that disconnects half way.
  const { request } = await import('node:http');
  await new Promise<void>((resolve) => {
    const req = request(`${server.url}/media?name=gone`, { method: 'POST', headers: { authorization: TOKEN, 'content-length': 500_000 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(100_000, 1), () => setTimeout(() => { req.destroy(); resolve(); }, 100));
  });
  for (let i = 0; i < 50 && (await filesUnder(join(dir.path, 'tmp'))).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  const added = (await filesUnder(dir.path)).filter((f) => !before.includes(f));
  assert.equal(added.length, 2, `only the held upload's content and metadata were added: ${added.join(', ')}`);
});

test('paths outside /media are left to the server', async () => {
  const r = await httpRequest(`${server.url}/healthz`);
  assert.equal(r.status, 404);
  assert.deepEqual(json(r), { error: 'not_found' });
  const m = await httpRequest(`${server.url}/mediafoo`);
  assert.equal(m.status, 404);
});
