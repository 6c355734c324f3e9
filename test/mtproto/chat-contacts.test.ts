// An account's contacts: added from anyone it can name (a person of another network, another
// account), shown to it under the saved name and marked as contacts (mutual when both added each
// other); found by phone number only by their own contacts; removed again; listed as apps list
// them at start; "my contacts" in status privacy means them. Bad input is refused, nothing kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { ContactLists, MAX_BARS_HIDDEN, MAX_CONTACTS } from '../../src/connectors/mtproto/chat/contact-lists.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, chatClient, loginPerson, rpcError, serverUserHash, shutdown, updateRecorder, withPersonAndBot, withSecondSession, wsEvent, type ChatClient } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor> & { contacts: Record<string, Ctor>; users: Record<string, Ctor>; account: Record<string, Ctor> };
const CAROL_ID = 777000124;
const CAROL_PHONE = '+1 555 0101';

interface User { id: { toString(): string }; firstName?: string; lastName?: string; phone?: string; contact?: boolean; mutualContact?: boolean; status?: { className: string } }
interface Contacts { contacts: Array<{ userId: { toString(): string }; mutual: boolean }>; users: User[] }
const contactsOf = async (c: ChatClient) => {
  const r = await c.invoke(new A.contacts['GetContacts']!({ hash: bigInt(0) })) as Contacts;
  return r.contacts.map((x) => { const u = r.users.find((v) => v.id.toString() === x.userId.toString())!; return [x.userId.toString(), u.firstName, u.lastName ?? null, x.mutual]; });
};
const userAs = async (c: ChatClient, input: unknown) => ((await c.invoke(new A.users['GetUsers']!({ id: [input] }))) as User[])[0]!;

test('contacts: added from a person of another network and from an account, shown under the saved name; mutual; found by number only by their own contacts; removed; "my contacts" sees the status; bad input refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, bob, bot, ws) => {
    const C = A.contacts;
    assert.deepEqual(await contactsOf(bob), [], 'none at first');

    // alice writes from WS: bob saves her as "Ally WS".
    const rec = updateRecorder(bob);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi bob' } });
    const msg = (await rec.next((u) => u.className === 'UpdateNewChatMessage' || u.className === 'UpdateNewMessage'))['message'] as { fromId: { userId: { toString(): string } } };
    const aliceId = msg.fromId.userId.toString();
    const alice = new Api.InputUser({ userId: bigInt(aliceId), accessHash: await serverUserHash(bridge, BigInt(aliceId)) });
    const add = (who: ChatClient, id: unknown, firstName: string, lastName = '') => who.invoke(new C['AddContact']!({ id, firstName, lastName, phone: '' })) as Promise<{ users: User[] }>;
    // Her private chat offers the bar to add her or block her (not the bot's, not a group's).
    const M = (Api as unknown as { messages: Record<string, Ctor> }).messages;
    const bar = async (peer: unknown) => {
      const s = (await bob.invoke(new M['GetPeerSettings']!({ peer })) as { settings: { addContact?: boolean; blockContact?: boolean } }).settings;
      return [s.addContact ?? false, s.blockContact ?? false];
    };
    const alicePeer = new Api.InputPeerUser({ userId: bigInt(aliceId), accessHash: await serverUserHash(bridge, BigInt(aliceId)) });
    assert.deepEqual(await bar(alicePeer), [true, true]);
    assert.deepEqual(await bar(new Api.InputPeerUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) })), [false, false], 'a bot: none');
    assert.deepEqual(await bar(new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) })), [false, false], 'a group: none');
    const added = await add(bob, alice, '  Ally\n', 'WS');
    assert.deepEqual(await bar(alicePeer), [false, false], 'a contact: none');
    assert.deepEqual(added.users.map((u) => [u.id.toString(), u.firstName, u.lastName, u.contact, u.mutualContact ?? false, u.phone ?? null]), [[aliceId, 'Ally', 'WS', true, false, null]]);
    assert.deepEqual(await contactsOf(bob), [[aliceId, 'Ally', 'WS', false]]);
    // His search finds her by the name he gave her, among his own results.
    const searched = await bob.invoke(new C['Search']!({ q: 'ally', limit: 10 })) as { myResults: Array<{ userId: { toString(): string } }>; results: unknown[] };
    assert.deepEqual([searched.myResults.map((p) => p.userId.toString()), searched.results.length], [[aliceId], 0]);
    const ids = await bob.invoke(new C['GetContactIDs']!({ hash: bigInt(0) })) as number[];
    assert.deepEqual(ids.map(String), BigInt(aliceId) < 2n ** 31n ? [aliceId] : [], 'ids that fit an int');
    // Only to bob: the bot sees her under her own name.
    const seenByBot = await userAs(bot, new Api.InputUser({ userId: bigInt(aliceId), accessHash: await serverUserHash(bridge, BigInt(aliceId)) }));
    assert.deepEqual([seenByBot.firstName === 'Ally', seenByBot.contact ?? false], [false, false]);

    // Refused, nothing kept: oneself, a bot, no name, a name too long, an unknown user.
    const relayBot = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) });
    assert.equal(await rpcError(add(bob, new Api.InputUserSelf(), 'Me')), 'CONTACT_ID_INVALID');
    assert.equal(await rpcError(add(bob, relayBot, 'Relay')), 'CONTACT_ID_INVALID');
    assert.equal(await rpcError(add(bob, alice, ' \n ', '')), 'CONTACT_NAME_EMPTY');
    assert.equal(await rpcError(add(bob, alice, 'x'.repeat(65))), 'FIRST_NAME_INVALID');
    assert.equal(await rpcError(add(bob, alice, 'Ally', 'y'.repeat(65))), 'LASTNAME_INVALID');
    assert.equal(await rpcError(add(bob, new Api.InputUser({ userId: bigInt(424242), accessHash: bigInt(1) }), 'Nobody')), 'CONTACT_ID_INVALID');
    // Bots keep no contacts, as on Telegram.
    assert.equal(await rpcError(add(bot, alice, 'Ally')), 'BOT_METHOD_INVALID');
    assert.equal(await rpcError(bot.invoke(new C['GetContacts']!({ hash: bigInt(0) }))), 'BOT_METHOD_INVALID');
    assert.deepEqual(await contactsOf(bob), [[aliceId, 'Ally', 'WS', false]], 'unchanged');

    // Carol has an account: bob cannot find her by number until she has him among her contacts.
    const importCarol = () => bob.invoke(new C['ImportContacts']!({ contacts: [new A['InputPhoneContact']!({ clientId: bigInt(7), phone: CAROL_PHONE, firstName: 'Caz', lastName: '' })] })) as Promise<{ imported: Array<{ userId: { toString(): string }; clientId: { toString(): string } }>; users: User[] }>;
    assert.deepEqual((await importCarol()).imported, [], 'not found: she has not added him');
    // More than 100 in one call: the rest comes back to retry.
    const many = Array.from({ length: 101 }, (_, i) => new A['InputPhoneContact']!({ clientId: bigInt(1000 + i), phone: `+1 555 9${String(i).padStart(3, '0')}`, firstName: `N${i}`, lastName: '' }));
    const bulk = await bob.invoke(new C['ImportContacts']!({ contacts: many })) as { imported: unknown[]; retryContacts: Array<{ toString(): string }> };
    assert.deepEqual([bulk.imported.length, bulk.retryContacts.map(String)], [0, ['1100']]);
    const carol = chatClient(bridge.mtprotoPort());
    try {
      await loginPerson(bridge, carol, CAROL_PHONE);
      await carol.getDialogs();
      const bobInput = new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) });
      await add(carol, bobInput, 'Bobby');
      const found = await importCarol();
      assert.deepEqual(found.imported.map((i) => [i.userId.toString(), i.clientId.toString()]), [[String(CAROL_ID), '7']]);
      assert.deepEqual(found.users.map((u) => [u.firstName, u.contact, u.mutualContact, u.phone]), [['Caz', true, true, '15550101']], 'with the number he found her by');
      assert.equal((await userAs(carol, bobInput)).phone ?? null, null, 'added by name: no number');
      assert.deepEqual(await contactsOf(carol), [[String(PERSON_ID), 'Bobby', null, true]]);
      assert.deepEqual(await contactsOf(bob), [[aliceId, 'Ally', 'WS', false], [String(CAROL_ID), 'Caz', null, true]]);

      // "My contacts": carol (his contact) sees bob online; the bot sees "recently".
      await bob.invoke(new A.account['SetPrivacy']!({ key: new A['InputPrivacyKeyStatusTimestamp']!({}), rules: [new A['InputPrivacyValueAllowContacts']!({})] }));
      await bob.invoke(new Api.account.UpdateStatus({ offline: false }));
      assert.equal((await userAs(carol, bobInput)).status?.className, 'UserStatusOnline');
      assert.equal((await userAs(bot, new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) }))).status?.className, 'UserStatusRecently');
      const statuses = await bob.invoke(new C['GetStatuses']!({})) as Array<{ userId: { toString(): string } }>;
      assert.deepEqual(statuses.map((s) => s.userId.toString()).sort(), [aliceId, String(CAROL_ID)].sort());

      // Removed: by user (his other session is told) and by number; she shows under her own name again.
      await withSecondSession(bridge, async (second) => {
        const told = updateRecorder(second);
        const removed = await bob.invoke(new C['DeleteContacts']!({ id: [alice] })) as { users: User[] };
        assert.deepEqual(removed.users.map((u) => [u.firstName === 'Ally', u.contact ?? false]), [[false, false]]);
        const settings = await told.next((u) => u.className === 'UpdatePeerSettings' && String((u['peer'] as { userId: unknown }).userId) === aliceId);
        assert.equal((settings['settings'] as { addContact?: boolean }).addContact, true, 'the bar is back');
        // Dismissed: gone for good, on his other session too.
        assert.equal(await bob.invoke(new M['HidePeerSettingsBar']!({ peer: alicePeer })), true);
        assert.deepEqual(await bar(alicePeer), [false, false]);
        const hidden = await told.next((u) => u.className === 'UpdatePeerSettings' && String((u['peer'] as { userId: unknown }).userId) === aliceId);
        assert.equal((hidden['settings'] as { addContact?: boolean }).addContact ?? false, false);
      });
      assert.equal(await bob.invoke(new C['DeleteByPhones']!({ phones: [CAROL_PHONE] })), true);
      assert.deepEqual(await contactsOf(bob), []);
      assert.equal((await userAs(carol, bobInput)).status?.className, 'UserStatusRecently', 'no longer his contact: his status is hidden from her');
      assert.deepEqual(await contactsOf(carol), [[String(PERSON_ID), 'Bobby', null, false]], 'hers stays, no longer mutual');
    } finally {
      await shutdown(carol);
    }
    await wsEvent(ws, 'message', (e) => e['text'] === 'hi bob').catch(() => undefined);
  }, { mtprotoExtra: `    - { id: ${CAROL_ID}, phone: "${CAROL_PHONE}", firstName: Carol }` });
});

test('a contact list holds at most MAX_CONTACTS: past it nothing is added (the caller is told which), renaming and removing still work', async () => {
  const directory = new Directory([{ id: 1, bot: false, firstName: 'A', rooms: ['*'] }], [], { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' });
  const lists = new ContactLists(new LocalState().store('mtproto'), directory, silentLogger);
  const all = Array.from({ length: MAX_CONTACTS }, (_, i) => ({ user: BigInt(100 + i), first: `U${i}`, last: '' }));
  assert.equal((await lists.change(1n, all, [], 1)).saved.length, MAX_CONTACTS);
  const over = await lists.change(1n, [{ user: 5n, first: 'Five', last: '' }, { user: 100n, first: 'Renamed', last: 'X' }], [], 2);
  assert.deepEqual([over.full, over.saved], [[5n], [100n]]);
  assert.deepEqual([lists.contactOf(1n, 5n), lists.contactOf(1n, 100n)?.first], [undefined, 'Renamed']);
  assert.deepEqual((await lists.change(1n, [], [101n, 999_999n], 3)).removed, [101n], 'only what was there');
  assert.equal((await lists.listOf(1n)).length, MAX_CONTACTS - 1);
  assert.deepEqual(await lists.change(1n, [{ user: 100n, first: 'Renamed', last: 'X' }], [], 4), { saved: [], removed: [], full: [] }, 'the same name again changes nothing');
  // Dismissed bars: at most MAX_BARS_HIDDEN, the oldest go (its bar is offered again); the contacts stay.
  for (let i = 0; i <= MAX_BARS_HIDDEN; i++) assert.equal(await lists.hideBar(1n, BigInt(5_000 + i)), true);
  assert.equal(await lists.hideBar(1n, 5_001n), false, 'dismissed already');
  assert.deepEqual([lists.offersBar(1n, 5_000n), lists.offersBar(1n, 5_001n), lists.offersBar(1n, BigInt(5_000 + MAX_BARS_HIDDEN))], [true, false, false]);
  assert.equal((await lists.listOf(1n)).length, MAX_CONTACTS - 1);
});

void CHAT_ID;
