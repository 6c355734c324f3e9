import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { originAllowed, sameOrigin } from '../../src/core/origin.ts';
import { MountTable, startHttpServer } from '../../src/http/server.ts';
import { PREFLIGHT_MAX_AGE_SECONDS } from '../../src/http/cors.ts';
import type { CorsRule } from '../../src/core/http.ts';

/**
 * CORS in the HTTP layer (src/http/cors.ts) on a real server: a route mounted with a rule answers
 * preflights of allowed origins and marks its answers (errors too) readable by them; other origins
 * get nothing; routes without a rule, /healthz and /metrics get no Access-Control-* header at all.
 */

const PAGE = 'http://127.0.0.1:5173';
const RULE: CorsRule = {
  allowedOrigins: [PAGE, 'https://chat.example.org'],
  methods: ['POST', 'GET'],
  allowHeaders: ['authorization', 'content-type'],
  exposeHeaders: ['location'],
};

async function withServer(run: (base: string, calls: string[]) => Promise<void>): Promise<void> {
  const mounts = new MountTable();
  const calls: string[] = [];
  mounts.route('/files', (req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const status = req.headers.authorization === 'Bearer good' ? 201 : 401;
    res.writeHead(status, { 'content-type': 'application/json', location: '/files/1' });
    res.end(JSON.stringify({ status }));
  }, { cors: RULE });
  mounts.route('/private', (_req, res) => { res.writeHead(200); res.end('ok'); });
  const registry = createRegistry(false);
  const server = await startHttpServer({
    host: '127.0.0.1', port: 0, logger: silentLogger, mounts, metrics: registry,
    health: async () => ({ status: 'ok' }) as never,
  });
  try {
    await run(`http://127.0.0.1:${server.port}`, calls);
  } finally {
    await server.close();
  }
}

const preflight = (origin: string, method = 'POST') => ({
  method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
});

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));

test('origins compare by scheme, host and port only, as browsers send Origin; opaque and malformed origins match nothing', () => {
  assert.ok(sameOrigin('https://chat.example.org', 'https://chat.example.org'));
  assert.ok(sameOrigin('https://chat.example.org/', 'https://CHAT.example.org'), 'a trailing slash or case changes nothing');
  assert.ok(sameOrigin('https://chat.example.org:443', 'https://chat.example.org'), 'the default port is the same origin');
  assert.ok(!sameOrigin('https://chat.example.org', 'http://chat.example.org'), 'another scheme');
  assert.ok(!sameOrigin('https://chat.example.org', 'https://chat.example.org:8443'), 'another port');
  assert.ok(!sameOrigin('https://chat.example.org', 'https://evil.chat.example.org'), 'a subdomain');
  assert.ok(!sameOrigin('https://chat.example.org', 'null'), 'the opaque origin of a sandboxed page');
  assert.ok(!sameOrigin('file:///srv/chat.html', 'file:///home/x.html'), 'two opaque origins are not the same');
  assert.ok(!sameOrigin('not a url', 'not a url'));
  assert.ok(originAllowed(RULE.allowedOrigins, 'https://chat.example.org'));
  assert.ok(!originAllowed([], 'https://chat.example.org'));
});

test('a preflight from an allowed origin gets 204 with that origin (not *), the methods, the headers, Max-Age and Vary: Origin; the handler does not run', async () => {
  await withServer(async (base, calls) => {
    const res = await fetch(`${base}/files?name=a.txt`, preflight(PAGE));
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST, GET');
    assert.equal(res.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.equal(res.headers.get('access-control-max-age'), String(PREFLIGHT_MAX_AGE_SECONDS));
    assert.equal(res.headers.get('access-control-allow-credentials'), null, 'no cookies, no credentials mode');
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.deepEqual(calls, []);
  });
});

test('a preflight from an origin not allowed is 403 forbidden_origin with no Access-Control-* header, and the handler does not run', async () => {
  await withServer(async (base, calls) => {
    for (const origin of ['https://evil.example', 'http://127.0.0.1:5174', 'null']) {
      const res = await fetch(`${base}/files`, preflight(origin));
      assert.equal(res.status, 403, origin);
      assert.deepEqual(corsHeaders(res), [], origin);
      assert.equal(((await res.json()) as { error: string }).error, 'forbidden_origin');
    }
    assert.deepEqual(calls, []);
  });
});

test('the answers of an allowed origin, errors too, carry Allow-Origin, Expose-Headers and Vary; other origins and no Origin get only Vary', async () => {
  await withServer(async (base, calls) => {
    const ok = await fetch(`${base}/files`, { method: 'POST', headers: { origin: PAGE, authorization: 'Bearer good' } });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(ok.headers.get('access-control-expose-headers'), 'location');
    assert.equal(ok.headers.get('vary'), 'Origin');
    const refused = await fetch(`${base}/files`, { method: 'POST', headers: { origin: PAGE } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), PAGE, 'the page can read why it was refused');

    const evil = await fetch(`${base}/files`, { method: 'POST', headers: { origin: 'https://evil.example', authorization: 'Bearer good' } });
    assert.deepEqual(corsHeaders(evil), []);
    assert.equal(evil.headers.get('vary'), 'Origin', 'a cache must not hand this answer to an allowed origin');
    const bot = await fetch(`${base}/files`, { method: 'POST', headers: { authorization: 'Bearer good' } });
    assert.deepEqual(corsHeaders(bot), []);
    assert.equal(bot.headers.get('vary'), 'Origin');
    // An OPTIONS without Access-Control-Request-Method is no preflight: the route answers it.
    const plainOptions = await fetch(`${base}/files`, { method: 'OPTIONS', headers: { origin: PAGE } });
    assert.equal(plainOptions.status, 401);
    assert.equal(calls.length, 5, "every request but a preflight reaches the handler");
  });
});

test('routes mounted without a rule, /healthz, /metrics and unknown paths are not opened to browsers: no preflight answer, no Access-Control-* header', async () => {
  await withServer(async (base) => {
    for (const path of ['/private', '/healthz', '/metrics', '/nothing']) {
      const pre = await fetch(`${base}${path}`, preflight(PAGE, 'GET'));
      assert.notEqual(pre.status, 204, path);
      assert.deepEqual(corsHeaders(pre), [], path);
      const get = await fetch(`${base}${path}`, { headers: { origin: PAGE } });
      assert.deepEqual(corsHeaders(get), [], path);
      assert.equal(get.headers.get('vary'), null, path);
    }
  });
});
