// Looking users up (users.getUsers, users.getFullUser, photos.getUserPhotos) takes a user the way
// a stock client names one: itself, a user with the access hash it was given (in an update, a
// dialog, a message's users), or a user through a message of a group it sees. A guessed id or a
// wrong hash gets nothing, as on Telegram: an account cannot list who exists by trying ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { EventFrame } from '../helpers/ws-client.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { MAX_USERS_ASKED } from '../../src/connectors/mtproto/chat/methods/users.ts';
import {
  Api, CHAT_ID, PERSON_ID, bigInt, loginPerson, rpcError, serverUserHash, updateRecorder, withChatClient,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const require = createRequire(import.meta.url);
const AllApi = (require('telegram/tl') as { Api: Record<string, new (a: Record<string, unknown>) => object> }).Api;
const InputUserFromMessage = AllApi['InputUserFromMessage']!;

const ALICE = puppetIdOf('websocket:alice');

interface UserObject { className: string; id: { toString(): string }; accessHash?: { toString(): string } }


test('users are looked up by the access hash the account was given or through a group message; a guessed id or a wrong hash gets nothing', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, person) => { await loginPerson(bridge, person); await person.getDialogs(); }, async (bridge, person, ws) => {
    const rec = updateRecorder(person);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi from alice' } });
    const message = (await rec.next((u: GramUpdate) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'hi from alice'))['message'] as GramMessage;
    assert.equal(message.fromId?.userId?.toString(), String(ALICE));
    // What the update gave the client: alice's user, with the hash a stock client keeps and uses.
    const given = await (person as unknown as { getInputEntity(id: unknown): Promise<{ accessHash: { toString(): string } }> }).getInputEntity(bigInt(String(ALICE)));
    assert.equal(given.accessHash.toString(), String(await serverUserHash(bridge, ALICE)), 'the update carried the hash the bridge checks');
    const alice = (accessHash: unknown) => new Api.InputUser({ userId: bigInt(String(ALICE)), accessHash });
    const group = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const fromMessage = (userId: bigint, msgId: number) => new InputUserFromMessage({ peer: group, msgId, userId: bigInt(String(userId)) });

    const ids = async (inputs: unknown[]) => (await person.invoke(new Api.users.GetUsers({ id: inputs })) as UserObject[]).map((u) => u.id.toString());
    assert.deepEqual(await ids([
      new Api.InputUserSelf(),
      alice(given.accessHash),
      alice(bigInt(42)), // a wrong hash
      alice(bigInt(0)), // none
      new Api.InputUser({ userId: bigInt(31337), accessHash: bigInt(0) }), // a guessed id
      fromMessage(BigInt(PERSON_ID) + 1n, message.id), // a message that is not theirs
      fromMessage(ALICE, message.id + 1000), // no such message
    ]), [String(PERSON_ID), String(ALICE)]);
    assert.deepEqual(await ids([fromMessage(ALICE, message.id)]), [String(ALICE)], 'through her message in the group');
    assert.deepEqual(await ids([new InputUserFromMessage({ peer: new Api.InputPeerChat({ chatId: bigInt(4242) }), msgId: message.id, userId: bigInt(String(ALICE)) })]), [], 'through a group it does not see');
    const past = [...Array.from({ length: MAX_USERS_ASKED }, () => alice(bigInt(42))), alice(given.accessHash)];
    assert.deepEqual(await ids(past), [], 'the inputs past MAX_USERS_ASKED are not looked at');

    const full = (id: unknown) => person.invoke(new Api.users.GetFullUser({ id })) as Promise<{ users: UserObject[] }>;
    assert.equal((await full(alice(given.accessHash))).users[0]?.id.toString(), String(ALICE));
    assert.equal((await full(fromMessage(ALICE, message.id))).users[0]?.id.toString(), String(ALICE));
    assert.equal(await rpcError(full(alice(bigInt(42)))), 'USER_ID_INVALID');
    assert.equal(await rpcError(full(fromMessage(BigInt(PERSON_ID) + 1n, message.id))), 'USER_ID_INVALID');
    const photos = (userId: unknown) => person.invoke(new Api.photos.GetUserPhotos({ userId, offset: 0, maxId: bigInt(0), limit: 10 })) as Promise<{ photos: unknown[] }>;
    assert.deepEqual((await photos(alice(given.accessHash))).photos, []);
    assert.equal(await rpcError(photos(alice(bigInt(42)))), 'USER_ID_INVALID');
    assert.equal(await rpcError(photos(new Api.InputUser({ userId: bigInt(String(ALICE)), accessHash: bigInt(0) }))), 'USER_ID_INVALID');
    // Mentions name a user the same way: with the hash given, a mention other networks see; a
    // wrong hash is refused; the server's own form (a bare id) is plain text from a client.
    const mention = (userId: unknown) => new AllApi['InputMessageEntityMentionName']!({ offset: 3, length: 5, userId });
    const sendWith = (entities: unknown[], text = 'hi alice') => person.invoke(new Api.messages.SendMessage({ peer: group, message: text, entities, randomId: bigInt(String(Date.now() * 1000 + Math.floor(Math.random() * 1000))) }));
    await sendWith([mention(alice(given.accessHash))], 'hi alice, rightly');
    const mentioned = await ws.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'hi alice, rightly') as EventFrame;
    assert.deepEqual(mentioned.event['spans'], [{ type: 'mention', offset: 3, length: 5, user: 'websocket:alice' }]);
    assert.equal(await rpcError(sendWith([mention(alice(bigInt(42)))], 'hi alice, wrongly')), 'ENTITY_MENTION_USER_INVALID');
    assert.equal(await rpcError(sendWith([mention(new Api.InputUser({ userId: bigInt(31337), accessHash: bigInt(0) }))], 'hi nobody')), 'ENTITY_MENTION_USER_INVALID');
    await sendWith([new AllApi['MessageEntityMentionName']!({ offset: 3, length: 5, userId: bigInt(String(ALICE)) })], 'hi alice, barely');
    const bare = await ws.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'hi alice, barely') as EventFrame;
    assert.equal(bare.event['spans'], undefined);
    // Nothing of the refused sends went out: the next message WS sees is the bare one's successor.
    await sendWith([], 'after');
    const after = await ws.next((f) => f.type === 'event') as EventFrame;
    assert.equal(after.event['text'], 'after');

    // The session goes on.
    assert.equal((await person.getMe()).id.toString(), String(PERSON_ID));
  });
});
