import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { wsUrlOf } from '../helpers/app.ts';
import { metricValue } from './harness.ts';
import { launchChromium, servePageOrigin } from '../helpers/chromium.ts';

/**
 * A web chat client in a real browser (headless Chromium, Debian's package, driven by
 * playwright-core), served from another origin than the bridge's, as a web client usually is
 * (https://chat.example.org talking to https://bridge.example.org; here two loopback ports):
 * WebSocket with ?access_token=, a message each way with a node `ws` client, a file uploaded with
 * fetch + Authorization (the CORS preflight must pass) and sent as an attachment, and the node
 * client's attachment fetched back and shown. A page from an origin not in allowedOrigins is
 * refused both: its WebSocket never opens and its upload's preflight fails in the browser.
 *
 * Chromium must be installed (`apt-get install chromium`; npm test does it as root): without it
 * this test fails, it never skips. As root (this sandbox, CI containers) Chromium refuses to start
 * without --no-sandbox, so the flag is passed then; as a normal user its sandbox stays on.
 */

const PAGE_HTML = readFileSync(new URL('./browser-client.html', import.meta.url), 'utf8');
const ALICE = 'sb_test_alice_browser_client';
const BOB = 'sb_test_bob_browser_client';
/** A 1x1 PNG: the node client's attachment, which the page shows. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** A static server for the page on its own loopback port: its own origin. */
function servePage(): Promise<{ server: Server; origin: string }> {
  return servePageOrigin((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

let browser: Browser | undefined;
let app: App | undefined;
let tree: ConfigTree | undefined;
const pageServers: Server[] = [];
let allowed = '';
let other = '';
/** What Chromium printed to the pages' consoles (CORS refusals show up here). */
const consoleLines: string[] = [];

before(async () => {
  const page = await servePage();
  const otherPage = await servePage();
  pageServers.push(page.server, otherPage.server);
  allowed = page.origin;
  other = otherPage.origin;
  tree = makeConfigTree([
    'http: { port: 0 }\n',
    'media: { urls: { secret: "0123456789abcdef0123456789abcdef0123" } }\n',
    `websocket:\n  allowedOrigins: ["${allowed}"]\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  // Fails (never skips) without Chromium, with the one line that fixes it.
  browser = await launchChromium();
});

// Runs even when a test or `before` failed: whatever was started is stopped.
after(async () => {
  await browser?.close().catch(() => undefined);
  await app?.close().catch(() => undefined);
  await Promise.all(pageServers.map((s) => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); })));
  tree?.cleanup();
});

/** A request as Chromium's network panel saw it (DevTools protocol), preflights included. */
interface SeenRequest { method: string; url: string; status?: number }

async function openPage(origin: string): Promise<{ page: Page; network: SeenRequest[] }> {
  const page = await browser!.newPage();
  page.on('console', (m) => consoleLines.push(`[${origin}] ${m.type()}: ${m.text()}`));
  page.setDefaultTimeout(15_000);
  // Playwright's own request events leave preflights out; the DevTools protocol lists them.
  const network: SeenRequest[] = [];
  const byId = new Map<string, SeenRequest>();
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    const seen = { method: e.request.method, url: e.request.url.split('?')[0] ?? '' };
    byId.set(e.requestId, seen);
    network.push(seen);
  });
  cdp.on('Network.responseReceived', (e) => { const seen = byId.get(e.requestId); if (seen) seen.status = e.response.status; });
  await cdp.send('Network.enable');
  await page.goto(`${origin}/`);
  return { page, network };
}

/** Calls window.chat.<method>(...args) in the page; args go as JSON (no function source crosses over). */
function chat<T = Record<string, unknown>>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`window.chat.${method}(...${JSON.stringify(args)})`) as Promise<T>;
}

test('a page on an allowed origin chats with a node client: WS with ?access_token=, messages both ways, an upload through the CORS preflight sent as an attachment, the other side\'s attachment fetched and shown', { timeout: 60_000 }, async () => {
  const bridge = app!.httpUrl;
  const wsUrl = wsUrlOf(app!);
  assert.notEqual(new URL(bridge).origin, allowed, 'the page is on another origin than the bridge');
  const bob: TestClient = await connectClient(wsUrl, BOB);
  const { page, network } = await openPage(allowed);
  try {
    await bob.request({ type: 'join', room: 'lobby' });
    const connected = await chat<{ ok: boolean; hello?: { user: string } }>(page, 'connect', wsUrl, ALICE);
    assert.equal(connected.ok, true, JSON.stringify(connected));
    assert.equal(connected.hello?.user, 'alice');
    const joined = await chat(page, 'request', { type: 'join', room: 'lobby' });
    assert.equal(joined['type'], 'joined', JSON.stringify(joined));

    // Browser -> node.
    const ack = await chat(page, 'request', { type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello from Chromium' } });
    assert.equal(ack['type'], 'ack', JSON.stringify(ack));
    const [fromBrowser] = await bob.collectEvents(1, 10_000);
    assert.equal(fromBrowser?.event['text'], 'hello from Chromium');
    assert.deepEqual((fromBrowser?.event['sender'] as { id: string }).id, 'alice');

    // Node -> browser.
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello from node' } });
    const fromNode = await chat<{ event?: { text?: string } }>(page, 'eventFrom', 'bob', 'hello from node');
    assert.equal(fromNode.event?.text, 'hello from node', JSON.stringify(fromNode));

    // An upload from the page: POST with Authorization is preflighted; the answer is readable.
    const upload = await chat<{ status?: number; location?: string; body?: Record<string, unknown>; rejected?: string }>(page, 'upload', bridge, ALICE, 'notes.txt', 'text/plain', 'a file from the browser\n');
    assert.equal(upload.status, 201, JSON.stringify(upload));
    assert.equal(upload.location, upload.body?.['url'], 'Location is exposed to the page');
    const uploadRequests = network.filter((r) => r.url === `${bridge}/media`).map((r) => `${r.method} ${r.status}`);
    // (The DevTools protocol announces the POST before its preflight: the order says nothing.)
    assert.ok(uploadRequests.includes('OPTIONS 204') && uploadRequests.includes('POST 201'), `the browser sent a preflight, and it passed: ${uploadRequests.join(', ')}`);
    const refused = await chat<{ status?: number; body?: { error?: string } }>(page, 'upload', bridge, 'sb_not_a_token', 'x.txt', 'text/plain', 'x');
    assert.equal(refused.status, 401, 'the page reads an error answer too');
    assert.equal(refused.body?.error, 'unauthorized');
    const sent = await chat(page, 'request', { type: 'send', room: 'lobby', event: { kind: 'message', text: 'a file', attachments: [upload.body] } });
    assert.equal(sent['type'], 'ack', JSON.stringify(sent));
    const [withFile] = await bob.collectEvents(1, 10_000);
    const received = (withFile?.event['attachments'] as { url: string; name: string }[] | undefined)?.[0];
    assert.equal(received?.name, 'notes.txt');
    const downloaded = await fetch(received!.url);
    assert.equal(await downloaded.text(), 'a file from the browser\n', 'the node client downloads what the browser uploaded');

    // The node client's attachment, fetched back by the page (a CORS GET) and shown in an <img>.
    const png = await fetch(`${bridge}/media?name=dot.png`, { method: 'POST', body: PNG, headers: { authorization: `Bearer ${BOB}`, 'content-type': 'image/png' } });
    assert.equal(png.status, 201);
    const attachment = await png.json() as Record<string, unknown>;
    await bob.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a picture', attachments: [attachment] } });
    const picture = await chat<{ event?: { attachments?: { url: string; name: string }[] } }>(page, 'eventFrom', 'bob', 'a picture');
    const pictureUrl = picture.event?.attachments?.[0]?.url;
    assert.ok(pictureUrl, JSON.stringify(picture));
    assert.ok((await chat<string[]>(page, 'shown')).includes('bob: a picture dot.png'), 'the page lists the message with its file');
    const shown = await chat<{ status?: number; type?: string; size?: number; width?: number; disposition?: string; rejected?: string }>(page, 'showAttachment', pictureUrl);
    assert.equal(shown.status, 200, JSON.stringify(shown));
    assert.equal(shown.type, 'image/png');
    assert.equal(shown.size, PNG.length);
    assert.equal(shown.width, 1, 'the browser decoded and shows the picture');
    assert.match(String(shown.disposition), /dot\.png/, 'Content-Disposition is exposed to the page');
    await chat(page, 'close');
  } finally {
    await page.close().catch(() => undefined);
    await bob.close();
  }
});

test('a page on an origin not in allowedOrigins: its WebSocket upgrade is refused and its upload\'s preflight fails, so fetch rejects and nothing is stored', { timeout: 60_000 }, async () => {
  const bridge = app!.httpUrl;
  const refusedBefore = await metricValue(app!.registry, 'switchboard_ws_upgrades_refused_total', { code: 'forbidden_origin' });
  const { page, network } = await openPage(other);
  try {
    const connected = await chat<{ ok: boolean; opened?: boolean; code?: number }>(page, 'connect', wsUrlOf(app!), ALICE);
    assert.equal(connected.ok, false, JSON.stringify(connected));
    assert.equal(connected.opened, false, 'the WebSocket never opened');
    assert.equal(connected.code, 1006);
    assert.ok(consoleLines.some((l) => l.startsWith(`[${other}]`) && /WebSocket connection to .* failed: .*403/.test(l)), `Chromium saw the 403:\n${consoleLines.join('\n')}`);
    assert.equal(await metricValue(app!.registry, 'switchboard_ws_upgrades_refused_total', { code: 'forbidden_origin' }), refusedBefore + 1,
      'refused by the bridge for its Origin, with a good token');

    const stored = async () => { let n = 0; for await (const _ of app!.media!.store.list()) n++; return n; };
    const before = await stored();
    const upload = await chat<{ status?: number; rejected?: string }>(page, 'upload', bridge, ALICE, 'evil.txt', 'text/plain', 'not from here\n');
    assert.equal(upload.status, undefined, JSON.stringify(upload));
    assert.match(String(upload.rejected), /^TypeError: Failed to fetch/);
    assert.equal(await stored(), before, 'the preflight failed, so the upload was never sent');
    const uploadRequests = network.filter((r) => r.url === `${bridge}/media`).map((r) => `${r.method} ${r.status}`);
    assert.deepEqual(uploadRequests.filter((r) => r.startsWith('OPTIONS')), ['OPTIONS 403'], JSON.stringify(network));
    assert.ok(consoleLines.some((l) => l.startsWith(`[${other}]`) && /blocked by CORS policy/.test(l) && /preflight/.test(l)),
      `Chromium says why:\n${consoleLines.join('\n')}`);
  } finally {
    await page.close().catch(() => undefined);
  }
});
