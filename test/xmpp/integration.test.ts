import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { SendRefusedError, ComponentLinkError } from '../../src/connectors/xmpp/component-link.ts';
import { parseMessage } from '../../src/connectors/xmpp/stanza/message-in.ts';
import { buildMessage } from '../../src/connectors/xmpp/stanza/message-out.ts';
import { buildMucJoin, isSelfPresence, parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';
import { answerIq, componentEntity } from '../../src/connectors/xmpp/stanza/iq-answers.ts';
import { puppetFullJid, puppetNick } from '../../src/connectors/xmpp/puppets.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { makeLink } from './link-harness.ts';

test('groundwork against a real Prosody: puppet in a MUC both ways, stanza-ids, disco, refused spoofing, wrong secret', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const domain = prosody.componentDomain;

  // The component answers iqs addressed to it (disco, ping) through the link.
  const tl = makeLink(prosody, {}, (el, link) => {
    if (el.name === 'iq' && el.attrs['to'] === domain) {
      const answer = answerIq(el, { kind: 'component', entity: componentEntity('Switchboard') });
      if (answer) link.send(answer).catch(() => { /* counted by the link */ });
    }
  });
  const link = tl.link;
  t.after(() => link.stop());
  link.start();
  await link.whenOnline();

  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  // Something said before the puppet joins must not reach it (history maxstanzas=0).
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'before the puppet')));
  await alice.waitFor((el) => el.getChildText('body') === 'before the puppet', 'the reflection of alice\'s first message');

  const bob = { network: 'websocket', id: 'Bob', name: 'Bob the Builder' };
  const puppet = puppetFullJid(bob, domain);
  const nick = puppetNick(bob);
  const selfPresence = tl.waitForStanza((el) => el.name === 'presence' && el.attrs['from'] === `${room}/${nick}` && isSelfPresence(parsePresence(el)), 'the puppet\'s self-presence');
  await link.send(buildMucJoin(puppet, `${room}/${nick}`));
  await selfPresence;
  assert.equal(tl.received.some((el) => el.getChildText('body') === 'before the puppet'), false, 'no history was sent to the puppet');

  // The puppet speaks; alice receives it from the puppet's nick, with the origin-id we chose.
  const aliceSince = alice.mark();
  await link.send(buildMessage({ from: puppet, to: room, type: 'groupchat', originId: 'sb-origin-1' }, { text: 'hello from the bridge', spans: [{ type: 'bold', offset: 0, length: 5 }] }));
  const atAlice = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/${nick}`, 'the puppet\'s message', { since: aliceSince });
  assert.equal(atAlice.getChildText('body'), '*hello* from the bridge');
  assert.equal(atAlice.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs['id'], 'sb-origin-1');
  // The room reflects it to the puppet too: recognisable by origin-id, with the room's stanza-id.
  const reflection = parseMessage(await tl.waitForStanza((el) => el.name === 'message' && el.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs['id'] === 'sb-origin-1', 'the reflection'), { componentDomain: domain });
  assert.equal(reflection.from, `${room}/${nick}`);
  assert.ok(reflection.stanzaId, 'the room stamped a stanza-id');

  // alice's message reaches the component through the puppet's occupancy, with the room's stanza-id.
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'alice-1' }, xml('body', {}, 'hi bob'), xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: 'alice-origin-1' })));
  const fromAlice = parseMessage(await tl.waitForStanza((el) => el.name === 'message' && el.getChildText('body') === 'hi bob', 'alice\'s message at the component'), { componentDomain: domain });
  assert.equal(fromAlice.from, `${room}/Alice`);
  assert.equal(fromAlice.to, puppet);
  assert.equal(fromAlice.type, 'groupchat');
  assert.equal(fromAlice.originId, 'alice-origin-1');
  assert.match(fromAlice.stanzaId ?? '', /.+/);
  assert.notEqual(fromAlice.stanzaId, reflection.stanzaId);

  // disco#info from alice to the component is answered.
  const info = await alice.request(xml('iq', { type: 'get', to: domain }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const identity = info.getChild('query', 'http://jabber.org/protocol/disco#info')?.getChild('identity');
  assert.equal(identity?.attrs['category'], 'component');
  assert.equal(identity?.attrs['name'], 'Switchboard');

  // A stanza with a from outside the domain is refused locally; the stream survives.
  await assert.rejects(link.send(buildMessage({ from: `mallory@${prosody.domain}`, to: room, type: 'groupchat', originId: 'evil' }, { text: 'spoof' })),
    (err: unknown) => err instanceof SendRefusedError && err.reason === 'bad_from');
  const since2 = alice.mark();
  await link.send(buildMessage({ from: puppet, to: room, type: 'groupchat', originId: 'sb-origin-2' }, { text: 'still connected' }));
  await alice.waitFor((el) => el.getChildText('body') === 'still connected', 'the message after the refused one', { since: since2 });
  assert.deepEqual(tl.statuses, ['connecting', 'online'], 'the stream never dropped');
  assert.doesNotMatch(prosody.log(), /invalid-from/);

  // A wrong secret: one clear error, no reconnect loop, and the good link is untouched.
  const wrong = makeLink(prosody, { secret: 'not-the-secret' });
  t.after(() => wrong.link.stop());
  wrong.link.start();
  await assert.rejects(wrong.link.whenOnline(), (err: unknown) => err instanceof ComponentLinkError && err.code === 'not_authorized');
  await wrong.link.finished;
  assert.deepEqual(wrong.statuses, ['connecting', 'failed']);
  assert.equal(link.status, 'online');
});
