import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xml } from '@xmpp/client';
import { PNG, startMediaRig } from './media-rig.ts';
import { AttachmentSchema } from '../../src/core/event.ts';
import { connectClient } from '../helpers/ws-client.ts';

test('an XEP-0066 OOB link from XMPP is fetched into the media store and arrives as an attachment; one that cannot be fetched stays a link', async (t) => {
  const { originUrl, mediaUrl, alice, room, bridge } = await startMediaRig(t, { '/cat.png': { type: 'image/png', body: PNG } });
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
  assert.ok(att.url.startsWith(mediaUrl), 'served by our media store, signed');
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
