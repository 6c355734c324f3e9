// An account sets its own name and bio from its client (account.updateProfile): the accounts that
// see it are told and show it, what it sends carries it to other networks, the contact search
// finds it, and it survives a restart. Refused changes (empty or long names, a long bio) change
// nothing. Older layers get the news as updateUserName, in each layer's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { nameUpdate } from '../../src/connectors/mtproto/chat/methods/own-profile.ts';
import type { Account } from '../../src/connectors/mtproto/chat/directory.ts';
import { Api, CHAT_ID, PERSON_ID, bigInt, chatClient, loginBot, rpcError, shutdown, updateRecorder, withPersonAndBot, wsEvent, type ChatClient, type GramEntity } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Account = (Api as unknown as { account: Record<string, Ctor> }).account;
const Contacts = (Api as unknown as { contacts: Record<string, Ctor> }).contacts;
const updateProfile = (client: ChatClient, fields: Record<string, string>) => client.invoke(new Account['UpdateProfile']!(fields)) as Promise<GramEntity>;

/** Bob as the bot sees him now (it was shown him among the group's participants). */
async function bobSeenBy(bot: ChatClient): Promise<GramEntity & { lastName?: string }> {
  await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
  const input = await (bot as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(PERSON_ID));
  const [bob] = await bot.invoke(new Api.users.GetUsers({ id: [new Api.InputUser({ userId: input.userId, accessHash: input.accessHash })] })) as Array<GramEntity & { lastName?: string }>;
  return bob!;
}

async function aboutOf(bot: ChatClient): Promise<string | undefined> {
  const input = await (bot as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(PERSON_ID));
  const full = await bot.invoke(new Api.users.GetFullUser({ id: new Api.InputUser({ userId: input.userId, accessHash: input.accessHash }) })) as { fullUser: { about?: string | null } };
  return full.fullUser.about ?? undefined; // gramjs reads an absent field as null
}

test('an account renames itself: told to the accounts that see it, shown by them, carried to other networks, found by the search, kept across a restart; bad names change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const botUpdates = updateRecorder(bot);
    const me = await updateProfile(person, { firstName: 'Robert', lastName: 'Tables', about: 'bridging\nthings' });
    assert.equal(me.firstName, 'Robert');
    assert.equal((me as { lastName?: string }).lastName, 'Tables');
    assert.equal(me.self, true, 'the answer is the account itself');
    // The bot, in a group with bob, is told (updateUser in its layer).
    await botUpdates.next((u) => u.className === 'UpdateUser' && String(u['userId']) === String(PERSON_ID));
    const bob = await bobSeenBy(bot);
    assert.equal(bob.firstName, 'Robert');
    assert.equal(bob.lastName, 'Tables');
    assert.equal(await aboutOf(bot), 'bridging things', 'a line break in the bio becomes a space');

    // Other networks: what bob sends carries his new name.
    await person.sendMessage(-CHAT_ID, { message: 'by any other name' });
    const sent = await wsEvent(ws, 'message', (e) => e['text'] === 'by any other name');
    assert.match(String((sent['sender'] as { name?: string }).name), /^Robert Tables\b/);

    // The contact search finds him by his new name.
    const found = await bot.invoke(new Contacts['Search']!({ q: 'robert', limit: 10 })) as { users: GramEntity[] };
    assert.deepEqual(found.users.map((u) => u.id.toString()), [String(PERSON_ID)]);

    // Only the bio changes: the names stay; an empty bio is none.
    await updateProfile(person, { about: '' });
    assert.equal(await aboutOf(bot), undefined);
    assert.equal((await bobSeenBy(bot)).firstName, 'Robert');

    // Refused, and nothing changes: an empty first name, names or a bio too long.
    assert.equal(await rpcError(updateProfile(person, { firstName: '  \n ' })), 'FIRST_NAME_INVALID');
    assert.equal(await rpcError(updateProfile(person, { firstName: 'x'.repeat(65) })), 'FIRST_NAME_INVALID');
    assert.equal(await rpcError(updateProfile(person, { firstName: 'Bobby', lastName: 'y'.repeat(65) })), 'LASTNAME_INVALID');
    assert.equal(await rpcError(updateProfile(person, { firstName: 'Bobby', about: 'z'.repeat(71) })), 'ABOUT_TOO_LONG');
    // 64 characters (emoji count as one each) are fine.
    const long = '🙂'.repeat(64);
    assert.equal((await updateProfile(person, { firstName: long })).firstName, long);
    await updateProfile(person, { firstName: 'Robert' });
    const after = await bobSeenBy(bot);
    assert.equal(after.firstName, 'Robert');
    assert.equal(after.lastName, 'Tables');
    assert.equal(await aboutOf(bot), undefined);

    // Kept across a restart (on the embedded defaults: the state file).
    await bridge.restart();
    const again = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, again);
      const restored = await bobSeenBy(again);
      assert.equal(restored.firstName, 'Robert');
      assert.equal(restored.lastName, 'Tables');
    } finally {
      await shutdown(again);
    }
  });
});

test('before layer 152 a new name is updateUserName: the username a string up to layer 145, a vector of usernames from 148', () => {
  const codec = new LayeredCodec();
  const bob: Account = { id: 777000123n, bot: false, firstName: 'Robert', lastName: undefined, username: 'bob', phone: undefined, tokenHash: undefined, rooms: undefined };
  for (const layer of [140, 144, 145]) {
    const update = nameUpdate(bob, codec.schemaFor(layer));
    assert.deepEqual({ ...update }, { _: 'updateUserName', user_id: 777000123n, first_name: 'Robert', last_name: '', username: 'bob' }, `layer ${layer}`);
    assert.ok(codec.encode(layer, update).length > 0);
  }
  for (const layer of [148, 150]) {
    const update = nameUpdate(bob, codec.schemaFor(layer));
    assert.deepEqual(update['usernames'], [{ _: 'username', editable: true, active: true, username: 'bob' }], `layer ${layer}`);
    assert.ok(codec.encode(layer, update).length > 0);
    assert.deepEqual(nameUpdate({ ...bob, username: undefined }, codec.schemaFor(layer))['usernames'], []);
  }
});
