// Steps of the room exchange that every XMPP server the suite runs (Prosody: exchange.test.ts;
// ejabberd: ejabberd-interop.test.ts) must pass alike.
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { TestClient } from '../helpers/ws-client.ts';
import type { TestUser } from '../helpers/xmpp-client.ts';

const SID = 'urn:xmpp:sid:0';

/**
 * XMPP -> WS: alice's correction of her message `a1` (XEP-0308, by id), her reaction to carol's
 * message and her reply to it (XEP-0461, by the room's stanza-id; the XEP-0428 fallback stripped)
 * reach carol once each, aimed at the right canonical events.
 */
export async function aliceChangesReachCarol(alice: TestUser, carol: TestClient, room: string,
  ids: { aliceEventId: string; carolEventId: unknown; carolStanzaId: string }): Promise<void> {
  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a2' }, xml('body', {}, 'hi carol!'), xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'a1' })));
  const [e2] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e2?.event.kind, e2?.event['target'], e2?.event['text']], ['edit', ids.aliceEventId, 'hi carol!']);

  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a3' }, xml('reactions', { xmlns: 'urn:xmpp:reactions:0', id: ids.carolStanzaId }, xml('reaction', {}, '👍'))));
  const [e3] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e3?.event.kind, e3?.event['target'], e3?.event['reactions']], ['reaction', ids.carolEventId, ['👍']]);

  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'a4' }, xml('body', {}, '> Carol:\n> hello world\nindeed'),
    xml('reply', { xmlns: 'urn:xmpp:reply:0', id: ids.carolStanzaId, to: `${room}/Carol` }),
    xml('fallback', { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:reply:0' }, xml('body', { start: '0', end: '23' }))));
  const [e4] = await carol.collectEvents(1, 10_000);
  assert.deepEqual([e4?.event.kind, e4?.event['text'], e4?.event['replyTo']], ['message', 'indeed', ids.carolEventId]);
}

/** What the room sent alice, one message a line with its ids: says, on a failure, whether a stanza came twice or an id map entry was wrong. */
export function roomLog(alice: TestUser): string {
  return alice.stanzas.filter((el) => el.name === 'message').map((el) =>
    `${el.attrs['from']} id=${el.attrs['id']} origin-id=${el.getChild('origin-id', SID)?.attrs['id']} stanza-id=${el.getChild('stanza-id', SID)?.attrs['id']} ${el.getChildText('body') ?? ''}`).join('\n');
}

/**
 * WS -> XMPP: carol's edit of her message, reaction to alice's, reply to it and retraction of her
 * own reach the room from carol's puppet, each naming the id XMPP clients know the target by
 * (XEP-0308: the id attribute, here carol's origin-id; XEP-0444, 0461, 0424: the room's stanza-id).
 * Only carol's stanzas are looked at: alice's own reflections can still be on their way and carry
 * the same elements.
 */
export async function carolChangesReachAlice(alice: TestUser, carol: TestClient, room: string,
  ids: { carolEventId: unknown; carolOriginId: string; carolStanzaId: string; aliceEventId: string; aliceStanzaId: string }): Promise<void> {
  const fromCarolPuppet = (el: Element): boolean => el.name === 'message' && el.attrs['from'] === `${room}/Carol`;
  const since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ids.carolEventId, text: 'hello there' } });
  const edit = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('replace', 'urn:xmpp:message-correct:0') !== undefined, 'the correction', { since });
  assert.equal(edit.getChild('replace', 'urn:xmpp:message-correct:0')?.attrs['id'], ids.carolOriginId, 'XEP-0308 points at the id attribute');
  assert.equal(edit.getChildText('body'), 'hello there');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: ids.aliceEventId, reactions: ['🎉'] } });
  const reaction = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('reactions', 'urn:xmpp:reactions:0') !== undefined, 'the reaction', { since });
  assert.equal(reaction.getChild('reactions', 'urn:xmpp:reactions:0')?.attrs['id'], ids.aliceStanzaId, roomLog(alice));
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'yes', replyTo: ids.aliceEventId } });
  const reply = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('reply', 'urn:xmpp:reply:0') !== undefined, 'the reply', { since });
  assert.equal(reply.getChild('reply', 'urn:xmpp:reply:0')?.attrs['id'], ids.aliceStanzaId, roomLog(alice));
  assert.equal(reply.getChild('reply', 'urn:xmpp:reply:0')?.attrs['to'], `${room}/Alice`, 'XEP-0461: the author\'s occupant JID');
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ids.carolEventId } });
  const retract = await alice.waitFor((el) => fromCarolPuppet(el) && el.getChild('retract', 'urn:xmpp:message-retract:1') !== undefined, 'the retraction', { since });
  assert.equal(retract.getChild('retract', 'urn:xmpp:message-retract:1')?.attrs['id'], ids.carolStanzaId, roomLog(alice));
}
