// A linked room's subject on ejabberd 23.01, which (unlike Prosody) keeps subject changes in the
// room's archive: what the relay reads back there after an absence is an old state, never a
// topic; the subject its join gets is the one that counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { startEjabberd } from '../helpers/ejabberd.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient, type EventFrame, type ServerFrame } from '../helpers/ws-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startXmppBridge, type After, wsInLobby } from './bridge-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const isText = (text: string) => (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;
const isTopic = (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event.kind === 'topic';


/** A throwaway ejabberd with its `lobby` room, alice (Alice) in it, and the bridge, its relay seen by alice. */
async function startEjabberdRoom(t: After, bridgeOptions: Parameters<typeof startXmppBridge>[1] = {}) {
  const ejabberd = await startEjabberd();
  t.after(() => ejabberd.destroy());
  await ejabberd.ctl('create_room', 'lobby', ejabberd.mucDomain, ejabberd.domain);
  const room = `lobby@${ejabberd.mucDomain}`;
  const alice = await connectUser(ejabberd, 'alice');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const bridge = await startXmppBridge(ejabberd, bridgeOptions);
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  return { room, alice, bridge };
}

test('ejabberd: an occupant\'s subject change is a topic; changes made while the component was away are read back from the archive but not published: the join\'s subject is, once', async (t) => {
  const { room, alice, bridge } = await startEjabberdRoom(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  // ejabberd's rooms let every occupant change the subject (allow_change_subj, on by default).
  const setSubject = async (text: string): Promise<void> => {
    const since = alice.mark();
    await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, text)));
    await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Alice` && el.getChildText('subject') === text, `the room broadcasting "${text}"`, { since });
  };
  const inbound = (outcome: string): Promise<number> => metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome });

  await setSubject('live one');
  const live = await carol.next(isTopic, 10_000) as EventFrame;
  assert.deepEqual([live.event['text'], (live.event.sender as { id: string }).id], ['live one', alice.bareJid], 'from alice (ejabberd shows real JIDs here)');

  const since = alice.mark();
  await bridge.stopXmpp();
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard` && el.attrs['type'] === 'unavailable', 'the relay leaving', { since });
  await setSubject('away one');
  await setSubject('away two');
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'said while away')));
  await bridge.startXmpp();
  await carol.next(isText('said while away'), 20_000);
  const back = await carol.next(isTopic, 20_000) as EventFrame;
  assert.deepEqual([back.event['text'], (back.event.sender as { id: string }).id], ['away two', alice.bareJid]);
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(carol.events.map((e) => [e.event.kind, e.event['text']]).filter(([kind]) => kind !== 'presence'),
    [['topic', 'live one'], ['message', 'said while away'], ['topic', 'away two'], ['message', 'fence']], 'nothing else from the archive');
  assert.ok(await inbound('subject_archived') >= 2, 'the archived subjects were read and passed over');
  assert.equal(await inbound('subject_published'), 2);
});

test('ejabberd: a WS moderator\'s topic is set by the relay (ejabberd lets every occupant change the subject), and cleared; nothing comes back', async (t) => {
  const { room, alice, bridge } = await startEjabberdRoom(t, { moderators: ['dave'] });
  const [dave, carol] = await wsInLobby(t, bridge, 'dave', 'carol');
  const fromRelay = (text: string) => (el: { name: string; attrs: Record<string, string | undefined>; getChildText(n: string): string | null }): boolean =>
    el.name === 'message' && el.attrs['from'] === `${room}/Switchboard` && el.getChildText('subject') === text;

  for (const text of ['Release day 🚀', '']) {
    const since = alice.mark();
    const ack = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await alice.waitFor(fromRelay(text), `the relay setting the subject to "${text}"`, { since });
  }
  // (alice may see the room's broadcast before the connector has read the relay's copy.)
  await waitFor(async () => await metricValue(bridge.registry, 'switchboard_xmpp_topics_total', { outcome: 'set' }) === 2, { what: 'both topics counted as set' });
  // A fence from alice: by then an echo of either subject would have reached carol before it.
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'fence')));
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(carol.events.filter((e) => e.event.kind === 'topic').map((e) => [e.event['text'], (e.event.sender as { id: string }).id]),
    [['Release day 🚀', 'dave'], ['', 'dave']], 'dave\'s two topics (WS to WS), none back from the room');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_inbound_total', { outcome: 'subject_echo' }), 2, 'the room\'s broadcasts recognised as the relay\'s');
});
