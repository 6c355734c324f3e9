// A private chat between an XMPP user (a stock @xmpp/client account on a real Prosody) and an
// MTProto person (a stock gramjs client), through the one app of the fidelity rig: the XMPP user
// writes to the person's puppet JID, the person answers in the private chat the message opened,
// and each side sees the other as one person (a puppet JID, a user with a name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { PERSON_ID, startRig } from '../fidelity/rig.ts';
import { bigInt, updateRecorder, type GramUpdate } from './chat-harness.ts';

interface RawMessage { id: number; message?: string; out?: boolean; peerId?: { className: string; userId?: { toString(): string } } }
const messageOf = (u: GramUpdate) => u['message'] as RawMessage;

test('an XMPP user and an MTProto person write privately, both ways', { timeout: 120_000 }, async () => {
  const rig = await startRig();
  try {
    const { alice, bob, prosody } = rig;
    const bobJid = puppetJid({ network: 'mtproto', id: String(PERSON_ID) }, prosody.componentDomain);
    const aliceUser = puppetIdOf(`xmpp:${alice.bareJid}`);
    const updates = updateRecorder(bob);
    // An interested, available resource (RFC 6121 §2.1.6, §4.2): the server routes chats to the bare JID to it.
    await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await alice.send(xml('presence'));

    await alice.send(xml('message', { to: bobJid, type: 'chat', id: 'dm-1' }, xml('body', {}, 'hi bob, from xmpp')));
    const got = messageOf(await updates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'hi bob, from xmpp', 15_000));
    assert.equal(got.peerId?.className, 'PeerUser');
    assert.equal(got.peerId?.userId?.toString(), String(aliceUser));
    assert.equal(got.out, false);

    const since = alice.mark();
    await bob.sendMessage(bigInt(String(aliceUser)), { message: 'hello alice, from mtproto' });
    const answer = await alice.waitFor((el) => el.name === 'message' && el.attrs['type'] === 'chat' && el.getChildText('body') === 'hello alice, from mtproto', 'bob\'s answer', { since, timeoutMs: 15_000 });
    assert.equal(answer.attrs['from']?.split('/')[0], bobJid);
    const dialogs = await bob.getDialogs();
    assert.ok(dialogs.some((d) => d.id.toString() === String(aliceUser) && d.message?.message === 'hello alice, from mtproto'), dialogs.map((d) => d.title).join(', '));
  } finally {
    await rig.close();
  }
});
