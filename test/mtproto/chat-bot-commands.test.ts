// A bot's commands (bots.setBotCommands and friends): by scope (default, private chats, groups,
// one chat), shown to a person as the bot's botInfo in the group's full chat and the bot's full
// user, where clients list them for "/". Bad commands are refused and change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, rpcError, serverUserHash, updateRecorder, withPersonAndBot, wsEvent, type ChatClient } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor> & { bots: Record<string, Ctor>; messages: Record<string, Ctor>; users: Record<string, Ctor> };
const cmd = (command: string, description: string) => new A['BotCommand']!({ command, description });
const scope = (name: string, fields: Record<string, unknown> = {}) => new A[name]!(fields);
const chatPeer = (id = CHAT_ID) => new Api.InputPeerChat({ chatId: bigInt(id) });

interface BotInfo { userId: { toString(): string }; commands: Array<{ command: string; description: string }> }

async function groupCommands(person: ChatClient): Promise<string[]> {
  const full = await person.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as { fullChat: { botInfo?: BotInfo[] } };
  const info = full.fullChat.botInfo?.find((b) => b.userId.toString() === String(BOT_ID));
  return info?.commands.map((c) => c.command) ?? [];
}

test('a bot\'s commands by scope: shown in the group\'s full chat and the bot\'s full user; the most specific scope wins; bad commands change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot) => {
    const set = (s: object, commands: object[], langCode = '') => bot.invoke(new A.bots['SetBotCommands']!({ scope: s, langCode, commands }));
    assert.equal(await set(scope('BotCommandScopeDefault'), [cmd('/start', 'Start'), cmd('help', 'Help')]), true);
    assert.deepEqual(await groupCommands(person), ['start', 'help'], 'the default (a leading / dropped)');

    await set(scope('BotCommandScopeChats'), [cmd('roll', 'Roll a die')]);
    assert.deepEqual(await groupCommands(person), ['roll'], 'the groups\' set over the default');
    await set(scope('BotCommandScopePeer', { peer: chatPeer() }), [cmd('lobby', 'Lobby things')]);
    assert.deepEqual(await groupCommands(person), ['lobby'], 'this group\'s own set over both');

    // The bot's full user (its private chat with the person): the default, no private-chat set.
    const botInput = await (person as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(BOT_ID));
    const full = await person.invoke(new Api.users.GetFullUser({ id: new Api.InputUser({ userId: botInput.userId, accessHash: botInput.accessHash }) })) as { fullUser: { botInfo?: BotInfo } };
    assert.deepEqual(full.fullUser.botInfo?.commands.map((c) => c.command), ['start', 'help']);

    const got = await bot.invoke(new A.bots['GetBotCommands']!({ scope: scope('BotCommandScopeChats'), langCode: '' })) as Array<{ command: string; description: string }>;
    assert.deepEqual(got.map((c) => [c.command, c.description]), [['roll', 'Roll a die']]);
    assert.equal(await bot.invoke(new A.bots['ResetBotCommands']!({ scope: scope('BotCommandScopePeer', { peer: chatPeer() }), langCode: '' })), true);
    assert.deepEqual(await groupCommands(person), ['roll'], 'reset: the groups\' set again');

    // Refused, and nothing changes.
    assert.equal(await rpcError(person.invoke(new A.bots['SetBotCommands']!({ scope: scope('BotCommandScopeDefault'), langCode: '', commands: [cmd('mine', 'Mine')] }))), 'USER_BOT_REQUIRED');
    assert.equal(await rpcError(set(scope('BotCommandScopeChats'), [cmd('Bad Cmd', 'x')])), 'BOT_COMMAND_INVALID');
    assert.equal(await rpcError(set(scope('BotCommandScopeChats'), [cmd('ok', '  ')])), 'BOT_COMMAND_DESCRIPTION_INVALID');
    assert.equal(await rpcError(set(scope('BotCommandScopeChats'), Array.from({ length: 101 }, (_, i) => cmd(`c${i}`, 'x')))), 'BOT_COMMANDS_TOO_MUCH');
    assert.equal(await rpcError(set(scope('BotCommandScopeChats'), [cmd('ok', 'x')], 'eng')), 'LANG_CODE_INVALID');
    assert.equal(await rpcError(set(scope('BotCommandScopePeer', { peer: chatPeer(4242) }), [cmd('ok', 'x')])), 'PEER_ID_INVALID');
    assert.deepEqual(await groupCommands(person), ['roll']);
  });
});

test('what a bot says of itself (bots.setBotInfo / getBotInfo): its about text and description in its full user, a new name everywhere it shows; bad input refused, nothing changed', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const setInfo = (fields: Record<string, unknown>, who = bot) => who.invoke(new A.bots['SetBotInfo']!({ langCode: '', ...fields }));
    const getInfo = () => bot.invoke(new A.bots['GetBotInfo']!({ langCode: '' })) as Promise<{ name: string; about: string; description: string }>;
    const botInput = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) });
    const fullBot = async () => {
      const full = await person.invoke(new A.users['GetFullUser']!({ id: botInput })) as { fullUser: { about?: string; botInfo?: { description?: string } } };
      return [full.fullUser.about ?? null, full.fullUser.botInfo?.description ?? null];
    };
    const first = await getInfo();
    assert.deepEqual([first.name, first.about, first.description], ['Relay Bot', '', ''], 'nothing set yet');
    assert.equal(await setInfo({ about: 'I roll dice', description: 'Line one\nLine two\u0007 ' }), true);
    assert.deepEqual(await fullBot(), ['I roll dice', 'Line one\nLine two'], 'the description keeps its line break, a control character goes');
    const info = await getInfo();
    assert.deepEqual([info.name, info.about, info.description], ['Relay Bot', 'I roll dice', 'Line one\nLine two']);

    // A new name: the person's client and WS see it.
    assert.equal(await setInfo({ name: 'Dice Bot' }), true);
    const [shown] = await person.invoke(new A.users['GetUsers']!({ id: [botInput] })) as Array<{ firstName: string }>;
    assert.equal(shown!.firstName, 'Dice Bot');
    await bot.sendMessage(-CHAT_ID, { message: 'rolled 4' });
    const sent = await wsEvent(ws, 'message', (e) => e['text'] === 'rolled 4');
    assert.equal((sent['sender'] as { name?: string }).name, 'Dice Bot');
    assert.deepEqual(await fullBot(), ['I roll dice', 'Line one\nLine two'], 'the rest kept');

    // Refused, nothing changed.
    assert.equal(await rpcError(setInfo({ about: 'x' }, person)), 'USER_BOT_REQUIRED');
    assert.equal(await rpcError(setInfo({ about: 'x', langCode: 'de' })), 'LANG_CODE_NOT_SUPPORTED');
    assert.equal(await rpcError(setInfo({ about: 'x'.repeat(121) })), 'ABOUT_TOO_LONG');
    assert.equal(await rpcError(setInfo({ description: 'x'.repeat(513) })), 'BOT_DESCRIPTION_INVALID');
    assert.equal(await rpcError(setInfo({ name: ' ' })), 'FIRST_NAME_INVALID');
    const bob = new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) });
    assert.equal(await rpcError(setInfo({ bot: bob, about: 'x' })), 'BOT_INVALID');
    const after = await getInfo();
    assert.deepEqual([after.name, after.about, after.description], ['Dice Bot', 'I roll dice', 'Line one\nLine two']);
  });
});

test('a bot\'s START button (messages.startBot): "/start <param>" to the bot privately, "/start@relaybot <param>" in a group it is in; a resend is the same message; bad starts send nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const botRec = updateRecorder(bot);
    const relay = await (person as unknown as { getInputEntity(name: string): Promise<object> }).getInputEntity('relaybot');
    const start = (peer: object, startParam: string, randomId: string, botUser: object = relay) =>
      person.invoke(new A.messages!['StartBot']!({ bot: botUser, peer, randomId: bigInt(randomId), startParam }));
    const texts = (u: { className: string; [k: string]: unknown }) => (u.className === 'UpdateNewMessage' ? (u['message'] as { message: string }).message : undefined);

    // Privately: the bot gets it from the person, in their private chat; the person's answer is the message.
    const answer = await start(relay, 'ref_42-x', '9001') as { updates: Array<{ className: string; message?: { id: number; message: string } }> };
    const mine = answer.updates.find((u) => u.className === 'UpdateNewMessage')?.message;
    assert.equal(mine?.message, '/start ref_42-x');
    const got = await botRec.next((u) => texts(u) === '/start ref_42-x');
    assert.equal(((got['message'] as { peerId: { userId: { toString(): string } } }).peerId.userId.toString()), '777000123', 'from the person, in their private chat');
    // The same random_id again: the same message, nothing sent twice.
    const again = await start(relay, 'ref_42-x', '9001') as typeof answer;
    assert.equal(again.updates.find((u) => u.className === 'UpdateNewMessage')?.message?.id, mine!.id);
    // In the group: addressed to the bot by its username, seen by everyone there (WS too); no parameter is fine.
    await start(chatPeer() as object, '', '9002');
    await botRec.next((u) => texts(u) === '/start@relaybot');
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('/start')))['text'], '/start@relaybot');

    // Refused, nothing sent: a parameter Telegram would not take, a person in the bot's place, another private chat, a chat not seen.
    assert.equal(await rpcError(start(relay, 'has space', '9003')), 'START_PARAM_INVALID');
    assert.equal(await rpcError(start(relay, 'x'.repeat(65), '9004')), 'START_PARAM_INVALID');
    assert.equal(await rpcError(start(relay, 'x', '9005', new Api.InputUserSelf() as object)), 'BOT_INVALID');
    assert.equal(await rpcError(start(chatPeer(4242) as object, 'x', '9006')), 'PEER_ID_INVALID');
    // A group the bot is not in (it sees the lobby only): adding it is the operator's.
    assert.equal(await rpcError(start(chatPeer(1002) as object, 'x', '9007')), 'CHAT_ADMIN_REQUIRED');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(botRec.all.map(texts).filter((t) => t?.startsWith('/start')), ['/start ref_42-x', '/start@relaybot'], 'each start once, no bad one');
    assert.deepEqual([...await person.getMessages(-1002, { limit: 5 })].map((m) => m.message).filter((t) => t?.startsWith('/start')), [], 'nothing in the group the bot is not in');
  }, {
    files: { 'bridges/den.yaml': 'endpoints:\n  - websocket: den\n  - mtproto: 1002\n' },
    botRooms: ['lobby'],
  });
});
