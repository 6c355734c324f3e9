// What goes wrong gets its rpc_error at once and the session goes on: logins with wrong codes,
// tokens and numbers, methods the bridge does not serve, malformed requests, bad parameters of
// every chat method, logging out, and floods (FLOOD_WAIT_X per account and method class).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  Api, BOT_ID, CHAT_ID, PERSON_PHONE, bigInt, chatClient, loginBot, loginPerson, shutdown, startChatBridge,
  type ChatBridge,
} from './chat-harness.ts';

const require = createRequire(import.meta.url);
const AllApi = (require('telegram/tl') as { Api: Record<string, Record<string, new (a?: Record<string, unknown>) => { getBytes(): Buffer }>> }).Api;

interface RpcFailure { code: number | undefined; message: string | undefined; seconds?: number }

async function failure(p: Promise<unknown>): Promise<RpcFailure> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; errorMessage?: string; seconds?: number };
    return { code: err.code, message: err.errorMessage, ...(err.seconds !== undefined ? { seconds: err.seconds } : {}) };
  }
  assert.fail('the call succeeded; expected an rpc_error');
}

const peer = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

let bridge: ChatBridge;
before(async () => {
  bridge = await startChatBridge({ mtprotoExtra: '  login: { maxAttempts: 3, resendSeconds: 60 }' });
});
after(async () => { await bridge.close(); });

test('logins: a wrong code, too many wrong codes, an unknown number, a bad bot token, a code asked for too soon', { timeout: 60_000 }, async () => {
  const client = chatClient(bridge.mtprotoPort());
  try {
    await client.connect();
    const creds = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', settings: new Api.CodeSettings({}) };
    assert.deepEqual(await failure(client.invoke(new Api.auth.SendCode({ phoneNumber: '+1 555 9999', ...creds }))), { code: 400, message: 'PHONE_NUMBER_INVALID' });
    const sent = (await client.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, ...creds }))) as { phoneCodeHash: string; type: { className: string; length: number } };
    assert.deepEqual([sent.type.className, sent.type.length], ['auth.SentCodeTypeApp', 5]);
    const floodAgain = await failure(client.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, ...creds })));
    assert.equal(floodAgain.code, 420);
    assert.ok((floodAgain.seconds ?? 0) > 50 && (floodAgain.seconds ?? 0) <= 60, `FLOOD_WAIT for the rest of resendSeconds (${floodAgain.seconds})`);
    const code = await bridge.pendingCode(PERSON_PHONE);
    assert.match(code ?? '', /^\d{5}$/);
    const wrong = String((Number(code) + 1) % 100_000).padStart(5, '0');
    const signIn = (phoneCode: string, hash = sent.phoneCodeHash) => client.invoke(new Api.auth.SignIn({ phoneNumber: PERSON_PHONE, phoneCodeHash: hash, phoneCode }));
    assert.deepEqual(await failure(signIn(code!, 'not-the-hash')), { code: 400, message: 'PHONE_CODE_EXPIRED' }, 'a code belongs to its sendCode');
    assert.deepEqual(await failure(signIn(wrong)), { code: 400, message: 'PHONE_CODE_INVALID' });
    assert.deepEqual(await failure(signIn(wrong)), { code: 400, message: 'PHONE_CODE_INVALID' });
    assert.deepEqual(await failure(signIn(wrong)), { code: 400, message: 'PHONE_CODE_INVALID' }, 'the third wrong try voids the code');
    assert.deepEqual(await failure(signIn(code!)), { code: 400, message: 'PHONE_CODE_EXPIRED' }, 'even the right code is void now');
    assert.equal(await bridge.pendingCode(PERSON_PHONE), undefined);
    assert.deepEqual(await failure(client.invoke(new Api.auth.ImportBotAuthorization({ flags: 0, apiId: 1, apiHash: 'x', botAuthToken: `${BOT_ID}:sb_wrong` }))), { code: 400, message: 'ACCESS_TOKEN_INVALID' });
    assert.deepEqual(await failure(client.getMe()), { code: 401, message: 'AUTH_KEY_UNREGISTERED' }, 'nobody is logged in after all that');
  } finally {
    await shutdown(client);
  }
});

test('a code is single use: a second signIn with it fails, the session stays logged in', { timeout: 60_000 }, async () => {
  const bridgeForCode = await startChatBridge();
  const client = chatClient(bridgeForCode.mtprotoPort());
  try {
    await client.connect();
    const creds = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', settings: new Api.CodeSettings({}) };
    const sent = (await client.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, ...creds }))) as { phoneCodeHash: string };
    const code = await bridgeForCode.pendingCode(PERSON_PHONE);
    const signIn = () => client.invoke(new Api.auth.SignIn({ phoneNumber: PERSON_PHONE, phoneCodeHash: sent.phoneCodeHash, phoneCode: code }));
    const auth = (await signIn()) as { user: { firstName: string } };
    assert.equal(auth.user.firstName, 'Bob');
    assert.deepEqual(await failure(signIn()), { code: 400, message: 'PHONE_CODE_EXPIRED' });
    assert.equal((await client.getMe()).firstName, 'Bob');
  } finally {
    await shutdown(client);
    await bridgeForCode.close();
  }
});

test('unknown methods, malformed requests and bad parameters get rpc_errors at once; the session goes on', { timeout: 60_000 }, async () => {
  const bot = chatClient(bridge.mtprotoPort());
  try {
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const alive = async () => assert.equal((await bot.getMe()).id.toString(), String(BOT_ID));

    // A method of the schema the bridge does not serve.
    const t0 = Date.now();
    assert.deepEqual(await failure(bot.invoke(new AllApi['stickers']!['CheckShortName']!({ shortName: 'switchboard' }))), { code: 400, message: 'METHOD_NOT_IMPLEMENTED' });
    assert.ok(Date.now() - t0 < 2_000, 'answered at once');
    await alive();

    // Malformed: a stock request whose serialized bytes are cut short (by whole 4-byte words: a
    // message body of another length is a broken frame, and the connection is closed for it).
    const Send = Api.messages.SendMessage as unknown as new (a: Record<string, unknown>) => { getBytes(): Buffer };
    const truncated = new Send({ peer: peer(), message: 'cut', randomId: bigInt(42) });
    const whole = truncated.getBytes();
    truncated.getBytes = () => whole.subarray(0, whole.length - 8);
    assert.deepEqual(await failure(bot.invoke(truncated)), { code: 400, message: 'INPUT_FETCH_ERROR' });
    await alive();

    // Bad parameters.
    const send = (fields: Record<string, unknown>) => bot.invoke(new Api.messages.SendMessage({ peer: peer(), randomId: bigInt(Math.floor(Math.random() * 1e9)), message: 'x', ...fields }));
    assert.deepEqual(await failure(send({ peer: new Api.InputPeerChat({ chatId: bigInt(4242) }) })), { code: 400, message: 'PEER_ID_INVALID' });
    assert.deepEqual(await failure(send({ message: '   ' })), { code: 400, message: 'MESSAGE_EMPTY' });
    assert.deepEqual(await failure(send({ message: 'y'.repeat(4097) })), { code: 400, message: 'MESSAGE_TOO_LONG' });
    assert.deepEqual(await failure(send({ replyTo: new (AllApi['InputReplyToMessage'] as unknown as new (a: Record<string, unknown>) => object)({ replyToMsgId: 999_999 }) })), { code: 400, message: 'MESSAGE_ID_INVALID' });
    // A bot may not schedule (as on Telegram; people may: chat-scheduled.test.ts); sending as another is not served.
    assert.deepEqual(await failure(send({ message: 'at midnight', scheduleDate: Math.floor(Date.now() / 1000) + 3600 })), { code: 400, message: 'SCHEDULE_BOT_NOT_ALLOWED' });
    assert.deepEqual(await failure(send({ message: 'as the group', sendAs: peer() })), { code: 400, message: 'SEND_AS_PEER_INVALID' });
    const recent = await bot.getMessages(-CHAT_ID, { limit: 20 });
    assert.ok(!recent.some((m) => m.message === 'at midnight' || m.message === 'as the group'), 'nothing was sent');
    assert.deepEqual(await failure(bot.invoke(new Api.messages.GetHistory({ peer: new Api.InputPeerChat({ chatId: bigInt(1) }), limit: 10, offsetId: 0, offsetDate: 0, addOffset: 0, maxId: 0, minId: 0, hash: bigInt(0) }))), { code: 400, message: 'PEER_ID_INVALID' });
    assert.deepEqual(await failure(bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(4242) }))), { code: 400, message: 'CHAT_ID_INVALID' });
    assert.deepEqual(await failure(bot.invoke(new Api.users.GetFullUser({ id: new (AllApi['InputUser'] as unknown as new (a: Record<string, unknown>) => object)({ userId: bigInt(31337), accessHash: bigInt(0) }) }))), { code: 400, message: 'USER_ID_INVALID' });
    assert.deepEqual(await failure(bot.invoke(new Api.upload.GetFile({ location: new Api.InputDocumentFileLocation({ id: bigInt(1), accessHash: bigInt(2), fileReference: Buffer.alloc(0), thumbSize: '' }), offset: bigInt(0), limit: 4096 }))), { code: 400, message: 'LOCATION_INVALID' });
    assert.deepEqual(await failure(bot.invoke(new (AllApi['upload']!['SaveFilePart']!)({ fileId: bigInt(7), filePart: 0, bytes: Buffer.alloc(512 * 1024 + 1) }))), { code: 400, message: 'FILE_PART_TOO_BIG' });
    assert.deepEqual(await failure(bot.invoke(new (AllApi['upload']!['SaveFilePart']!)({ fileId: bigInt(7), filePart: -1, bytes: Buffer.alloc(10) }))), { code: 400, message: 'FILE_PART_INVALID' });
    const inputFile = new (AllApi['InputFile'] as unknown as new (a: Record<string, unknown>) => object)({ id: bigInt(8), parts: 2, name: 'a.txt', md5Checksum: '' });
    const media = new (AllApi['InputMediaUploadedDocument'] as unknown as new (a: Record<string, unknown>) => object)({ file: inputFile, mimeType: 'text/plain', attributes: [] });
    assert.deepEqual(await failure(bot.invoke(new (AllApi['messages']!['SendMedia']!)({ peer: peer(), media, message: '', randomId: bigInt(9) }))), { code: 400, message: 'FILE_PART_0_MISSING' });

    // Someone else's message: no edit, no delete.
    const person = chatClient(bridge.mtprotoPort());
    try {
      await loginPerson(bridge, person);
      await person.getDialogs();
      const theirs = await person.sendMessage(-CHAT_ID, { message: 'mine, not the bot\'s' });
      assert.deepEqual(await failure(bot.invoke(new (AllApi['messages']!['EditMessage']!)({ peer: peer(), id: theirs.id, message: 'hijacked' }))), { code: 400, message: 'MESSAGE_AUTHOR_REQUIRED' });
      assert.deepEqual(await failure(bot.deleteMessages(-CHAT_ID, [theirs.id], { revoke: true })), { code: 400, message: 'MESSAGE_DELETE_FORBIDDEN' });
      assert.deepEqual(await failure(bot.invoke(new Api.messages.SendReaction({ peer: peer(), msgId: theirs.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' }), new Api.ReactionEmoji({ emoticon: '👎' }), new Api.ReactionEmoji({ emoticon: '🎉' }), new Api.ReactionEmoji({ emoticon: '🔥' })] }))), { code: 400, message: 'REACTION_INVALID' });
    } finally {
      await shutdown(person);
    }
    await alive();
  } finally {
    await shutdown(bot);
  }
});

test('a flood of sends gets FLOOD_WAIT_X; reads and other accounts go on', { timeout: 60_000 }, async () => {
  // Tight limits for sends so that a flood is quick to provoke; reads keep their defaults.
  const flooded = await startChatBridge({ mtprotoExtra: '  flood: { send: { perSecond: 0.5, burst: 6 } }' });
  const bot = chatClient(flooded.mtprotoPort());
  const person = chatClient(flooded.mtprotoPort());
  try {
    await loginBot(flooded, bot);
    await loginPerson(flooded, person);
    await bot.getDialogs();
    await person.getDialogs();
    let flood: RpcFailure | undefined;
    let sent = 0;
    for (let i = 0; i < 20 && flood === undefined; i++) {
      try {
        await bot.sendMessage(-CHAT_ID, { message: `flood ${i}` });
        sent++;
      } catch (e) {
        flood = { code: (e as { code?: number }).code, message: (e as { errorMessage?: string }).errorMessage, seconds: (e as { seconds?: number }).seconds };
      }
    }
    assert.ok(flood !== undefined, 'the burst ran out');
    assert.equal(flood.code, 420);
    assert.equal(flood.message, 'FLOOD');
    assert.ok((flood.seconds ?? 0) >= 1 && (flood.seconds ?? 0) <= 2, `FLOOD_WAIT_${flood.seconds}`);
    assert.ok(sent <= 6, `no more than the burst passed (${sent})`);
    // Reads are another class; the person is another account.
    assert.equal((await bot.getMessages(-CHAT_ID, { limit: 1 })).length, 1);
    assert.equal((await person.sendMessage(-CHAT_ID, { message: 'not flooding' })).message, 'not flooding');
  } finally {
    await shutdown(bot);
    await shutdown(person);
    await flooded.close();
  }
});

test('auth.logOut: the key is logged out at once, its session gets no updates, the account logs in again', { timeout: 60_000 }, async () => {
  const bot = chatClient(bridge.mtprotoPort());
  try {
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const out = (await bot.invoke(new Api.auth.LogOut())) as { className: string };
    assert.equal(out.className, 'auth.LoggedOut');
    assert.deepEqual(await failure(bot.getMe()), { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
    assert.deepEqual(await failure(bot.invoke(new Api.updates.GetState())), { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
    await bot.invoke(new Api.auth.ImportBotAuthorization({ flags: 0, apiId: 1, apiHash: 'x', botAuthToken: bridge.botToken }));
    assert.equal((await bot.getMe()).id.toString(), String(BOT_ID));
  } finally {
    await shutdown(bot);
  }
});
