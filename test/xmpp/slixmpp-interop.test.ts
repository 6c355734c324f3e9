// The XMPP side with an independent, spec-following client library: Debian's python3-slixmpp
// (1.8), stock, run as a child process by test/xmpp/slixmpp-client.py. It joins the linked MUC and
// talks with a WebSocket client through the bridge: every stanza it sends is built by slixmpp's
// own plugins (XEP-0308, 0424, 0444, 0461, 0085, 0333, 0066, 0045's subject; but the empty <subject/>
// that clears a subject, which 1.8's plugin cannot send), and what it receives is checked as those
// plugins parse it, with the ids it saw (XEP-0359).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsody } from '../helpers/prosody.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { startXmppBridge, type After } from './bridge-harness.ts';
import { runSlixmpp, slixmppPython, wsEvent } from './slixmpp-runner.ts';


/**
 * A Prosody whose `lobby` slixmpp's Sally joins first (so she creates it and owns it, as a person
 * would, before the bridge links it), then the bridge, its relay seen by Sally. All stopped after the test.
 */
async function startSallysRoom(t: After, prosodyOptions: Parameters<typeof startProsody>[0] = {}, bridgeOptions: Parameters<typeof startXmppBridge>[1] = {}) {
  assert.ok(slixmppPython()); // fails here, with how to install it, when slixmpp is missing
  const prosody = await startProsody({ users: { sally: 'sally-pw' }, ...prosodyOptions });
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const slix = runSlixmpp([String(prosody.c2sPort), `sally@${prosody.domain}`, 'sally-pw', room, 'Sally']);
  t.after(() => slix.stop());
  const joined = await slix.step('joined', undefined, 30_000);
  const bridge = await startXmppBridge(prosody, bridgeOptions);
  t.after(() => bridge.stop());
  await slix.step('presence', (s) => s['nick'] === 'Switchboard', 15_000);
  return { prosody, room, slix, bridge, joined };
}

test('a stock slixmpp 1.8 client in a linked MUC and a WebSocket client: each side\'s messages, corrections, retractions, reactions, replies, chat states and markers, as the other parses them', { timeout: 90_000 }, async (t) => {
  const { prosody, room, slix, bridge } = await startSallysRoom(t);
  const carol: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  // slixmpp -> WS: plain text.
  const hello = await slix.run({ do: 'send', body: 'hello from slixmpp' });
  assert.equal(hello['by'], room, 'the room stamps its stanza-id');
  const e1 = await wsEvent(carol, 'message', (e) => e['text'] === 'hello from slixmpp');
  // The room is semi-anonymous (Prosody's default): the sender is the room's occupant-id (XEP-0421).
  const sender = e1['sender'] as Record<string, string>;
  assert.deepEqual([sender['network'], sender['name']], ['xmpp', 'Sally']);
  assert.ok(sender['id']?.startsWith(`${room}#`), JSON.stringify(sender));

  // WS -> slixmpp: text; slixmpp sees carol's puppet with the ids XEP-0359 says.
  const sent = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi sally' } });
  assert.equal(sent.type, 'ack', JSON.stringify(sent));
  const fromCarol = await slix.step('message', (s) => s['nick'] === 'Carol' && s['body'] === 'hi sally');
  assert.equal(fromCarol['by'], room);
  assert.ok(fromCarol['stanza_id'], 'a stanza-id by the room');
  assert.equal(fromCarol['origin_id'], fromCarol['id'], 'the puppet\'s origin-id is its id');

  // slixmpp -> WS: a correction of its message (XEP-0308: by the id attribute).
  await slix.run({ do: 'correct', id: hello['id'], body: 'hello from slixmpp!' });
  const edit = await wsEvent(carol, 'edit');
  assert.deepEqual([edit['target'], edit['text']], [e1.id, 'hello from slixmpp!']);

  // slixmpp -> WS: a reaction (XEP-0444: in a room, by the room's stanza-id) to carol's message.
  await slix.run({ do: 'react', id: fromCarol['stanza_id'], emojis: ['👍'] });
  const reaction = await wsEvent(carol, 'reaction');
  assert.deepEqual([reaction['target'], reaction['reactions']], [sent['id'], ['👍']]);

  // slixmpp -> WS: a reply (XEP-0461: by stanza-id, to the occupant).
  await slix.run({ do: 'reply', id: fromCarol['stanza_id'], to: `${room}/Carol`, body: 'hi carol' });
  const reply = await wsEvent(carol, 'message', (e) => e['text'] === 'hi carol');
  assert.equal(reply['replyTo'], sent['id']);
  // With the quote for clients without replies, marked by slixmpp's fallback element (its old namespace): not in the text.
  await slix.run({ do: 'reply', id: fromCarol['stanza_id'], to: `${room}/Carol`, quote: '> Carol: 🙂 hello\n', body: 'quoted' });
  const quoted = await wsEvent(carol, 'message', (e) => typeof e['text'] === 'string' && (e['text'] as string).endsWith('quoted'));
  assert.deepEqual([quoted['text'], quoted['replyTo']], ['quoted', sent['id']]);

  // slixmpp -> WS: typing (XEP-0085) and a displayed marker (XEP-0333: in a room, by stanza-id).
  await slix.run({ do: 'chatstate', state: 'composing' });
  assert.equal((await wsEvent(carol, 'typing'))['state'], 'active');
  await slix.run({ do: 'displayed', id: fromCarol['stanza_id'] });
  const receipt = await wsEvent(carol, 'receipt');
  assert.deepEqual([receipt['target'], receipt['receipt']], [sent['id'], 'displayed']);

  // slixmpp -> WS: a link (XEP-0066), the URL in the body too, as clients send it.
  const url = 'https://example.org/cat.jpg';
  await slix.run({ do: 'send', body: url, oob: url });
  const link = await wsEvent(carol, 'message', (e) => e['text'] === url);
  assert.deepEqual(link['spans'], [{ type: 'link', offset: 0, length: url.length, url }]);

  // slixmpp -> WS: a retraction as the plugin builds it (XEP-0424 0.3: an XEP-0422 fastening naming
  // the message's origin-id, which is the id slixmpp gave it).
  await slix.run({ do: 'retract', id: hello['id'] });
  const retract = await wsEvent(carol, 'retract');
  assert.equal(retract['target'], e1.id);

  // WS -> slixmpp: dave edits and retracts carol's message: the bus carries both, but no puppet
  // corrects or retracts another's message (slixmpp's plugins would take them: they check no sender).
  const dave: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: sent['id'], text: 'dave was here' } });
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: sent['id'] } });

  // WS -> slixmpp: an edit: slixmpp's correction plugin sees `replace` naming the id it saw.
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: sent['id'], text: 'hi sally!' } });
  const correction = await slix.step('correction', (s) => s['nick'] === 'Carol');
  assert.deepEqual([correction['replace_id'], correction['body']], [fromCarol['id'], 'hi sally!']);

  // WS -> slixmpp: a reaction to slixmpp's reply: the reactions plugin yields the set for the stanza-id slixmpp saw.
  const replyReflection = await slix.run({ do: 'send', body: 'react to me' });
  const reactTo = await wsEvent(carol, 'message', (e) => e['text'] === 'react to me');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: reactTo.id, reactions: ['🎉', '👍'] } });
  const reactions = await slix.step('reactions', (s) => s['nick'] === 'Carol');
  assert.deepEqual([reactions['id'], reactions['emojis']], [replyReflection['stanza_id'], ['🎉', '👍'].sort()]);

  // WS -> slixmpp: a reply: the reply plugin names the stanza-id (and the fallback is for clients without it).
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'you bet', replyTo: reactTo.id } });
  const replied = await slix.step('reply', (s) => s['nick'] === 'Carol');
  assert.equal(replied['id'], replyReflection['stanza_id']);

  // WS -> slixmpp: typing, and a displayed marker (XEP-0333: in a room, by the stanza-id slixmpp saw).
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'typing', state: 'active' } });
  assert.equal((await slix.step('chatstate', (s) => s['nick'] === 'Carol'))['state'], 'composing');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'receipt', target: reactTo.id, receipt: 'displayed' } });
  assert.equal((await slix.step('marker', (s) => s['nick'] === 'Carol'))['id'], replyReflection['stanza_id']);

  // WS -> slixmpp: carol retracts sally's message: the bus carries it, but no puppet retracts an XMPP
  // user's message (slixmpp's plugin would take it, as it checks no sender). Her own retraction below comes first.
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: reactTo.id } });
  // WS -> slixmpp: a retraction: slixmpp 1.8 knows XEP-0424 0.3 (the fastening), which names the origin-id.
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: sent['id'] } });
  const retracted = await slix.step('retract', (s) => s['nick'] === 'Carol');
  assert.equal(retracted['id'], fromCarol['origin_id'], 'the first retraction slixmpp sees is of carol\'s own message');
  // XMPP deliveries go out in order: dave's, sent before carol's, would have come first.
  for (const kind of ['correction', 'retract']) {
    await assert.rejects(slix.step(kind, (s) => s['nick'] !== 'Carol', 300), /did not reach/, `no ${kind} from another puppet`);
  }

  // The puppet, from slixmpp's side: disco#info of the component and of carol's puppet in the
  // room (the room passes it on), her vCard, a ping: answers, no errors.
  const slixNamespaces = (await slix.run({ do: 'namespaces' }))['namespaces'] as Record<string, string>;
  const component = await slix.run({ do: 'disco', jid: prosody.componentDomain });
  assert.equal(component['error'], undefined, JSON.stringify(component));
  assert.ok((component['identities'] as string[][]).some(([category]) => category === 'gateway' || category === 'component'), JSON.stringify(component));
  const puppetInRoom = await slix.run({ do: 'disco', jid: `${room}/Carol` });
  assert.equal(puppetInRoom['error'], undefined, JSON.stringify(puppetInRoom));
  assert.deepEqual(puppetInRoom['identities'], [['client', 'pc', 'Carol']]);
  // What the puppet reads and sends, as slixmpp's plugins name it: XEP-0424 in both versions (1.8 knows only :0).
  for (const plugin of ['xep_0308', 'xep_0424', 'xep_0444', 'xep_0461', 'xep_0085', 'xep_0333', 'xep_0066']) {
    assert.ok((puppetInRoom['features'] as string[]).includes(slixNamespaces[plugin] as string), `${plugin}: ${JSON.stringify(puppetInRoom)}`);
  }
  const vcard = await slix.run({ do: 'vcard', jid: `websocket.carol@${prosody.componentDomain}` });
  assert.deepEqual([vcard['error'], vcard['nicknames'], vcard['fn']], [undefined, ['Carol'], 'Carol'], JSON.stringify(vcard));
  const vcardInRoom = await slix.run({ do: 'vcard', jid: `${room}/Carol` });
  assert.deepEqual([vcardInRoom['error'], vcardInRoom['nicknames']], [undefined, ['Carol']], JSON.stringify(vcardInRoom));
  assert.equal((await slix.run({ do: 'ping', jid: `${room}/Carol` }))['pong'], true);

  assert.equal(await slix.quit(), 0);
});

test('slixmpp as the room\'s owner moderates a WS user\'s message with its XEP-0425 plugin (a retract with moderation on WS); a WS moderator\'s removal of slixmpp\'s message reaches it as the room\'s moderation', { timeout: 90_000 }, async (t) => {
  const { prosody, room, slix, bridge } = await startSallysRoom(t, { mucModeration: true }, { moderators: ['dave'] });
  const carol: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const dave: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });

  // slixmpp -> WS: Sally, who made the room, removes carol's spam.
  const spam = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
  const inRoom = await slix.step('message', (s) => s['nick'] === 'Carol' && s['body'] === 'cheap watches');
  assert.equal((await slix.run({ do: 'moderate', id: inRoom['stanza_id'], reason: 'spam' }))['error'], undefined, 'the room took it');
  const removed = await wsEvent(dave, 'retract');
  assert.deepEqual([removed['target'], removed['moderation'], (removed['sender'] as { name: string }).name], [spam['id'], { reason: 'spam' }, 'Sally']);

  // WS -> slixmpp: dave (a moderator token) removes Sally's message; she has made the bridge's address an admin.
  await slix.run({ do: 'affiliate', affiliation: 'admin', jid: prosody.componentDomain });
  const said = await slix.run({ do: 'send', body: 'sally says' });
  const hers = await wsEvent(dave, 'message', (e) => e['text'] === 'sally says');
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: hers.id, moderation: { reason: 'off topic' } } });
  const seen = await slix.step('moderated', (s) => s['id'] === said['stanza_id']);
  assert.deepEqual([seen['by'], seen['reason']], [`${room}/Switchboard`, 'off topic'], 'slixmpp\'s plugin reads who and why');
});

test('slixmpp as the room\'s owner changes and clears its subject with its XEP-0045 plugin (a topic on WS, from Sally); a WS moderator\'s topic, set by the relay once it is the room\'s admin, is the subject slixmpp\'s plugin reports, live and at its next join, and so is its clearing', { timeout: 90_000 }, async (t) => {
  const { prosody, room, slix, bridge, joined: sallyJoined } = await startSallysRoom(t, {}, { moderators: ['dave'] });
  assert.equal(sallyJoined['subject'], '', 'a new room has no subject');
  const dave: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });

  // slixmpp -> WS: Sally, who made the room, sets its subject (xep_0045's set_subject).
  await slix.run({ do: 'subject', text: 'Plans for Friday' });
  const fromSally = await wsEvent(dave, 'topic');
  assert.equal(fromSally['text'], 'Plans for Friday');
  const sallyId = (fromSally['sender'] as Record<string, string>)['id'];
  assert.deepEqual(fromSally['sender'], { network: 'xmpp', id: sallyId, name: 'Sally' });
  assert.ok(sallyId?.startsWith(`${room}#`), 'named as her messages are (the occupant-id: the room is semi-anonymous)');
  // A WS user who comes in now is told the room's topic with the join's answer: Sally's.
  const carol: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  const joined = await carol.request({ type: 'join', room: 'lobby' });
  const current = joined['topic'] as EventFrame['event'] | undefined;
  assert.deepEqual([current?.['text'], current?.['sender']], ['Plans for Friday', fromSally['sender']], JSON.stringify(joined));
  const bySally = (e: EventFrame['event']): boolean => (e['sender'] as Record<string, string>)['id'] === sallyId;
  const sallysTopics = (): unknown[] => dave.events.filter((f) => f.event.kind === 'topic' && bySally(f.event)).map((f) => f.event['text']);

  // slixmpp 1.8's set_subject('') cannot clear it: an empty text drops the <subject/>, so it sends an
  // empty groupchat message, which is no subject change (§8.1): nothing reaches WS (by the message after it).
  await slix.run({ do: 'subject', text: '' });
  await slix.run({ do: 'send', body: 'still Friday' });
  await wsEvent(dave, 'message', (e) => e['text'] === 'still Friday');
  assert.deepEqual(sallysTopics(), ['Plans for Friday'], 'no topic from slixmpp\'s empty set_subject');
  // An empty <subject/> (the client builds it itself) clears it: a topic '' from Sally.
  await slix.run({ do: 'clear-subject' });
  assert.equal((await wsEvent(dave, 'topic', bySally))['text'], '');

  // WS -> slixmpp: dave (a moderator token) sets the topic; Sally has made the bridge's address an admin.
  await slix.run({ do: 'affiliate', affiliation: 'admin', jid: prosody.componentDomain });
  const set = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Picnic at noon' } });
  assert.equal(set.type, 'ack', JSON.stringify(set));
  const live = await slix.step('subject', (s) => s['nick'] === 'Switchboard');
  assert.deepEqual([live['subject'], live['delayed']], ['Picnic at noon', false], 'the room\'s broadcast, from the relay\'s nick');
  // Sally joins again: the room's subject is dave's, from the relay's nick (Prosody names who set it).
  const back = await slix.run({ do: 'rejoin' }, 30_000);
  assert.deepEqual([back['subject'], back['subject_from']], ['Picnic at noon', `${room}/Switchboard`], JSON.stringify(back));

  // WS -> slixmpp: dave clears it: an empty <subject/>, which slixmpp reports as the subject ''.
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: '' } });
  const cleared = await slix.step('subject', (s) => s['nick'] === 'Switchboard' && s['delayed'] === false);
  assert.equal(cleared['subject'], '');
  assert.equal(await slix.quit(), 0);
});
