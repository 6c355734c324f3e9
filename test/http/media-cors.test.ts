import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';

/**
 * The whole app: the media routes answer browser pages on websocket.allowedOrigins with CORS
 * (uploads, their refusals, signed downloads), and nobody else; /healthz and /metrics stay closed
 * to browsers. The same in a real browser: test/websocket/browser-client.test.ts.
 */

const ALICE = 'sb_test_alice_media_cors';
const PAGE = 'https://chat.example.org';
const EVIL = 'https://evil.example';

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
const listOf = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase());

test('media routes: preflights of allowed origins pass, others are 403; uploads, their errors and signed downloads are readable by allowed origins only; /healthz and /metrics never', async () => {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    'media: { maxBytes: 1024, urls: { secret: "0123456789abcdef0123456789abcdef0123" } }\n',
    `websocket:\n  allowedOrigins: ["${PAGE}"]\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  const base = app.httpUrl;
  try {
    // Preflight of the upload a browser sends before POST with Authorization.
    const pre = await fetch(`${base}/media?name=a.txt`, {
      method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), PAGE);
    assert.ok(listOf(pre.headers.get('access-control-allow-methods')).includes('post'));
    assert.ok(['authorization', 'content-type'].every((h) => listOf(pre.headers.get('access-control-allow-headers')).includes(h)));
    assert.ok(Number(pre.headers.get('access-control-max-age')) > 0);
    assert.equal(pre.headers.get('vary'), 'Origin');
    const evilPre = await fetch(`${base}/media?name=a.txt`, {
      method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(evilPre.status, 403);
    assert.deepEqual(corsHeaders(evilPre), []);

    // The upload itself, and its refusals: the page reads the error JSON.
    const bytes = Buffer.from('hello from a browser page\n');
    const up = await fetch(`${base}/media?name=a.txt`, { method: 'POST', body: bytes, headers: { origin: PAGE, authorization: `Bearer ${ALICE}`, 'content-type': 'text/plain' } });
    assert.equal(up.status, 201);
    assert.equal(up.headers.get('access-control-allow-origin'), PAGE);
    assert.ok(listOf(up.headers.get('access-control-expose-headers')).includes('location'));
    assert.equal(up.headers.get('vary'), 'Origin');
    const { url } = await up.json() as { url: string };
    const noToken = await fetch(`${base}/media?name=a.txt`, { method: 'POST', body: bytes, headers: { origin: PAGE } });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(((await noToken.json()) as { error: string }).error, 'unauthorized');
    const tooLarge = await fetch(`${base}/media?name=big.bin`, { method: 'POST', body: Buffer.alloc(2048), headers: { origin: PAGE, authorization: `Bearer ${ALICE}` } });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.headers.get('access-control-allow-origin'), PAGE);
    const evilUp = await fetch(`${base}/media?name=a.txt`, { method: 'POST', body: bytes, headers: { origin: EVIL, authorization: `Bearer ${ALICE}` } });
    assert.equal(evilUp.status, 403);
    assert.deepEqual(corsHeaders(evilUp), []);

    // Signed downloads: readable by the allowed origin (errors too), not by others.
    const down = await fetch(url, { headers: { origin: PAGE } });
    assert.equal(down.status, 200);
    assert.equal(await down.text(), bytes.toString());
    assert.equal(down.headers.get('access-control-allow-origin'), PAGE);
    assert.ok(listOf(down.headers.get('access-control-expose-headers')).includes('content-disposition'));
    assert.equal(down.headers.get('vary'), 'Origin');
    const head = await fetch(url, { method: 'HEAD', headers: { origin: PAGE } });
    assert.equal(head.headers.get('access-control-allow-origin'), PAGE);
    const rangePre = await fetch(url, { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' } });
    assert.equal(rangePre.status, 204);
    assert.ok(listOf(rangePre.headers.get('access-control-allow-headers')).includes('range'));
    const tampered = await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'), { headers: { origin: PAGE } });
    assert.equal(tampered.status, 403);
    assert.equal(tampered.headers.get('access-control-allow-origin'), PAGE);
    const evilDown = await fetch(url, { headers: { origin: EVIL } });
    assert.equal(evilDown.status, 200, 'the link itself works for anyone holding it (an <img>, a new tab)');
    assert.deepEqual(corsHeaders(evilDown), [], 'but a page on another origin cannot read it with fetch');
    assert.equal(evilDown.headers.get('vary'), 'Origin');

    for (const path of ['/healthz', '/metrics']) {
      const get = await fetch(`${base}${path}`, { headers: { origin: PAGE } });
      assert.deepEqual(corsHeaders(get), [], path);
      const p = await fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'GET' } });
      assert.notEqual(p.status, 204, path);
      assert.deepEqual(corsHeaders(p), [], path);
    }
  } finally {
    await app.close();
    tree.cleanup();
  }
});
