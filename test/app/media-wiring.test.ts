import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { wsUrlOf } from '../helpers/app.ts';
import { UrlSigner } from '../../src/media/url-signer.ts';
import type { MediaId } from '../../src/media/media-id.ts';

const ALICE = 'sb_test_alice_media_wiring';
const BOB = 'sb_test_bob_media_wiring';

test('the app serves the media store: a WS token uploads, the attachment travels in a message, the signed URL downloads it; no token, no upload', async () => {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    'media: { urls: { secret: "0123456789abcdef0123456789abcdef0123" } }\n',
    `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  try {
    const bytes = Buffer.from('%PDF-1.4 a tiny file\n');
    const refused = await fetch(`${app.httpUrl}/media?name=doc.pdf`, { method: 'POST', body: bytes });
    assert.equal(refused.status, 401);
    const uploaded = await fetch(`${app.httpUrl}/media?name=doc.pdf`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${ALICE}` } });
    assert.equal(uploaded.status, 201);
    const attachment = await uploaded.json() as Record<string, unknown>;
    assert.equal(attachment['size'], bytes.length);
    assert.match(String(attachment['url']), new RegExp(`^${app.httpUrl}/media/`));

    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby' });
      const ack = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', attachments: [attachment] } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const [got] = await bob.collectEvents(1);
      const received = (got?.event['attachments'] as Record<string, unknown>[] | undefined)?.[0];
      assert.ok(received, JSON.stringify(got));
      const download = await fetch(String(received['url']));
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
      const tampered = await fetch(String(received['url']).replace(/sig=[^&]+/, 'sig=AAAA'));
      assert.equal(tampered.status, 403);
    } finally {
      await alice.close();
      await bob.close();
    }
  } finally {
    await app.close();
    tree.cleanup();
  }
});

test('attachment links go out freshly signed: a reference whose link expired arrives with a working one, live and on a replay (join since null); a foreign URL is passed on as it is', async () => {
  const secret = '0123456789abcdef0123456789abcdef0123';
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `media: { urls: { secret: "${secret}" } }\n`,
    `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  try {
    const bytes = Buffer.from('%PDF-1.4 an old file\n');
    const uploaded = await fetch(`${app.httpUrl}/media?name=old.pdf`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${ALICE}` } });
    const attachment = await uploaded.json() as Record<string, unknown>;
    // The same link as signed ten days ago: valid signature, expired.
    const tenDaysAgo = new UrlSigner(secret, () => Date.now() - 10 * 86_400_000);
    const expired = `${app.httpUrl}${tenDaysAgo.signedPath('/media', attachment['id'] as MediaId, 'old.pdf', 3_600).path}`;
    assert.equal((await fetch(expired)).status, 410, 'the old link has expired');
    const foreign = { id: 'a'.repeat(64), sha256: 'a'.repeat(64), name: 'elsewhere.txt', mime: 'text/plain', size: 3, url: 'https://files.example.org/elsewhere.txt' };

    const alice = await connectClient(wsUrlOf(app), ALICE);
    const bob = await connectClient(wsUrlOf(app), BOB);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby' });
      const ack = await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', attachments: [{ ...attachment, url: expired }, foreign] } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const urlsOf = (frame: { event: Record<string, unknown> } | undefined) => ((frame?.event['attachments'] as { url: string }[] | undefined) ?? []).map((a) => a.url);
      const [live] = await bob.collectEvents(1);
      const [liveUrl, liveForeign] = urlsOf(live);
      assert.notEqual(liveUrl, expired);
      assert.equal((await fetch(String(liveUrl))).status, 200, 'live: a working link');
      assert.equal(liveForeign, foreign.url, 'a URL the store did not sign is left alone');

      await bob.request({ type: 'leave', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby', since: null });
      const [replayed] = await bob.collectEvents(1);
      assert.equal(replayed?.event.id, live?.event.id);
      const replayedUrl = urlsOf(replayed)[0];
      assert.equal((await fetch(String(replayedUrl))).status, 200, 'replayed: a working link');
    } finally {
      await alice.close();
      await bob.close();
    }
  } finally {
    await app.close();
    tree.cleanup();
  }
});

test('an upload with a good token from a browser Origin the WebSocket does not allow is 403 forbidden_origin (not 401), and nothing is stored', async () => {
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    'media: { urls: { secret: "0123456789abcdef0123456789abcdef0123" } }\n',
    `websocket:\n  allowedOrigins: ["https://chat.example.org"]\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
  try {
    const bytes = Buffer.from('%PDF-1.4 a tiny file\n');
    const evil = await fetch(`${app.httpUrl}/media?name=doc.pdf`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${ALICE}`, origin: 'https://evil.example' } });
    assert.equal(evil.status, 403);
    assert.equal(((await evil.json()) as { error?: string }).error, 'forbidden_origin');
    const stored: string[] = [];
    for await (const item of app.media!.store.list()) stored.push(item.id);
    assert.deepEqual(stored, []);
    const allowed = await fetch(`${app.httpUrl}/media?name=doc.pdf`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${ALICE}`, origin: 'https://chat.example.org' } });
    assert.equal(allowed.status, 201);
  } finally {
    await app.close();
    tree.cleanup();
  }
});
