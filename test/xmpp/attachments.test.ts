import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xml } from '@xmpp/client';
import { silentLogger } from '../../src/core/logger.ts';
import { AttachmentSchema } from '../../src/core/event.ts';
import { startMediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { tempDir } from '../media/helpers.ts';
import { startRouteServer } from '../media/http-harness.ts';
import { startXmppBridge } from './bridge-harness.ts';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('an XEP-0066 OOB link from XMPP is fetched into the media store and arrives as an attachment; one that cannot be fetched stays a link', async (t) => {
  const origin = createServer((req, res) => {
    if (req.url === '/cat.png') { res.writeHead(200, { 'content-type': 'image/png' }); res.end(PNG); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => origin.close(() => r())));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  const dir = await tempDir();
  t.after(() => dir.remove());
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  t.after(() => mediaServer.close());
  const media = await startMediaService({
    config: MediaConfigSchema.parse({ dir: './media', urls: { secret: 'm'.repeat(40) }, fetch: { allow: ['127.0.0.1/32'] } }),
    baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger,
  });
  routes = media.routes;
  t.after(() => media.close());

  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice');
  const bridge = await startXmppBridge(prosody, { media });
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  const url = `${originUrl}/cat.png`;
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, url), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url), xml('desc', {}, 'cat.png'))));
  const [e1] = await carol.collectEvents(1, 15_000);
  assert.equal(e1?.event['text'], '', 'the body was only the URL: now it is the attachment');
  const att = AttachmentSchema.parse((e1?.event['attachments'] as unknown[])[0]);
  assert.equal(att.mime, 'image/png');
  assert.equal(att.size, PNG.length);
  assert.equal(att.sha256, createHash('sha256').update(PNG).digest('hex'));
  assert.equal(att.name, 'cat.png');
  assert.ok(att.url.startsWith(mediaServer.url), 'served by our media store, signed');
  const served = Buffer.from(await (await fetch(att.url)).arrayBuffer());
  assert.deepEqual(served, PNG);

  const missing = `${originUrl}/gone.png`;
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `look ${missing}`), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, missing))));
  const [e2] = await carol.collectEvents(1, 15_000);
  assert.equal(e2?.event['text'], `look ${missing}`);
  assert.equal(e2?.event['attachments'], undefined);
  assert.deepEqual(e2?.event['spans'], [{ type: 'link', offset: 5, length: missing.length, url: missing }]);

  // And back: a WS attachment goes to the room as an OOB link to its (signed) URL.
  const since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'mine', attachments: [att] } });
  // From carol's puppet: alice's own reflection of her second message (also with an OOB link) may arrive after the mark.
  const out = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol` && el.getChild('x', 'jabber:x:oob') !== undefined, 'carol\'s attachment', { since });
  assert.equal(out.getChild('x', 'jabber:x:oob')?.getChildText('url'), att.url);
});
