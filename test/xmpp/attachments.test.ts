import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { PNG, startMediaRig, storedFiles } from './media-rig.ts';
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

test('a message with text and several files goes to the room as its text, then one message per file whose body is its URL alone (what XMPP clients take for a file); a reaction or reply to any of them is to the message; an edit corrects the text; a retraction retracts every one of them', async (t) => {
  const TXT = Buffer.from('some notes\n');
  const rig = await startMediaRig(t, { '/a.png': { type: 'image/png', body: PNG }, '/b.txt': { type: 'text/plain', body: TXT } });
  const { alice, room, bridge } = rig;
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  // Two files in the media store, as alice's uploads become (the first test): carol sends them on.
  const files = await storedFiles(rig, carol, ['a.png', 'b.txt']);

  const since = alice.mark();
  const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'two files', attachments: files } });
  const fromCarol = (el: Element) => el.name === 'message' && el.attrs['from'] === `${room}/Carol`;
  const caption = await alice.waitFor((el) => fromCarol(el) && el.getChildText('body') === 'two files', 'the text', { since });
  assert.equal(caption.getChild('x', 'jabber:x:oob'), undefined, 'the text alone');
  const fileMessages = [];
  for (const f of files) {
    const el = await alice.waitFor((m) => fromCarol(m) && m.getChild('x', 'jabber:x:oob')?.getChildText('url') === f.url, f.name, { since });
    assert.equal(el.getChildText('body'), f.url, 'the body is the URL alone');
    assert.equal(el.getChild('x', 'jabber:x:oob')?.getChildText('desc'), f.name);
    fileMessages.push(el);
  }

  // What alice points at in any of them is carol's message: a reaction to the second file, a reply to the text.
  const stanzaIdOf = (el: Element) => el.getChildren('stanza-id', 'urn:xmpp:sid:0').find((s) => s.attrs['by'] === room)?.attrs['id'];
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'r1' }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: stanzaIdOf(fileMessages[1]!) }, xml('reaction', {}, '👍'))));
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'r2' }, xml('body', {}, 'nice'), xml('reply', { xmlns: 'urn:xmpp:reply:0', id: stanzaIdOf(caption), to: `${room}/Carol` })));
  const [reaction, reply] = await carol.collectEvents(2, 15_000);
  assert.deepEqual([reaction?.event.kind, reaction?.event['target'], reaction?.event['reactions']], ['reaction', ack['id'], ['👍']]);
  assert.deepEqual([reply?.event.kind, reply?.event['replyTo']], ['message', ack['id']]);

  // An edit corrects the text's message (XEP-0308: the id it was sent with).
  const beforeEdit = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ack['id'], text: 'two files, corrected' } });
  const correction = await alice.waitFor((el) => fromCarol(el) && el.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined, 'the correction', { since: beforeEdit });
  assert.equal(correction.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs['id'], caption.attrs['id']);
  assert.equal(correction.getChildText('body'), 'two files, corrected');

  // A retraction retracts the text and both files (XEP-0424, by the room's stanza-ids; its older
  // fasten form, XEP-0424 0.3, by each one's origin-id).
  const beforeRetract = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ack['id'] } });
  for (const el of [caption, ...fileMessages]) {
    const id = stanzaIdOf(el);
    assert.ok(id, 'the room gave it a stanza-id');
    const retraction = await alice.waitFor((m) => fromCarol(m) && m.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'] === id, `the retraction of ${el.getChildText('body')}`, { since: beforeRetract });
    assert.equal(retraction.getChild('apply-to', 'urn:xmpp:fasten:0')?.attrs['id'], el.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs['id']);
  }
});
