// A private chat between an XMPP user (a stock @xmpp/client account on a real Prosody) and an
// MTProto person (a stock gramjs client), through the one app of the fidelity rig: the XMPP user
// writes to the person's puppet JID, the person answers in the private chat the message opened,
// and each side sees the other as one person (a puppet JID, a user with a name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { puppetJid } from '../../src/connectors/xmpp/puppets.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { PEER, PERSON_ID, startRig } from '../fidelity/rig.ts';
import { Api, CustomFile, bigInt, updateRecorder, type GramUpdate } from './chat-harness.ts';
import { PNG } from '../xmpp/media-rig.ts';
import { metricValue } from './harness.ts';

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

    // bob blocks her: her next chat message is dropped (she is not told); unblocked, the one after reaches him.
    const her = await (bob as unknown as { getInputEntity(id: unknown): Promise<object> }).getInputEntity(bigInt(String(aliceUser)));
    const Contacts = (Api as unknown as { contacts: Record<string, new (a: Record<string, unknown>) => object> }).contacts;
    assert.equal(await bob.invoke(new Contacts['Block']!({ id: her })), true);
    const dropped = () => metricValue(rig.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'blocked' });
    await alice.send(xml('message', { to: bobJid, type: 'chat', id: 'dm-2' }, xml('body', {}, 'are you there, bob?')));
    for (let i = 0; i < 150 && await dropped() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await dropped(), 1, 'dropped as blocked');
    assert.ok(!updates.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'are you there, bob?'), 'her message reached him while blocked');
    assert.equal(await bob.invoke(new Contacts['Unblock']!({ id: her })), true);
    await alice.send(xml('message', { to: bobJid, type: 'chat', id: 'dm-3' }, xml('body', {}, 'hello again')));
    await updates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'hello again', 15_000);
  } finally {
    await rig.close();
  }
});

test('an MTProto person finds an XMPP user he never met by her address (contacts.search, any letter case) and writes first; her answer comes in the same chat', { timeout: 120_000 }, async () => {
  const rig = await startRig();
  try {
    const { alice, bob, prosody } = rig;
    const bobJid = puppetJid({ network: 'mtproto', id: String(PERSON_ID) }, prosody.componentDomain);
    await alice.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await alice.send(xml('presence'));
    const Search = (Api as unknown as { contacts: Record<string, new (a: Record<string, unknown>) => object> }).contacts['Search']!;
    const found = await bob.invoke(new Search({ q: `xmpp:${alice.bareJid.toUpperCase()}`, limit: 5 })) as { users: Array<{ id: { toString(): string }; accessHash: unknown }> };
    const her = found.users[0];
    assert.equal(her?.id.toString(), String(puppetIdOf(`xmpp:${alice.bareJid}`)), 'her user, whatever the letter case');

    const updates = updateRecorder(bob);
    const since = alice.mark();
    await bob.sendMessage(new Api.InputPeerUser({ userId: her!.id, accessHash: her!.accessHash }), { message: 'hello alice, I found you' });
    await alice.waitFor((el) => el.name === 'message' && el.attrs['type'] === 'chat' && el.getChildText('body') === 'hello alice, I found you', 'bob\'s first message', { since, timeoutMs: 15_000 });
    await alice.send(xml('message', { to: bobJid, type: 'chat', id: 'dm-found' }, xml('body', {}, 'hi bob, found me')));
    const answer = messageOf(await updates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'hi bob, found me', 15_000));
    assert.equal(answer.peerId?.userId?.toString(), her!.id.toString(), 'the same chat');
  } finally {
    await rig.close();
  }
});

test('the profile photo an MTProto person sets from his client is his XMPP puppet\'s avatar: its vCard carries the same bytes', { timeout: 120_000 }, async () => {
  const rig = await startRig();
  try {
    const { alice, bob, prosody, roomJid } = rig;
    const Photos = (Api as unknown as { photos: Record<string, new (a: Record<string, unknown>) => object> }).photos;
    const file = await (bob as unknown as { uploadFile(p: Record<string, unknown>): Promise<unknown> }).uploadFile({ file: new CustomFile('me.png', PNG.length, '', PNG), workers: 1 });
    await bob.invoke(new Photos['UploadProfilePhoto']!({ file }));
    // His next message in the room: his puppet speaks, with the avatar the event carries.
    const since = alice.mark();
    await bob.sendMessage(PEER, { message: 'with my new face' });
    await alice.waitFor((el) => el.name === 'message' && el.attrs['from']?.startsWith(`${roomJid}/`) === true && el.getChildText('body') === 'with my new face', 'bob\'s message in the room', { since, timeoutMs: 15_000 });
    const puppet = puppetJid({ network: 'mtproto', id: String(PERSON_ID) }, prosody.componentDomain);
    let photo: string | null | undefined;
    for (let i = 0; i < 100 && !photo; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const card = (await alice.request(xml('iq', { type: 'get', to: puppet, id: `v-${i}` }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild('vCard', 'vcard-temp');
      photo = card?.getChild('PHOTO')?.getChildText('BINVAL');
    }
    assert.equal(photo, PNG.toString('base64'));
  } finally {
    await rig.close();
  }
});
