import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { wsUrlOf } from '../helpers/app.ts';

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
