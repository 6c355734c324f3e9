// bridges/ reloaded (what SIGHUP does) while the XMPP component runs, against a real Prosody 0.12:
// a MUC linked by a reload is served as one linked at start, without its history; an unlinked
// MUC is left by everyone of ours and no longer bridged either way, other rooms going on; a MUC
// unlinked and linked again bridges nothing of what was said (or set as its subject) between; a
// MUC moved to another canonical room bridges into it without leaving; quick reloads race no
// join or leave twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { EventFrame } from '../helpers/ws-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { isText, presenceOf, startReloadRig, textsIn } from './reload-rig.ts';

const UNLINKED = 'This room was unlinked from the bridge by its operator';

test('a MUC linked by a reload: the relay joins it, its occupants\' messages reach the linked WS room and WS messages reach it from a puppet; what was said there before the link is not bridged', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'] });
  const { alice } = rig;
  const dev = rig.muc('dev');
  await rig.aliceSays('dev', 'before the link');
  await alice.waitFor((el) => el.getChildText('body') === 'before the link', 'the room echoing it');
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 1);

  const since = alice.mark();
  await rig.link('dev');
  await alice.waitFor(presenceOf(`${dev}/Switchboard`), 'the relay joining dev', { since });
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 2);
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'linked' }), 1);
  // Everything the canonical room retains (since: null): nothing from before the link.
  const carol = await rig.carolIn('dev');
  await rig.aliceSays('dev', 'after the link');
  const got = await carol.next(isText('after the link'), 10_000) as EventFrame;
  assert.equal((got.event.sender as { name?: string }).name, 'Alice');

  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'hello dev' } });
  await alice.waitFor((el) => el.attrs['from'] === `${dev}/Carol` && el.getChildText('body') === 'hello dev', 'carol\'s puppet speaking in dev', { since });
  await rig.aliceSays('dev', 'fence');
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(textsIn(carol, 'dev'), ['after the link', 'fence'], 'no history, nothing twice, carol\'s own not echoed');
  // The relay joined once, at the reload.
  assert.equal(alice.stanzas.slice(since).filter(presenceOf(`${dev}/Switchboard`)).length, 1);
});

test('a MUC unlinked by a reload: the relay and the puppets leave it saying why, a message there later is not bridged, a delivery to it still queued is dropped (counted, not retried, not sent); the other room goes on', async (t) => {
  // Pings off: Prosody is paused below, and must look like a slow room, not a dead stream.
  const rig = await startReloadRig(t, { linked: ['lobby', 'dev'], xmpp: '  pingIntervalMs: 0\n' });
  const { alice, prosody } = rig;
  const dev = rig.muc('dev');
  const lobby = rig.muc('lobby');
  const carol = await rig.carolIn('lobby', 'dev');
  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'carol in dev' } });
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'carol in lobby' } });
  await alice.waitFor((el) => el.attrs['from'] === `${lobby}/Carol` && el.getChildText('body') === 'carol in lobby', 'carol\'s puppet in lobby');
  // Both delivered (their reflections back): nothing is in hand when Prosody is paused.
  await waitFor(async () => await rig.metric('switchboard_xmpp_delivered_total', { outcome: 'sent' }) === 2, { what: 'both deliveries done' });

  // Prosody paused: carol's next message to dev is in hand (waiting for the room's reflection),
  // the one after it waits on the bus behind it.
  const since = alice.mark();
  prosody.signal('SIGSTOP');
  t.after(() => { if (prosody.running) prosody.signal('SIGCONT'); });
  const messagesOut = (): Promise<number> => rig.metric('switchboard_xmpp_stanzas_out_total', { name: 'message' });
  const written = await messagesOut();
  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'in hand' } });
  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'queued' } });
  await waitFor(async () => await messagesOut() > written, { what: 'the first written to the paused server' });
  await rig.unlink('dev');
  await waitFor(async () => await rig.metric('switchboard_xmpp_delivered_total', { outcome: 'unlinked' }) === 2, { what: 'both deliveries dropped as unlinked' });
  prosody.signal('SIGCONT');

  const relayLeft = await alice.waitFor(presenceOf(`${dev}/Switchboard`, 'unavailable'), 'the relay leaving dev', { since });
  const carolLeft = await alice.waitFor(presenceOf(`${dev}/Carol`, 'unavailable'), 'carol\'s puppet leaving dev', { since });
  assert.deepEqual([relayLeft.getChildText('status'), carolLeft.getChildText('status')], [UNLINKED, UNLINKED]);
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 1);
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'unlinked' }), 1);

  await rig.aliceSays('dev', 'dev after the unlink');
  await alice.waitFor((el) => el.getChildText('body') === 'dev after the unlink', 'the room echoing it', { since });
  // The other room goes on, both ways, its relay and puppet still there (nobody joined again).
  await rig.aliceSays('lobby', 'lobby fence');
  await carol.next(isText('lobby fence'), 10_000);
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'lobby still' } });
  await alice.waitFor((el) => el.attrs['from'] === `${lobby}/Carol` && el.getChildText('body') === 'lobby still', 'carol in lobby after', { since });
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.name === 'presence' && el.attrs['from']?.startsWith(`${lobby}/`)).map((el) => el.attrs['from']), [], 'nothing left or joined lobby');

  assert.equal(carol.events.some((e) => e.event['text'] === 'dev after the unlink'), false, 'not bridged');
  assert.equal(alice.stanzas.some((el) => el.getChildText('body') === 'queued'), false, 'the queued delivery was not sent');
  assert.equal(await rig.metric('switchboard_bus_delivery_retries_total', { connector: 'xmpp' }), 0, 'not retried');
  assert.equal(await rig.metric('switchboard_bus_dead_lettered_total', { stage: 'egress', connector: 'xmpp' }), 0);
  // Our puppets heard the room's presences as they left (their own, the others'): none is a user's presence in a direct chat.
  for (const outcome of ['presence_published', 'presence_unrouted']) assert.equal(await rig.metric('switchboard_xmpp_direct_total', { direction: 'in', outcome }), 0, outcome);
});

test('a MUC unlinked and linked again: what was said there and the subject set meanwhile are not bridged; the room keeps the topic it had', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'] });
  const { alice } = rig;
  const dev = rig.muc('dev');
  await alice.send(xml('message', { to: dev, type: 'groupchat' }, xml('subject', {}, 'dev subject')));
  let since = alice.mark();
  await rig.link('dev');
  await alice.waitFor(presenceOf(`${dev}/Switchboard`), 'the relay joining dev', { since });
  const carol = await rig.carolIn('dev');
  const first = await carol.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'topic', 10_000) as EventFrame;
  assert.equal(first.event['text'], 'dev subject', 'a newly linked room\'s subject is its first topic');
  await rig.aliceSays('dev', 'linked 1');
  await carol.next(isText('linked 1'), 10_000);

  since = alice.mark();
  await rig.unlink('dev');
  await alice.waitFor(presenceOf(`${dev}/Switchboard`, 'unavailable'), 'the relay leaving dev', { since });
  await rig.aliceSays('dev', 'while unlinked');
  await alice.send(xml('message', { to: dev, type: 'groupchat' }, xml('subject', {}, 'set while unlinked')));
  await alice.waitFor((el) => el.getChildText('subject') === 'set while unlinked', 'the room broadcasting the subject', { since });

  const initial = await rig.metric('switchboard_xmpp_inbound_total', { outcome: 'subject_initial' });
  await rig.link('dev');
  // At once: the room's answer to the relay's leave came while the room was unlinked, and was taken (no wait for a join's timeout, 10 s).
  await alice.waitFor(presenceOf(`${dev}/Switchboard`), 'the relay joining dev again', { since, timeoutMs: 5_000 });
  // The subject at the join is the room's as a first link sees it: kept, not news.
  await waitFor(async () => await rig.metric('switchboard_xmpp_inbound_total', { outcome: 'subject_initial' }) === initial + 1, { what: 'the join\'s subject kept only' });
  const again = await rig.carolIn('dev');
  await rig.aliceSays('dev', 'linked again');
  await again.next(isText('linked again'), 10_000);
  assert.deepEqual(textsIn(again, 'dev'), ['linked 1', 'linked again'], 'what the room retains: nothing from between');
  assert.deepEqual(again.events.filter((e) => e.event.kind === 'topic').map((e) => e.event['text']), ['dev subject'], 'no topic from between');
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'linked' }), 2);
});

test('a MUC moved to another canonical room by a reload: bridged into it both ways, no leave, no join', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby', 'dev'] });
  const { alice } = rig;
  const dev = rig.muc('dev');
  const since = alice.mark();
  // dev.yaml goes; ops.yaml links the same MUC with the WS room ops: the canonical room "ops".
  rig.tree.write('bridges/ops.yaml', `endpoints:\n  - websocket: ops\n  - xmpp: ${dev}\n`);
  await rig.unlink('dev');
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'moved' }), 1);
  const carol = await rig.carolIn('ops');
  await rig.aliceSays('dev', 'to ops');
  const got = await carol.next(isText('to ops'), 10_000) as EventFrame;
  assert.equal(got.event.room, 'ops');
  await carol.request({ type: 'send', room: 'ops', event: { kind: 'message', text: 'from ops' } });
  await alice.waitFor((el) => el.attrs['from'] === `${dev}/Carol` && el.getChildText('body') === 'from ops', 'carol\'s puppet in dev', { since });
  assert.deepEqual(alice.stanzas.slice(since).filter((el) => el.name === 'presence' && el.attrs['from'] === `${dev}/Switchboard`).length, 0, 'the relay neither left nor joined');
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 2);
});

test('quick reloads: linked and unlinked before the relay\'s join was answered, the relay leaves and stays out (no retry, no join waiting for the leave joins it again); linked, unlinked and linked again, it is in once and bridges once', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'], xmpp: '  pingIntervalMs: 0\n' });
  const { alice, prosody } = rig;
  const dev = rig.muc('dev');
  const relay = `${dev}/Switchboard`;
  const presencesOut = (): Promise<number> => rig.metric('switchboard_xmpp_stanzas_out_total', { name: 'presence' });
  t.after(() => { if (prosody.running) prosody.signal('SIGCONT'); });
  const relayPresences = (since: number): string[] => alice.stanzas.slice(since)
    .filter((el) => el.name === 'presence' && el.attrs['from'] === relay).map((el) => el.attrs['type'] ?? 'available');
  // Prosody paused: what the relay sends waits, unanswered, in order. Each step is a reload, and
  // what it writes (a join, a leave; nothing for a join that waits for a leave's answer, or for
  // an unlink then) is written before the next step.
  const paused = async (steps: ReadonlyArray<readonly ['link' | 'unlink', 'writes' | 'nothing']>): Promise<void> => {
    prosody.signal('SIGSTOP');
    for (const [step, writes] of steps) {
      const before = await presencesOut();
      if (step === 'link') await rig.link('dev'); else await rig.unlink('dev');
      if (writes === 'writes') await waitFor(async () => await presencesOut() > before, { what: `the ${step}'s presence written` });
    }
    prosody.signal('SIGCONT');
  };

  let since = alice.mark();
  await paused([['link', 'writes'], ['unlink', 'writes']]);
  const left = await alice.waitFor(presenceOf(relay, 'unavailable'), 'the relay leaving dev', { since });
  assert.equal(left.getChildText('status'), UNLINKED);
  // Linked again while the leave is unanswered (the join waits for the answer), then unlinked before it came: no join.
  await paused([['link', 'writes'], ['unlink', 'writes'], ['link', 'nothing'], ['unlink', 'nothing']]);
  await waitFor(() => relayPresences(since).length === 4, { what: 'the relay joining and leaving dev twice' });
  // A retry of a failed join would come a second after it failed: wait twice that, then look.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.deepEqual(relayPresences(since), ['available', 'unavailable', 'available', 'unavailable'], 'joined and left, twice, and out since');

  since = alice.mark();
  await paused([['link', 'writes'], ['unlink', 'writes'], ['link', 'nothing']]);
  // The join goes as soon as the room answers the leave, well before a join's timeout (10 s).
  await waitFor(() => relayPresences(since).length === 3, { what: 'the relay joining, leaving and joining dev', timeoutMs: 5_000 });
  const carol = await rig.carolIn('dev');
  await rig.aliceSays('dev', 'after the races');
  await carol.next(isText('after the races'), 10_000);
  await rig.aliceSays('dev', 'fence');
  await carol.next(isText('fence'), 10_000);
  assert.deepEqual(textsIn(carol, 'dev'), ['after the races', 'fence'], 'each once');
  assert.deepEqual(relayPresences(since), ['available', 'unavailable', 'available'], 'joined, left, joined: once each');
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 2);
});

test('a MUC linked by a reload while the component stream is down: joined once the stream is back, with the others', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'], xmpp: '  reconnectMaxMs: 1000\n' });
  const { prosody } = rig;
  await prosody.stop();
  await waitFor(async () => await rig.metric('switchboard_xmpp_component_up') === 0, { what: 'the stream down' });
  await rig.link('dev');
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 2);
  await prosody.start();
  await waitFor(async () => await rig.metric('switchboard_xmpp_component_up') === 1, { what: 'the stream back', timeoutMs: 20_000 });
  // alice lost her session with the server: bob looks (the room lists the relay to him, joined before or after him).
  const bob = await connectUser(prosody, 'bob');
  t.after(() => bob.stop());
  const dev = rig.muc('dev');
  await bob.joinMuc(dev, 'Bob');
  await bob.waitFor(presenceOf(`${dev}/Switchboard`), 'the relay in dev');
  const carol = await rig.carolIn('dev');
  await bob.send(xml('message', { to: dev, type: 'groupchat' }, xml('body', {}, 'bob in dev')));
  await carol.next(isText('bob in dev'), 10_000);
});

test('an xmpp address that is no room JID: the reload is refused saying why, nothing changes; told to the connector anyway, it is logged, counted and not served, and nothing throws', async (t) => {
  const rig = await startReloadRig(t, { linked: ['lobby'] });
  rig.tree.write('bridges/bad.yaml', `endpoints:\n  - websocket: bad\n  - xmpp: ${rig.muc('bad')}/Nick\n`);
  const refused = await rig.app.reloadBridges();
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), /endpoints\.1\.xmpp: ".*\/Nick" is not a room JID .*full JID/);
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 1);

  const xmpp = rig.app.connectors.find((c) => c.network === 'xmpp');
  const lobby = { connector: 'xmpp', address: rig.muc('lobby') };
  const bad = { connector: 'xmpp', address: 'conference.localhost' };
  assert.doesNotThrow(() => xmpp?.endpointsChanged?.({ endpoints: [lobby, bad], added: [bad], removed: [], moved: [], redirected: [] }));
  assert.equal(await rig.metric('switchboard_xmpp_room_links_total', { change: 'refused' }), 1);
  assert.equal(await rig.metric('switchboard_xmpp_rooms'), 1, 'lobby only');
  const carol = await rig.carolIn('lobby');
  await rig.aliceSays('lobby', 'lobby goes on');
  await carol.next(isText('lobby goes on'), 10_000);
});
