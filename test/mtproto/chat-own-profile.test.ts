// An account sets its own name and bio from its client (account.updateProfile): the accounts that
// see it are told and show it, what it sends carries it to other networks, the contact search
// finds it, and it survives a restart. Refused changes (empty or long names, a long bio) change
// nothing. Older layers get the news as updateUserName, in each layer's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { namedAs, nameUpdate } from '../../src/connectors/mtproto/chat/methods/own-profile.ts';
import { Directory, type Account } from '../../src/connectors/mtproto/chat/directory.ts';
import { AccountProfiles } from '../../src/connectors/mtproto/chat/account-profiles.ts';
import { FREED_TTL_MS, Usernames } from '../../src/connectors/mtproto/chat/usernames.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, chatClient, loginBot, rpcError, shutdown, updateRecorder, withPersonAndBot, wsEvent, type ChatClient, type GramEntity } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Account = (Api as unknown as { account: Record<string, Ctor> }).account;
const Contacts = (Api as unknown as { contacts: Record<string, Ctor> }).contacts;
const updateProfile = (client: ChatClient, fields: Record<string, string>) => client.invoke(new Account['UpdateProfile']!(fields)) as Promise<GramEntity>;

/** Bob as the bot sees him now (it was shown him among the group's participants). */
async function bobSeenBy(bot: ChatClient): Promise<GramEntity & { lastName?: string; username?: string | null }> {
  await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
  const input = await (bot as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(PERSON_ID));
  const [bob] = await bot.invoke(new Api.users.GetUsers({ id: [new Api.InputUser({ userId: input.userId, accessHash: input.accessHash })] })) as Array<GramEntity & { lastName?: string; username?: string | null }>;
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
  // To a viewer that keeps him as a contact, the name it saved him under (his username stays his).
  const saved = nameUpdate(namedAs(bob, { first: 'Bobby', last: 'B' }), codec.schemaFor(144));
  assert.deepEqual([saved['first_name'], saved['last_name'], saved['username']], ['Bobby', 'B', 'bob']);
  assert.deepEqual([nameUpdate(namedAs(bob, { first: 'Bobby', last: '' }), codec.schemaFor(144))['last_name'], namedAs(bob, undefined)], ['', bob]);
});

test('usernames: checked (taken by config.yaml, by a person of identities.yaml, by another account), taken case-insensitively, resolved, released when changed or removed', { timeout: 120_000 }, async () => {
  const files = { 'mappings/identities.yaml': 'identities:\n  - canonical: alice\n    websocket: alice\n' };
  await withPersonAndBot(async (_bridge, person, bot) => {
    const check = (client: ChatClient, username: string) => client.invoke(new Account['CheckUsername']!({ username }));
    const take = (client: ChatClient, username: string) => client.invoke(new Account['UpdateUsername']!({ username })) as Promise<GramEntity>;
    const resolve = async (client: ChatClient, username: string) => ((await client.invoke(new Contacts['ResolveUsername']!({ username }))) as { peer: { userId: { toString(): string } } }).peer.userId.toString();

    assert.equal(await check(person, 'relaybot'), false, 'the bot\'s, from config.yaml');
    assert.equal(await check(person, 'alice'), false, 'a person of identities.yaml');
    assert.equal(await check(person, 'bob_the_great'), true);
    assert.equal(await rpcError(check(person, '1abcde')), 'USERNAME_INVALID');
    assert.equal(await rpcError(check(person, 'abc')), 'USERNAME_INVALID');
    assert.equal(await rpcError(take(person, 'bob_')), 'USERNAME_INVALID');

    const botUpdates = updateRecorder(bot);
    assert.equal((await take(person, 'Bob_The_Great')).username, 'Bob_The_Great');
    await botUpdates.next((u) => u.className === 'UpdateUser' && String(u['userId']) === String(PERSON_ID));
    assert.equal(await resolve(bot, 'bob_the_great'), String(PERSON_ID), 'case-insensitive');
    assert.equal(await resolve(bot, 'bobbuilder'), String(PERSON_ID), 'the config.yaml username stays his');
    assert.equal((await bobSeenBy(bot)).username, 'Bob_The_Great');

    assert.equal(await rpcError(take(bot, 'BOB_the_great')), 'USERNAME_OCCUPIED');
    assert.equal(await rpcError(take(bot, 'bobbuilder')), 'USERNAME_OCCUPIED');
    assert.equal(await rpcError(take(person, 'bob_the_great')), 'USERNAME_NOT_MODIFIED');

    // Changed: the old one is free for anyone.
    await take(person, 'robert_tables');
    assert.equal((await take(bot, 'bob_the_great')).username, 'bob_the_great');
    assert.equal(await resolve(person, 'bob_the_great'), String(BOT_ID));
    // Removed: nobody has it any more.
    await take(person, '');
    assert.equal(await rpcError(resolve(bot, 'robert_tables')), 'USERNAME_NOT_OCCUPIED');
    assert.ok(!(await bobSeenBy(bot)).username, 'no username shown');
  }, { files });
});

test('two accounts claiming one username at once: exactly one gets it', async () => {
  const state = new LocalState().store('mtproto');
  const directory = new Directory([
    { id: 11, bot: false, firstName: 'A', phone: '+15550001', rooms: ['*'] },
    { id: 12, bot: false, firstName: 'B', phone: '+15550002', rooms: ['*'] },
  ], [], { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' });
  const profiles = new AccountProfiles(state, directory, silentLogger);
  const usernames = new Usernames(state, directory, { identityNamed: () => undefined }, profiles);
  const outcomes = await Promise.all([usernames.change(directory.account(11n)!, 'shared_name'), usernames.change(directory.account(12n)!, 'Shared_Name')]);
  assert.deepEqual([...outcomes].sort(), ['USERNAME_OCCUPIED', 'ok']);
  const holder = await usernames.holder('SHARED_NAME');
  assert.equal(holder?.id, outcomes[0] === 'ok' ? 11n : 12n);
});

test('a released username claim expires: an account cycling through names leaves no claims behind', async () => {
  let now = 1_000_000;
  const state = new LocalState(undefined, () => now).store('mtproto');
  const directory = new Directory([{ id: 11, bot: false, firstName: 'A', phone: '+15550001', rooms: ['*'] }], [], { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' });
  const profiles = new AccountProfiles(state, directory, silentLogger, () => now);
  const usernames = new Usernames(state, directory, { identityNamed: () => undefined }, profiles);
  const a = directory.account(11n)!;
  assert.equal(await usernames.change(a, 'first_name'), 'ok');
  assert.equal(await usernames.change(a, 'second_name'), 'ok');
  assert.equal(await state.get('username:first_name'), '', 'released');
  now += FREED_TTL_MS + 1;
  assert.equal(await state.get('username:first_name'), undefined, 'and gone');
  assert.equal(await state.get('username:second_name'), '11', 'the one it has stays');
});
