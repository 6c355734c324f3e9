// config.yaml's `mtproto.accounts` reloaded in a running app (SIGHUP: app.reload() after the
// config tree's config.yaml changed), seen from stock gramjs clients: an account added logs in at
// once and chats; one removed has its sessions ended (401 on the next call, nothing published) and
// cannot log in, its groups' members are told it left; a bot's rotated token ends the old login
// and the new token logs in; rooms narrowed and widened move groups out of and into its set (its
// groups' members told, sends refused and allowed); the moderator flag and names follow on open
// sessions; a config.yaml with a bad accounts entry changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mtprotoOf } from '../helpers/app.ts';
import { generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { authKeyId } from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import {
  Api, BOT_ID, CHAT_ID, bigInt, PERSON_ID, PERSON_PHONE, WS_TOKEN, chatClient, loginBot, loginPerson, rpcError, shutdown, startChatBridge, updateRecorder, withPersonAndBot, wsEvent,
  type ChatBridge, type ChatClient, type GramUpdate,
} from './chat-harness.ts';

const LOBBY = -CHAT_ID; // gramjs' id of a basic group
const OPS_ID = 1002;
const OPS = -OPS_ID;
const OPS_FILE = { 'bridges/ops.yaml': `endpoints:\n  - websocket: ops\n  - mtproto: ${OPS_ID}\n` };

interface ServiceMessage { className: string; peerId?: { chatId?: { toString(): string } }; action?: { className: string; users?: Array<{ toString(): string }>; userId?: { toString(): string } } }

/** The person's line of the harness's config.yaml. */
const PERSON_LINE = /^ {4}- \{ id: 777000123,.*\}$/m;
const BOT_LINE = /^ {4}- \{ id: 5001,.*\}$/m;

/** Rewrites config.yaml (`edit`) and reloads as SIGHUP does; answers the outcome once the MTProto clients were told. */
async function reloadConfig(bridge: ChatBridge, edit: (yaml: string) => string): Promise<Awaited<ReturnType<ChatBridge['app']['reload']>>> {
  const file = bridge.tree.configFile;
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, 'the test changes config.yaml');
  bridge.tree.write('config.yaml', after);
  const outcome = await bridge.app.reload();
  await mtprotoOf(bridge.app)!.reloaded;
  return outcome;
}

async function reloadOk(bridge: ChatBridge, edit: (yaml: string) => string): Promise<void> {
  const outcome = await reloadConfig(bridge, edit);
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  if (!outcome.ok) return;
  assert.deepEqual([outcome.applied, outcome.needsRestart], [['mtproto.accounts'], []], 'accounts are put in force, no restart named');
}

const addAccount = (line: string) => (yaml: string) => yaml.replace(PERSON_LINE, (m) => `${m}\n    - ${line}`);

function serviceIn(chatId: number, action: string): (u: GramUpdate) => boolean {
  return (u) => {
    const m = u['message'] as ServiceMessage | undefined;
    return u.className === 'UpdateNewMessage' && m?.className === 'MessageService' && m.peerId?.chatId?.toString() === String(chatId) && m.action?.className === action;
  };
}

async function metric(bridge: ChatBridge, name: string): Promise<string> {
  return (await bridge.app.registry.metrics()).split('\n').filter((l) => l.startsWith(name)).join('\n');
}

test('a bot added by a reload logs in at once and chats with a WS client both ways', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, _bot, ws) => {
    const token = generateBotToken(5002);
    const early = chatClient(bridge.mtprotoPort());
    try {
      await early.connect();
      assert.equal(await rpcError(early.invoke(new Api.auth.ImportBotAuthorization({ flags: 0, apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', botAuthToken: token }))), 'ACCESS_TOKEN_INVALID', 'not provisioned yet');
    } finally {
      await shutdown(early);
    }
    const updates = updateRecorder(person);
    await reloadOk(bridge, addAccount(`{ id: 5002, bot: true, firstName: Night Bot, username: nightbot, tokenHash: "${hashBotToken(token)}", rooms: [lobby] }`));

    // Its group is its group: the members are told it was added.
    const told = await updates.next(serviceIn(CHAT_ID, 'MessageActionChatAddUser'));
    assert.deepEqual((told['message'] as ServiceMessage).action?.users?.map(String), ['5002']);

    const added = chatClient(bridge.mtprotoPort());
    try {
      await added.start({ botAuthToken: token, onError: (err: unknown) => { throw err; } });
      const me = await added.getMe() as unknown as { id: { toString(): string }; firstName: string; bot: boolean };
      assert.deepEqual([me.id.toString(), me.firstName, me.bot], ['5002', 'Night Bot', true]);
      const dialogs = await added.getDialogs();
      assert.deepEqual([...dialogs].map((d) => d.id.toString()), [String(LOBBY)], 'its rooms: the lobby');
      await added.sendMessage(LOBBY, { message: 'night bot says hi' });
      const got = await wsEvent(ws, 'message', (e) => e['text'] === 'night bot says hi');
      assert.equal((got['sender'] as { id: string }).id, '5002');
      const hears = updateRecorder(added);
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi night bot' } });
      await hears.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as { message?: string }).message === 'hi night bot');
      // The others see it as a user of the group.
      const full = await person.invoke(new Api.messages.GetFullChat({ chatId: BigInt(CHAT_ID) as unknown as never })) as { users: Array<{ id: { toString(): string }; firstName?: string }> };
      assert.ok(full.users.some((u) => u.id.toString() === '5002' && u.firstName === 'Night Bot'), 'a participant of the lobby');
    } finally {
      await shutdown(added);
    }
    assert.match(await metric(bridge, 'switchboard_mtproto_account_changes_total'), /change="added"\} 1/);
  });
});

test('a person added by a reload logs in with the code the admin passes on', { timeout: 60_000 }, async () => {
  const bridge = await startChatBridge();
  const client = chatClient(bridge.mtprotoPort());
  try {
    await client.connect();
    const sendCode = () => client.invoke(new Api.auth.SendCode({ phoneNumber: '+1 555 0199', apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', settings: new Api.CodeSettings({}) }));
    assert.equal(await rpcError(sendCode()), 'PHONE_NUMBER_INVALID', 'not provisioned yet');
    await reloadOk(bridge, addAccount('{ id: 777000199, phone: "+1 555 0199", firstName: Carol, rooms: [lobby] }'));
    await loginPerson(bridge, client, '+1 555 0199');
    const me = await client.getMe() as unknown as { id: { toString(): string }; firstName: string };
    assert.deepEqual([me.id.toString(), me.firstName], ['777000199', 'Carol']);
    await client.getDialogs();
    await client.sendMessage(LOBBY, { message: 'carol is in' });
  } finally {
    await shutdown(client);
    await bridge.close();
  }
});

test('a person removed by a reload: his session gets 401 on its next call, publishes nothing, cannot log in again, and the group is told he left', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const said = await person.sendMessage(LOBBY, { message: 'before my removal' });
    const botSees = updateRecorder(bot);
    const personSees = updateRecorder(person);
    await reloadOk(bridge, (yaml) => yaml.replace(PERSON_LINE, '').replace(/\n\n/g, '\n'));

    const left = await botSees.next(serviceIn(CHAT_ID, 'MessageActionChatDeleteUser'));
    assert.equal((left['message'] as ServiceMessage).action?.userId?.toString(), String(PERSON_ID), 'the member who left: the person');
    assert.equal(await rpcError(person.sendMessage(LOBBY, { message: 'after my removal' })), 'AUTH_KEY_UNREGISTERED');
    assert.equal(await rpcError(person.invoke(new Api.updates.GetState())), 'AUTH_KEY_UNREGISTERED');
    // No more updates reach him: the bot's message after the removal is not pushed to his session.
    await bot.sendMessage(LOBBY, { message: 'the bot after the removal' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'the bot after the removal');
    assert.equal(personSees.all.some((u) => (u['message'] as { message?: string } | undefined)?.message === 'the bot after the removal'), false);
    // Nothing he tried reached WS: the bot's message was the next thing there (checked above), and nothing after it.
    assert.equal(ws.events.some((e) => e.event['text'] === 'after my removal'), false);
    // What he said stays, its sender shown as Telegram shows a deleted account.
    const history = await bot.invoke(new Api.messages.GetHistory({ peer: new Api.InputPeerChat({ chatId: BigInt(CHAT_ID) as unknown as never }), limit: 20 })) as { messages: Array<{ id: number }>; users: Array<{ id: { toString(): string }; deleted?: boolean; firstName?: string }> };
    assert.ok(history.messages.some((m) => m.id === said.id));
    const shown = history.users.find((u) => u.id.toString() === String(PERSON_ID));
    assert.deepEqual([shown?.deleted, shown?.firstName ?? undefined], [true, undefined], 'a deleted account');
    // What was stored of his login is gone (a restart of any instance finds nothing to bring back).
    const key = (person as unknown as { session: { getAuthKey(dc: number): { getKey(): Buffer | undefined } | undefined } }).session.getAuthKey(2)?.getKey();
    assert.ok(key !== undefined);
    const state = chatState(bridge.app.bus.state(STATE_NAMESPACE));
    assert.equal(await state.get(`auth:${authKeyIdHex(authKeyId(key))}`), undefined, 'his authorization is deleted');
    // He cannot log in again.
    const again = chatClient(bridge.mtprotoPort());
    try {
      await again.connect();
      assert.equal(await rpcError(again.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', settings: new Api.CodeSettings({}) }))), 'PHONE_NUMBER_INVALID');
    } finally {
      await shutdown(again);
    }
    // Nor does his old login come back with his account: provisioned again, his old session is still ended.
    await reloadOk(bridge, (yaml) => yaml.replace(BOT_LINE, (m) => `${m}\n    - { id: ${PERSON_ID}, phone: "${PERSON_PHONE}", firstName: Bob, lastName: Builder, username: bobbuilder }`));
    assert.equal(await rpcError(person.invoke(new Api.updates.GetState())), 'AUTH_KEY_UNREGISTERED');
    assert.match(await metric(bridge, 'switchboard_mtproto_account_changes_total'), /change="removed"\} 1/);
  });
});

test('a bot token rotated by a reload: the old login ends (401), the old token is refused, the new one logs in as the same bot', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const token = generateBotToken(BOT_ID);
    const oldSees = updateRecorder(bot);
    await reloadOk(bridge, (yaml) => yaml.replace(hashBotToken(bridge.botToken), hashBotToken(token)));
    // Its updates stop at once: the person's message after the rotation is not pushed to the old login.
    await person.sendMessage(LOBBY, { message: 'after the rotation' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'after the rotation');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(oldSees.all.some((u) => (u['message'] as { message?: string } | undefined)?.message === 'after the rotation'), false, 'no update for the ended login');
    assert.equal(await rpcError(bot.sendMessage(LOBBY, { message: 'old token speaking' })), 'AUTH_KEY_UNREGISTERED');
    const old = chatClient(bridge.mtprotoPort());
    const renewed = chatClient(bridge.mtprotoPort());
    try {
      await old.connect();
      assert.equal(await rpcError(old.invoke(new Api.auth.ImportBotAuthorization({ flags: 0, apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', botAuthToken: bridge.botToken }))), 'ACCESS_TOKEN_INVALID');
      await renewed.start({ botAuthToken: token, onError: (err: unknown) => { throw err; } });
      assert.equal((await renewed.getMe() as unknown as { id: { toString(): string } }).id.toString(), String(BOT_ID));
      await renewed.getDialogs();
      await renewed.sendMessage(LOBBY, { message: 'new token speaking' });
      const got = await wsEvent(ws, 'message');
      assert.equal(got['text'], 'new token speaking', 'the first thing WS gets after the rotation: nothing of the old login');
    } finally {
      await shutdown(old);
      await shutdown(renewed);
    }
    assert.match(await metric(bridge, 'switchboard_mtproto_account_changes_total'), /change="credential"\} 1/);
  });
});

test('rooms narrowed then widened by reloads: the group is told he left, then that he was added; his sends are refused, then allowed', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    await ws.request({ type: 'join', room: 'ops' });
    await person.sendMessage(OPS, { message: 'in ops before' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'in ops before');
    const botSees = updateRecorder(bot);
    const personSees = updateRecorder(person);
    const narrow = (yaml: string) => yaml.replace(PERSON_LINE, (m) => m.replace(' }', ', rooms: [lobby] }'));
    await reloadOk(bridge, narrow);
    const left = await botSees.next(serviceIn(OPS_ID, 'MessageActionChatDeleteUser'));
    assert.equal((left['message'] as ServiceMessage).action?.userId?.toString(), String(PERSON_ID));
    assert.equal(await rpcError(person.sendMessage(OPS, { message: 'in ops while out' })), 'PEER_ID_INVALID', 'a group it does not see');
    await person.sendMessage(LOBBY, { message: 'the lobby still works' });
    assert.equal((await wsEvent(ws, 'message'))['text'], 'the lobby still works', 'nothing of his reached ops');

    await reloadOk(bridge, (yaml) => yaml.replace(', rooms: [lobby] }', ' }'));
    const added = await personSees.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.deepEqual((added['message'] as ServiceMessage).action?.users?.map(String), [String(PERSON_ID)]);
    await person.sendMessage(OPS, { message: 'back in ops' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'back in ops');
    assert.match(await metric(bridge, 'switchboard_mtproto_account_changes_total'), /change="rooms"\} 2/);
    assert.equal(await metric(bridge, 'switchboard_mtproto_group_changes_total{'), '', 'no group changed: only who is in it');
  }, { files: OPS_FILE });
});

test('moderator granted by a reload: the open session, refused before, now deletes the bot\'s message for everyone, and is told it is the admin', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    const said = await bot.sendMessage(LOBBY, { message: 'delete me if you can' });
    assert.equal(await rpcError(person.deleteMessages(LOBBY, [said.id], { revoke: true })), 'MESSAGE_DELETE_FORBIDDEN');
    const personSees = updateRecorder(person);
    await reloadOk(bridge, (yaml) => yaml.replace(PERSON_LINE, (m) => m.replace(' }', ', moderator: true }')));
    const told = await personSees.next((u) => u.className === 'UpdateChatParticipantAdmin');
    assert.deepEqual([told['userId']?.toString(), told['isAdmin']], [String(PERSON_ID), true]);
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId: BigInt(CHAT_ID) as unknown as never })) as { chats: Array<{ adminRights?: { deleteMessages?: boolean } }> };
    assert.equal(full.chats[0]?.adminRights?.deleteMessages, true);
    const botSees = updateRecorder(bot);
    await person.deleteMessages(LOBBY, [said.id], { revoke: true });
    await botSees.next((u) => u.className === 'UpdateDeleteMessages' && (u['messages'] as number[]).includes(said.id));
  });
});

test('names changed by a reload: the others are told and getUsers answers the new name', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    const botSees = updateRecorder(bot);
    await reloadOk(bridge, (yaml) => yaml.replace('firstName: Bob, lastName: Builder', 'firstName: Robert, lastName: Builder'));
    const told = await botSees.next((u) => u.className === 'UpdateUser' || u.className === 'UpdateUserName');
    assert.equal(told['userId']?.toString(), String(PERSON_ID));
    // gramjs' getEntity of a user asks users.getUsers.
    assert.equal((await bot.getEntity(bigInt(String(PERSON_ID)))).firstName, 'Robert');
    assert.equal((await person.getMe() as unknown as { firstName: string }).firstName, 'Robert');
  });
});

test('a config.yaml with a bad accounts entry changes nothing: the old accounts go on, the new one cannot log in', { timeout: 60_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const token = generateBotToken(5002);
    // The person removed, and a bot added whose rooms name no bridge: refused whole, the removal too.
    const outcome = await reloadConfig(bridge, (yaml) => yaml.replace(PERSON_LINE, `    - { id: 5002, bot: true, firstName: Night Bot, tokenHash: "${hashBotToken(token)}", rooms: [nowhere] }`));
    assert.equal(outcome.ok, false, 'refused whole');
    assert.match(JSON.stringify(outcome), /no bridge declares room \\"nowhere\\"/);
    await person.sendMessage(LOBBY, { message: 'the person still speaks' });
    assert.equal((await wsEvent(ws, 'message'))['text'], 'the person still speaks');
    await bot.sendMessage(LOBBY, { message: 'the bot still speaks' });
    assert.equal((await wsEvent(ws, 'message'))['text'], 'the bot still speaks');
    const late = chatClient(bridge.mtprotoPort());
    try {
      await late.connect();
      assert.equal(await rpcError(late.invoke(new Api.auth.ImportBotAuthorization({ flags: 0, apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', botAuthToken: token }))), 'ACCESS_TOKEN_INVALID');
    } finally {
      await shutdown(late);
    }
  });
});

test('a bot removed by a reload, then the app restarted with the bot provisioned again: its old login stays ended, a new login works', { timeout: 90_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true });
  const bot = chatClient(bridge.mtprotoPort());
  const again = chatClient(bridge.mtprotoPort());
  try {
    await loginBot(bridge, bot);
    await bot.getDialogs();
    await bot.disconnect();
    const provisioned = readFileSync(bridge.tree.configFile, 'utf8');
    await reloadOk(bridge, (yaml) => yaml.replace(BOT_LINE, '').replace(/\n\n/g, '\n'));
    // The config file as it was (a restart of an instance whose copy still names the bot, or the bot provisioned again).
    bridge.tree.write('config.yaml', provisioned);
    await bridge.restart();

    await bot.connect();
    assert.equal(await rpcError(bot.invoke(new Api.updates.GetState())), 'AUTH_KEY_UNREGISTERED', 'the login the reload ended does not come back');
    await loginBot(bridge, again);
    assert.equal((await again.getMe()).id.toString(), String(BOT_ID));
  } finally {
    await shutdown(bot);
    await shutdown(again);
    await bridge.close();
  }
});
