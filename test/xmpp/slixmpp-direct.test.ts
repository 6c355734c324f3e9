// Direct chats with an independent, spec-following client library: Debian's python3-slixmpp (1.8),
// stock, run as a child process by test/xmpp/slixmpp-client.py (no room). sally writes to carol's
// puppet and carol (WebSocket) to `@xmpp:sally@...`: every stanza sally sends is built by
// slixmpp's own plugins (XEP-0308, 0424, 0444, 0461, 0085, 0333, 0184), and what she receives is
// checked as those plugins parse it, with the ids she saw (XEP-0359).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsody } from '../helpers/prosody.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { startXmppBridge } from './bridge-harness.ts';
import { runSlixmpp, slixmppPython, wsEvent } from './slixmpp-runner.ts';

test('a stock slixmpp 1.8 client in a direct chat with a WebSocket user: each side\'s messages, corrections, retractions, reactions, replies, receipts, markers and chat states, as the other parses them', { timeout: 90_000 }, async (t) => {
  assert.ok(slixmppPython()); // fails here, with how to install it, when slixmpp is missing
  const prosody = await startProsody({ users: { sally: 'sally-pw' } });
  t.after(() => prosody.destroy());
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  const sally = `sally@${prosody.domain}`;
  const slix = runSlixmpp([String(prosody.c2sPort), sally, 'sally-pw', '-', 'Sally']);
  t.after(() => slix.stop());
  await slix.step('started', undefined, 30_000);
  const carol: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  const puppet = puppetJid({ network: 'websocket', id: 'carol' }, prosody.componentDomain);
  const chat = `@xmpp:${sally}`;
  const inChat = (e: EventFrame['event']): boolean => (e['origin'] as { connector: string }).connector === 'xmpp';
  const fromPuppet = (s: Record<string, unknown>): boolean => String(s['from']).split('/')[0] === puppet;

  // slixmpp -> WS: a message (id = origin-id, asking for a receipt, active).
  const hello = await slix.run({ do: 'dm-send', to: puppet, body: 'hello *carol*' });
  const e1 = await wsEvent(carol, 'message', (e) => inChat(e) && e['text'] === 'hello carol');
  assert.deepEqual(e1['origin'], { connector: 'xmpp', endpoint: sally, nativeId: hello['id'] });
  assert.deepEqual(e1['sender'], { network: 'xmpp', id: sally });
  assert.equal(carol.events.find((f) => f.event.id === e1.id)?.room, chat);

  // WS -> slixmpp: a message from carol's puppet, as slixmpp sees it; slixmpp acknowledges it by itself (XEP-0184 auto_ack).
  const sent = await carol.request({ type: 'send', room: chat, event: { kind: 'message', text: 'hi sally' } });
  assert.equal(sent.type, 'ack', JSON.stringify(sent));
  const fromCarol = await slix.step('dm-message', (s) => fromPuppet(s) && s['body'] === 'hi sally');
  assert.deepEqual([fromCarol['type'], fromCarol['origin_id'], fromCarol['request_receipt'], fromCarol['markable'], fromCarol['nick']],
    ['chat', fromCarol['id'], true, true, 'Carol'], JSON.stringify(fromCarol));
  const ack = await wsEvent(carol, 'receipt', (e) => e['receipt'] === 'delivered');
  assert.equal(ack['target'], sent['id']);

  // slixmpp -> WS: a correction (XEP-0308: the id of the original).
  await slix.run({ do: 'dm-correct', to: puppet, id: hello['id'], body: 'hello carol!' });
  const edit = await wsEvent(carol, 'edit');
  assert.deepEqual([edit['target'], edit['text']], [e1.id, 'hello carol!']);

  // slixmpp -> WS: a reaction to carol's message (XEP-0444, 1:1: its id).
  await slix.run({ do: 'dm-react', to: puppet, id: fromCarol['id'], emojis: ['👍'] });
  const reaction = await wsEvent(carol, 'reaction');
  assert.deepEqual([reaction['target'], reaction['reactions']], [sent['id'], ['👍']]);

  // slixmpp -> WS: replies (XEP-0461, 1:1: the id; `to` the author), without and with a quote marked by slixmpp's fallback element.
  await slix.run({ do: 'dm-reply', to: puppet, id: fromCarol['id'], reply_to: fromCarol['from'], body: 'hi carol' });
  const reply = await wsEvent(carol, 'message', (e) => e['text'] === 'hi carol');
  assert.equal(reply['replyTo'], sent['id']);
  await slix.run({ do: 'dm-reply', to: puppet, id: fromCarol['id'], reply_to: fromCarol['from'], quote: '> Carol:\n> hi sally\n', body: 'quoted' });
  const quoted = await wsEvent(carol, 'message', (e) => typeof e['text'] === 'string' && (e['text'] as string).endsWith('quoted'));
  assert.deepEqual([quoted['text'], quoted['replyTo']], ['quoted', sent['id']]);

  // slixmpp -> WS: typing (XEP-0085), a displayed marker (XEP-0333 as send_marker builds it: no type, by the id).
  await slix.run({ do: 'dm-chatstate', to: puppet, state: 'composing' });
  assert.equal((await wsEvent(carol, 'typing'))['state'], 'active');
  await slix.run({ do: 'dm-displayed', to: puppet, id: fromCarol['id'] });
  const displayed = await wsEvent(carol, 'receipt', (e) => e['receipt'] === 'displayed');
  assert.equal(displayed['target'], sent['id']);

  // slixmpp -> WS: a retraction as the plugin builds it (XEP-0424 0.3: a fastening naming the origin-id).
  await slix.run({ do: 'dm-retract', to: puppet, id: hello['id'] });
  const retract = await wsEvent(carol, 'retract');
  assert.equal(retract['target'], e1.id);

  // WS -> slixmpp: a correction names the id slixmpp saw.
  await carol.request({ type: 'send', room: chat, event: { kind: 'edit', target: sent['id'], text: 'hi sally!' } });
  const correction = await slix.step('dm-correction', fromPuppet);
  assert.deepEqual([correction['replace_id'], correction['body']], [fromCarol['id'], 'hi sally!']);

  // WS -> slixmpp: a reaction, a reply, receipts and a retraction naming slixmpp's own message.
  const mine = await slix.run({ do: 'dm-send', to: puppet, body: 'react to me' });
  const reactTo = await wsEvent(carol, 'message', (e) => e['text'] === 'react to me');
  await carol.request({ type: 'send', room: chat, event: { kind: 'reaction', target: reactTo.id, reactions: ['🎉', '👍'] } });
  const reactions = await slix.step('dm-reactions', fromPuppet);
  assert.deepEqual([reactions['id'], reactions['emojis']], [mine['id'], ['🎉', '👍'].sort()]);
  await carol.request({ type: 'send', room: chat, event: { kind: 'message', text: 'you bet', replyTo: reactTo.id } });
  const replied = await slix.step('dm-reply', fromPuppet);
  assert.equal(replied['id'], mine['id']);
  // XEP-0461: `to` SHOULD name the author of the message replied to (in a 1:1 chat its bare JID will do).
  assert.equal(replied['to'], sally, JSON.stringify(replied));
  // ... and carol's puppet when carol replies to her own message.
  await carol.request({ type: 'send', room: chat, event: { kind: 'message', text: 'and me', replyTo: sent['id'] } });
  const ownReply = await slix.step('dm-reply', (s) => fromPuppet(s) && s['body'] === 'and me');
  assert.deepEqual([ownReply['id'], ownReply['to']], [fromCarol['id'], fromCarol['from']]);
  await carol.request({ type: 'send', room: chat, event: { kind: 'receipt', target: reactTo.id, receipt: 'delivered' } });
  assert.equal((await slix.step('dm-receipt', fromPuppet))['id'], mine['id']);
  await carol.request({ type: 'send', room: chat, event: { kind: 'receipt', target: reactTo.id, receipt: 'displayed' } });
  assert.equal((await slix.step('dm-marker', fromPuppet))['id'], mine['id']);
  await carol.request({ type: 'send', room: chat, event: { kind: 'typing', state: 'active' } });
  assert.equal((await slix.step('dm-chatstate', fromPuppet))['state'], 'composing');

  // WS -> slixmpp: carol's edit or retraction of sally's message (the bus carries it; docs/websocket-protocol.md
  // "Whose edit counts") is not sent: a puppet corrects and retracts only its own messages (XEP-0308 and
  // XEP-0424 leave the check to the receiver, and slixmpp's plugins make none).
  await carol.request({ type: 'send', room: chat, event: { kind: 'edit', target: reactTo.id, text: 'not yours' } });
  await carol.request({ type: 'send', room: chat, event: { kind: 'retract', target: reactTo.id } });
  await carol.request({ type: 'send', room: chat, event: { kind: 'typing', state: 'paused' } });
  assert.equal((await slix.step('dm-chatstate', fromPuppet))['state'], 'paused');
  const notMine = async (name: string, field: string): Promise<unknown> =>
    await slix.step(name, (s) => s[field] === mine['id'], 0).then((s) => s, () => undefined);
  assert.equal(await notMine('dm-correction', 'replace_id'), undefined);
  assert.equal(await notMine('dm-retract', 'id'), undefined);

  // WS -> slixmpp: a retraction of carol's message: the fastening names its origin-id.
  await carol.request({ type: 'send', room: chat, event: { kind: 'retract', target: sent['id'] } });
  const retracted = await slix.step('dm-retract', fromPuppet);
  assert.equal(retracted['id'], fromCarol['origin_id']);

  // Nothing went wrong on the way: no error came back to slixmpp.
  assert.equal(await slix.quit(), 0);
  const errors = await slix.step('dm-error', undefined, 0).then((s) => [s], () => []);
  assert.deepEqual(errors, []);
});
