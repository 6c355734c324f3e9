// A linked MUC's subject (XEP-0045 §8.1) as the canonical `topic`, both ways, against a real
// Prosody 0.12: an occupant's change reaches WS from that occupant; a WS moderator's topic is set
// by the relay once the room lets it (refused before: counted, not retried); the subject a room
// sends at the relay's join is news only when it changed while the bridge was away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type ServerFrame, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, metricValue } from '../websocket/harness.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { parseEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { waitFor } from '../helpers/wait.ts';
import { startAliceInLobby, startRoomRig, startXmppBridge, wsInLobby } from './bridge-harness.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

const isText = (text: string) => (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;
const isTopic = (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event.kind === 'topic';
const topicsAt = (c: TestClient): Array<{ text: unknown; sender: unknown }> =>
  c.events.filter((e) => e.event.kind === 'topic').map((e) => ({ text: e.event['text'], sender: e.event.sender }));
const subjectFrom = (from: string, text?: string) => (el: Element): boolean =>
  el.name === 'message' && el.attrs['type'] === 'groupchat' && el.attrs['from'] === from && el.getChild('subject') !== undefined
  && el.getChild('body') === undefined && (text === undefined || el.getChildText('subject') === text);

/** `user` (an occupant) sets the room's subject, and the room's broadcast of it reaches them. */
async function setSubject(user: TestUser, room: string, nick: string, text: string): Promise<void> {
  const since = user.mark();
  await user.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, text)));
  await user.waitFor(subjectFrom(`${room}/${nick}`, text), `the room broadcasting ${nick}'s subject`, { since });
}

/** The subject the room sends to someone who joins now (XEP-0045 §7.2.15): the room's own word. */
async function subjectOnJoin(user: TestUser, room: string, nick: string): Promise<string> {
  const since = user.mark();
  await user.joinMuc(room, nick);
  const el = await user.waitFor((s) => s.name === 'message' && s.getChild('subject') !== undefined && s.getChild('body') === undefined, 'the subject at the join', { since });
  return el.getChildText('subject') ?? '';
}

test('a room\'s subject from before it was linked is the room\'s first topic (no network gave it one); an occupant\'s subject change reaches WS as a topic from them (once, though a puppet is in the room too); a subject with a body is a message; a direct chat\'s subject is nothing', async (t) => {
  const { prosody, alice, room } = await startAliceInLobby(t);
  await setSubject(alice, room, 'Alice', 'before the bridge');
  const bridge = await startXmppBridge(prosody);
  t.after(() => bridge.stop());
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  // Every event the room retains: the topic published at the relay's join is among them.
  await carol.request({ type: 'join', room: 'lobby', since: null });
  const first = await carol.next(isTopic, 10_000) as EventFrame;
  assert.deepEqual([first.event['text'], (first.event.sender as { name?: string }).name], ['before the bridge', 'Alice'], 'from who set it');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_first' }), 1);

  // carol speaks: her puppet is in the room and gets its own copy of everything.
  let since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi from WS' } });
  await alice.waitFor((el) => el.attrs['from'] === `${room}/Carol` && el.getChildText('body') === 'hi from WS', 'carol\'s puppet speaking', { since });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'hello')));
  const hello = await carol.next(isText('hello'), 10_000) as EventFrame;

  await setSubject(alice, room, 'Alice', 'Release day 🚀');
  const topic = await carol.next(isTopic, 10_000) as EventFrame;
  assert.equal(topic.event['text'], 'Release day 🚀');
  assert.deepEqual(topic.event.sender, hello.event.sender, 'the sender as for her messages');
  assert.equal((topic.event.sender as { name?: string }).name, 'Alice');
  await setSubject(alice, room, 'Alice', '');
  assert.equal((await carol.next(isTopic, 10_000) as EventFrame).event['text'], '', 'cleared');

  // A message with a subject and a body is a message (XEP-0045 §8.1), and leaves the subject alone.
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'Re: release'), xml('body', {}, 'with a subject line')));
  await carol.next(isText('with a subject line'), 10_000);
  // A subject in a direct chat (to carol's puppet) is no topic, and nothing else either.
  const direct = `@xmpp:${alice.bareJid}`;
  await carol.request({ type: 'join', room: direct, since: null });
  const puppet = `websocket.carol@${prosody.componentDomain}`;
  await alice.send(xml('message', { to: puppet, type: 'chat', id: 'dm-subject' }, xml('subject', {}, 'a direct subject')));
  await alice.send(xml('message', { to: puppet, type: 'chat', id: 'dm-fence' }, xml('body', {}, 'direct fence')));
  await carol.next(isText('direct fence'), 10_000);
  assert.deepEqual(carol.events.filter((e) => e.room === direct).map((e) => [e.event.kind, e.event['text']]), [['message', 'direct fence']]);
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_direct_total', { direction: 'in', outcome: 'skipped' }), 1, 'the direct subject skipped');

  since = alice.mark();
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(topicsAt(carol).map((e) => e.text), ['before the bridge', 'Release day 🚀', ''], 'each change once, and nothing else');
  assert.deepEqual(carol.events.filter((e) => e.room === 'lobby' && e.event.kind === 'message').map((e) => e.event['text']), ['hello', 'with a subject line', 'fence']);
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_published' }), 2);
  // Only the relay's copy is read: carol's puppet's copies are not even looked at.
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_unchanged' }), 0);
  assert.equal(await subjectOnJoin(await connectUser(prosody, 'bob'), room, 'Bob'), '', 'the room\'s subject is as alice left it');
  // The room's current topic is alice's last (from XMPP, kept for every network): a WS join says so.
  const late = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => late.close());
  const joined = await late.request({ type: 'join', room: 'lobby' });
  const current = joined['topic'] as { text?: string; sender?: { name?: string } } | undefined;
  assert.deepEqual([current?.text, current?.sender?.name], ['', 'Alice']);
});

test('a WS moderator\'s topic: refused while the relay is a participant (counted not_done, not retried, the subject unchanged); set from the relay\'s nick once the bridge is the room\'s admin; nothing comes back', async (t) => {
  const { prosody, alice, room, bridge } = await startRoomRig(t, { moderators: ['dave'] });
  const [carol, dave] = await wsInLobby(t, bridge, 'carol', 'dave');
  const topics = (outcome: string): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_topics_total', { outcome });
  const setTopic = async (text: string): Promise<void> => {
    const ack = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
  };
  const relay = `${room}/Switchboard`;
  await setSubject(alice, room, 'Alice', 'alice\'s');
  await carol.next(isTopic, 10_000);

  // The relay is a participant, and Prosody's rooms let only moderators change the subject by default.
  let since = alice.mark();
  await setTopic('not here');
  await waitFor(async () => await topics('not_done') === 1, { what: 'the room refusing the relay' });
  // Deliveries are in order: once a later message is in the room, the topic's delivery is over.
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the refusal' } });
  await alice.waitFor((el) => el.getChildText('body') === 'after the refusal', 'dave\'s message after the refused topic', { since });
  assert.deepEqual(await Promise.all(['not_done', 'set', 'failed'].map(topics)), [1, 0, 0], 'refused once, not retried');
  assert.equal(alice.stanzas.slice(since).filter(subjectFrom(relay)).length, 0, 'no subject from the relay');
  // Its occupants still learn of it: a notice from dave's puppet, as on a network without topics (not bridged back).
  const notices = alice.stanzas.slice(since).filter((el) => el.getChildText('body') === '✎ set the topic: not here');
  assert.deepEqual(notices.map((el) => el.attrs['from']), [`${room}/dave`], 'one notice, from dave\'s puppet');
  await carol.next(isText('after the refusal'), 10_000);
  assert.equal(carol.events.filter((f) => String(f.event['text']).startsWith('✎')).length, 0, 'the notice is not bridged back');
  assert.equal(await subjectOnJoin(await connectUser(prosody, 'bob'), room, 'Bob'), 'alice\'s', 'the room\'s subject unchanged');

  // alice makes the bridge's address an admin of the room: the relay is a moderator there now.
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));
  since = alice.mark();
  await setTopic('Release day 🚀');
  await alice.waitFor(subjectFrom(relay, 'Release day 🚀'), 'the relay setting the subject', { since });
  await setTopic('');
  await alice.waitFor(subjectFrom(relay, ''), 'the relay clearing the subject', { since });
  await waitFor(async () => await topics('set') === 2, { what: 'both counted as set' });
  // The room has it already: not sent again (Prosody would broadcast nothing).
  await setTopic('');
  await waitFor(async () => await topics('unchanged') === 1, { what: 'the unchanged topic counted' });

  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.equal(alice.stanzas.slice(since).filter(subjectFrom(relay)).length, 2, 'two changes in the room');
  assert.deepEqual(topicsAt(carol).map((e) => [e.text, (e.sender as { id: string }).id]),
    [['alice\'s', (topicsAt(carol)[0]?.sender as { id: string }).id], ['not here', 'dave'], ['Release day 🚀', 'dave'], ['', 'dave'], ['', 'dave']],
    'alice\'s change, then dave\'s as he sent them: none came back from the room');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_echo' }), 2, 'the relay\'s two changes, recognised');
  assert.equal(await subjectOnJoin(await connectUser(prosody, 'bob', 'again'), room, 'Bob2'), '', 'the room\'s subject as dave left it');

  // A topic sent while the component is away waits on the bus; when it is back, the relay sets it
  // once it is in the room again (not before: the room would refuse a stranger's subject).
  since = alice.mark();
  await bridge.stopXmpp();
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === relay && el.attrs['type'] === 'unavailable', 'the relay leaving', { since });
  await setTopic('set on the way back');
  await bridge.startXmpp();
  await alice.waitFor(subjectFrom(relay, 'set on the way back'), 'the relay setting the subject after its comeback', { since, timeoutMs: 20_000 });
  assert.equal(await topics('not_done'), 1, 'only the first refusal');
});

test('the subject changed while the component was away: one topic when it is back, from who set it; none when it did not change', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'hello')));
  const hello = await carol.next(isText('hello'), 10_000) as EventFrame;
  const away = async (during: () => Promise<void>): Promise<void> => {
    const since = alice.mark();
    await bridge.stopXmpp();
    await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.attrs['type'] === 'unavailable', 'the relay leaving', { since });
    await during();
    await bridge.startXmpp();
    await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.attrs['type'] === undefined, 'the relay back', { since });
  };
  const fence = async (text: string): Promise<void> => {
    await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));
    await carol.next(isText(text), 20_000);
  };

  await away(() => setSubject(alice, room, 'Alice', 'set while away'));
  const topic = await carol.next(isTopic, 20_000) as EventFrame;
  assert.equal(topic.event['text'], 'set while away');
  assert.deepEqual(topic.event.sender, hello.event.sender, 'from alice, as the room names her');
  await fence('fence 1');

  await away(async () => { /* nothing changes */ });
  await fence('fence 2');
  assert.deepEqual(topicsAt(carol).map((e) => e.text), ['set while away'], 'exactly one topic');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_unchanged' }), 1, 'the second join\'s subject known');
});

test('through the app (the mapper in front of each connector): XMPP shows topics, so a WS moderator\'s topic is the room\'s subject, not a notice, and the room\'s subject reaches WS as a topic', async (t) => {
  const { prosody, alice, room } = await startAliceInLobby(t);
  // The bridge's address is the room's admin beforehand: its relay joins as a moderator.
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));
  const DAVE = 'sb_test_dave_token_for_topics';
  const tree = makeConfigTree([
    'http: { port: 8080 }\n',
    `websocket:\n  tokens:\n    - { name: dave, hash: "${hashToken(DAVE)}", displayName: Dave, moderator: true }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: \${SECRET}\n`,
  ].join(''), { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: ${room}\n` });
  t.after(() => tree.cleanup());
  const since = alice.mark();
  const app = await startApp(await loadConfig(tree.configFile, { env: { SECRET: prosody.componentSecret } }), { logger: silentLogger, httpPortOverride: 0 });
  t.after(() => app.close());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining', { since });
  const dave = await connectClient(wsUrlOf(app), DAVE);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });

  const ack = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'from the app' } });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await alice.waitFor(subjectFrom(`${room}/Switchboard`, 'from the app'), 'the relay setting the subject', { since });
  await setSubject(alice, room, 'Alice', 'alice\'s answer');
  const topic = await dave.next(isTopic, 10_000) as EventFrame;
  assert.deepEqual([topic.event['text'], (topic.event.sender as { name?: string }).name], ['alice\'s answer', 'Alice']);
  assert.equal(alice.stanzas.slice(since).filter((el) => el.name === 'message' && el.getChild('body') !== undefined).length, 0, 'no notice message in the room');
});

test('a room that does not answer the relay\'s subject change in time (a hung server): the delivery fails, counted, and the bus retries it; the subject is set once', async (t) => {
  // Deliveries are retried for as long as it takes (the default test bus gives up after 3); pings
  // off: the hung server must look like a slow room, not a dead stream.
  const bus = new MemoryBus({ ...busOptions(createRegistry(false)), delivery: { maxAttempts: 10_000, backoffMs: 20, maxBackoffMs: 200 } });
  t.after(() => bus.close());
  const { prosody, alice, room, bridge } = await startRoomRig(t, { bus, moderators: ['dave'], xmpp: { reflectionTimeoutMs: 300, pingIntervalMs: 0 } });
  await alice.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
    xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));
  const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
  t.after(() => dave.close());
  await dave.request({ type: 'join', room: 'lobby' });
  const topics = (outcome: string): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_topics_total', { outcome });

  const since = alice.mark();
  prosody.signal('SIGSTOP');
  t.after(() => { if (prosody.running) prosody.signal('SIGCONT'); });
  await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'slow room' } });
  await waitFor(async () => await topics('failed') >= 1, { what: 'the unanswered change failing' });
  prosody.signal('SIGCONT');
  await alice.waitFor(subjectFrom(`${room}/Switchboard`, 'slow room'), 'the subject set', { since, timeoutMs: 20_000 });
  // Done by the attempt whose wait the room's broadcast met, or, when it came between two attempts, by the next one finding it set.
  await waitFor(async () => await topics('set') + await topics('unchanged') === 1, { what: 'the retry done' });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await alice.waitFor((el) => el.getChildText('body') === 'fence', 'the fence', { since });
  assert.equal(alice.stanzas.slice(since).filter(subjectFrom(`${room}/Switchboard`)).length, 1, 'set once');
  assert.equal(await topics('not_done'), 0);
});

test('a subject the room names nobody for (never set: Prosody sends it from the room itself) that differs from the one kept: one topic from the room', async (t) => {
  const { prosody, alice, room } = await startAliceInLobby(t); // a new room: no subject
  // The bridge knew this room with a subject (a room destroyed and made again since, say).
  const bus = new MemoryBus(busOptions(createRegistry(false)));
  t.after(() => bus.close());
  await bus.state('xmpp').set(`subject:${room}`, 'kept from before');
  const bridge = await startXmppBridge(prosody, { bus });
  t.after(() => bridge.stop());
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby', since: null });
  const topic = await carol.next(isTopic, 10_000) as EventFrame;
  assert.equal(topic.event['text'], '');
  assert.deepEqual(topic.event.sender, { network: 'xmpp', id: room, name: 'lobby' }, 'the room itself');
  assert.equal(await bus.state('xmpp').get(`subject:${room}`), '', 'the room\'s subject kept');
});

test('a newly linked room\'s subject is only kept when the room already has a topic from another network: linking a room overwrites nothing', async (t) => {
  const { prosody, alice, room } = await startAliceInLobby(t);
  await setSubject(alice, room, 'Alice', 'the MUC\'s own');
  // The canonical room had a topic before this MUC was linked (a WS moderator's, say).
  const bus = new MemoryBus(busOptions(createRegistry(false)));
  t.after(() => bus.close());
  const earlier = parseEvent({ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'topic', text: 'the room\'s topic',
    sender: { network: 'websocket', id: 'dave' }, origin: { connector: 'websocket', endpoint: 'lobby' } });
  await bus.state('rooms').set('topic:lobby', JSON.stringify(earlier));
  const bridge = await startXmppBridge(prosody, { bus });
  t.after(() => bridge.stop());
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_initial' }) === 1, { what: 'the join\'s subject kept' });
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_first' }), 0);
  assert.equal(await bus.state('xmpp').get(`subject:${room}`), 'the MUC\'s own');
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  const joined = await carol.request({ type: 'join', room: 'lobby', since: null });
  assert.equal((joined['topic'] as { text?: string } | undefined)?.text, 'the room\'s topic', 'the room keeps its topic');
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(topicsAt(carol), [], 'no topic from the MUC');
});
