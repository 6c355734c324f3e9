// A bridged group's description (chatFull.about) is its room's topic, both ways: a WS moderator
// token's topic becomes it and members' sessions get updateChat; a moderator account's
// messages.editChatAbout is a topic on WS, with him as its sender. Anyone else, an about too long
// or the same again, a private chat or an unknown group: refused, nothing published. Moderators
// are offered it (change_info) in every served layer; the title and photo stay refused. The
// description survives a restart on the embedded defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { GroupAbouts } from '../../src/connectors/mtproto/chat/group-about.ts';
import { topicShownIn } from '../../src/connectors/mtproto/chat/group-direction.ts';
import { Router } from '../../src/router/router.ts';
import type { Bridge } from '../../src/core/endpoint.ts';
import { RoomTopics } from '../../src/connectors/room-topics.ts';
import { parseEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ChatInfo } from '../../src/connectors/mtproto/chat/directory.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import {
  Api, BOT_ID, CHAT_ID, PERSON_ID, WS_TOKEN, bigInt, chatClient, loginBot, rpcError, shutdown, startChatBridge, updateRecorder, withPersonAndBot, wsEvent,
  type ChatClient, type GramUpdate,
} from './chat-harness.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const DEFAULT_ABOUT = 'Bridged room "lobby" (Switchboard)';
const group = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) as object;
type Full = { fullChat: { about: string }; chats: Array<{ adminRights?: { changeInfo?: boolean; deleteMessages?: boolean } | null }> };

const fullChat = (client: ChatClient) => client.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as Promise<Full>;
const aboutOf = async (client: ChatClient) => (await fullChat(client)).fullChat.about;
const editAbout = (client: ChatClient, about: string, peer: object = group()) => client.invoke(new Messages['EditChatAbout']!({ peer, about }));
const isUpdateChat = (u: GramUpdate) => u.className === 'UpdateChat' && String(u['chatId']) === String(CHAT_ID);
const ptsOf = async (client: ChatClient) => ((await client.invoke(new Api.updates.GetState())) as { pts: number }).pts;

/** alice (a moderator token) sets the lobby's topic; the send is accepted. */
async function setTopic(ws: TestClient, text: string): Promise<void> {
  const reply = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text } });
  assert.notEqual(reply.type, 'error', JSON.stringify(reply));
}

test('a WS moderator token\'s topic is the group\'s description: members get updateChat, getFullChat shows it, nothing enters the history; cleared: empty', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    assert.equal(await aboutOf(bot), DEFAULT_ABOUT, 'no topic yet: the default text');
    const botSees = updateRecorder(bot);
    const personSees = updateRecorder(person);
    const pts = await ptsOf(bot);

    await setTopic(ws, 'Release party on Friday 🎉');
    const update = await botSees.next(isUpdateChat);
    assert.equal(update.className, 'UpdateChat');
    await personSees.next(isUpdateChat);
    assert.equal(await aboutOf(bot), 'Release party on Friday 🎉');
    assert.equal(await aboutOf(person), 'Release party on Friday 🎉');
    // Telegram tells no description change in a basic group's history: no message, no pts.
    assert.equal(await ptsOf(bot), pts);
    assert.ok(!botSees.all.some((u) => u.className === 'UpdateNewMessage'), 'no message for it');

    // The same text again changes nothing: nobody is told.
    await setTopic(ws, 'Release party on Friday 🎉');
    await setTopic(ws, '');
    await botSees.next(isUpdateChat);
    assert.equal(botSees.all.filter(isUpdateChat).length, 2, 'told of the two changes only');
    assert.equal(await aboutOf(bot), '', 'cleared: an empty description, not the default');
  }, { wsModerator: true });
});

test('a moderator account\'s editChatAbout is the room\'s topic on WS, him its sender; the bot, not one, and bad abouts are refused with nothing published', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    // Apps offer editing the description to a moderator, and not to the bot.
    const rights = (await fullChat(person)).chats[0]?.adminRights;
    assert.deepEqual([rights?.changeInfo, rights?.deleteMessages], [true, true]);
    assert.equal((await fullChat(bot)).chats[0]?.adminRights ?? undefined, undefined);
    const botSees = updateRecorder(bot);
    const personSees = updateRecorder(person);

    assert.equal(await editAbout(person, 'Be kind. No spam.'), true);
    const topic = await wsEvent(ws, 'topic');
    const sender = topic.sender as { network: string; id: string; name?: string };
    assert.deepEqual([topic['text'], sender.network, sender.id, sender.name], ['Be kind. No spam.', 'mtproto', String(PERSON_ID), 'Bob Builder']);
    // Answered once stored: his own app's next look shows it; his session and the bot's are told.
    assert.equal(await aboutOf(person), 'Be kind. No spam.');
    await personSees.next(isUpdateChat);
    await botSees.next(isUpdateChat);
    assert.equal(await aboutOf(bot), 'Be kind. No spam.');

    // Refused, nothing published: the bot (no moderator), too long, the same again, a private
    // chat's peer, a group that does not exist; and the title and photo, which are the operator's.
    assert.equal(await rpcError(editAbout(bot, 'the bot\'s rules')), 'CHAT_ADMIN_REQUIRED');
    assert.equal(await rpcError(editAbout(person, 'x'.repeat(256))), 'CHAT_ABOUT_TOO_LONG');
    assert.equal(await rpcError(editAbout(person, 'Be kind. No spam.')), 'CHAT_ABOUT_NOT_MODIFIED');
    const botPeer = await (person as unknown as { getInputEntity(id: unknown): Promise<object> }).getInputEntity(bigInt(BOT_ID));
    assert.equal(await rpcError(editAbout(person, 'private', botPeer)), 'PEER_ID_INVALID');
    assert.equal(await rpcError(editAbout(person, 'elsewhere', new Api.InputPeerChat({ chatId: bigInt(4242) }) as object)), 'PEER_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['EditChatTitle']!({ chatId: bigInt(CHAT_ID), title: 'mine now' }))), 'CHAT_ADMIN_REQUIRED');
    assert.equal(await rpcError(person.invoke(new Messages['EditChatPhoto']!({ chatId: bigInt(CHAT_ID), photo: new (Api as unknown as Record<string, Ctor>)['InputChatPhotoEmpty']!({}) }))), 'CHAT_ADMIN_REQUIRED');
    assert.equal(await aboutOf(bot), 'Be kind. No spam.');

    // 255 characters (an emoji counts as one) are fine; then he clears it.
    const longest = '🙂'.repeat(255);
    assert.equal(await editAbout(person, longest), true);
    assert.equal((await wsEvent(ws, 'topic'))['text'], longest);
    assert.equal(await editAbout(person, ''), true);
    assert.equal((await wsEvent(ws, 'topic'))['text'], '');
    assert.equal(await aboutOf(bot), '');
    assert.deepEqual(ws.events.filter((e) => e.event.kind === 'topic').map((e) => e.event['text']), ['Be kind. No spam.', longest, ''], 'only the three accepted ones were published');
    // His last is the room's current topic for every network: a WS join says so.
    const late = await connectClient(bridge.wsUrl(), WS_TOKEN);
    try {
      const joined = await late.request({ type: 'join', room: 'lobby' });
      const current = joined['topic'] as { text?: string; sender?: { id?: string } } | undefined;
      assert.deepEqual([current?.text, current?.sender?.id], ['', String(PERSON_ID)]);
    } finally {
      await late.close();
    }
  }, { personModerator: true });
});

test('the description survives a restart on the embedded defaults', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true, wsModerator: true });
  let ws: TestClient | undefined;
  let bot = chatClient(bridge.mtprotoPort());
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const botSees = updateRecorder(bot);
    await setTopic(ws, 'Kept across restarts');
    await botSees.next(isUpdateChat);
    await ws.close();
    ws = undefined;
    await bridge.restart();
    await shutdown(bot);
    bot = chatClient(bridge.mtprotoPort());
    await loginBot(bridge, bot);
    assert.equal(await aboutOf(bot), 'Kept across restarts');
  } finally {
    await ws?.close();
    await shutdown(bot);
    await bridge.close();
  }
});

test('a moderator\'s change_info and updateChat are in every served layer', () => {
  const codec = new LayeredCodec();
  for (const layer of codec.layers.layers) {
    const chat: TlObject = { _: 'chat', id: BigInt(CHAT_ID), title: 'lobby', photo: { _: 'chatPhotoEmpty' }, participants_count: 2, date: 0, version: 1, admin_rights: { _: 'chatAdminRights', change_info: true, delete_messages: true } };
    const updates: TlObject = { _: 'updates', updates: [{ _: 'updateChat', chat_id: BigInt(CHAT_ID) }], users: [], chats: [chat], date: 0, seq: 0 };
    const back = codec.forLayer(layer).decode(codec.encode(layer, updates));
    const [update] = back['updates'] as TlObject[];
    const [shown] = back['chats'] as TlObject[];
    const rights = shown!['admin_rights'] as TlObject;
    assert.deepEqual([update!['_'], update!['chat_id'], rights['change_info'], rights['delete_messages']], ['updateChat', BigInt(CHAT_ID), true, true], `layer ${layer}`);
  }
});

test('a group new to a room shows the room\'s topic record only as the router would have delivered it: not one a room\'s ignore: rules kept back, not another network\'s in a send-only group', async () => {
  const local = new LocalState();
  const roomTopics = new RoomTopics(local.store('rooms'), silentLogger);
  const abouts = new GroupAbouts(local.store('mtproto'), roomTopics);
  const chat: ChatInfo = { id: 1001n, address: '1001', endpoint: { connector: 'mtproto', address: '1001' }, room: 'lobby', title: 'lobby' };
  const table = (direction?: 'send-only'): Bridge[] => [{
    room: 'lobby', source: 'test', ignore: { senders: [{ network: 'xmpp', id: 'helpbot@example.org' }], messages: [] },
    endpoints: [{ connector: 'xmpp', address: 'lobby@muc.example.org' }, { connector: 'mtproto', address: '1001', ...(direction !== undefined ? { direction } : {}) }],
  }];
  const router = new Router(table(), { hostedConnectors: ['mtproto'] });
  const topicFrom = async (senderId: string, origin: { connector: string; endpoint: string }, text: string): Promise<void> => {
    const topic = parseEvent({ v: 1, id: newEventId(), ts: 1, room: 'lobby', kind: 'topic', text, sender: { network: origin.connector, id: senderId }, origin });
    if (topic.kind === 'topic') abouts.published(topic);
    await roomTopics.idle();
  };
  await topicFrom('helpbot@example.org', { connector: 'xmpp', endpoint: 'lobby@muc.example.org' }, 'set by the ignored bot');
  assert.equal(await abouts.of(chat, topicShownIn(router, chat)), DEFAULT_ABOUT, 'kept back by the rules: never shown here');
  assert.equal(await abouts.of(chat), 'set by the ignored bot', 'the record itself holds it (bots read the stream)');
  await topicFrom('alice@example.org', { connector: 'xmpp', endpoint: 'lobby@muc.example.org' }, 'set by alice');
  assert.equal(await abouts.of(chat, topicShownIn(router, chat)), 'set by alice');
  router.replaceBridges(table('send-only'));
  assert.equal(await abouts.of(chat, topicShownIn(router, chat)), DEFAULT_ABOUT, 'a send-only group gets no other network\'s topic');
  await topicFrom('42', { connector: 'mtproto', endpoint: '1001' }, 'set in the group');
  assert.equal(await abouts.of(chat, topicShownIn(router, chat)), 'set in the group', 'its own is shown');
});

test('the writer\'s record of a description: a group new to a room with a topic shows it; a re-delivered topic is told again, another with the same text is not; a call waits for its topic, or not past its time', async () => {
  const local = new LocalState();
  const roomTopics = new RoomTopics(local.store('rooms'), silentLogger);
  const abouts = new GroupAbouts(local.store('mtproto'), roomTopics);
  const chat: ChatInfo = { id: 1001n, address: '1001', endpoint: { connector: 'mtproto', address: '1001' }, room: 'lobby', title: 'lobby' };
  assert.equal(await abouts.of(chat), DEFAULT_ABOUT, 'no topic anywhere: the default');
  // The room got a topic on another network before this group was linked: the group shows it.
  const earlier = parseEvent({ v: 1, id: newEventId(), ts: 1, room: 'lobby', kind: 'topic', text: 'the room\'s topic',
    sender: { network: 'websocket', id: 'alice' }, origin: { connector: 'websocket', endpoint: 'lobby' } });
  if (earlier.kind === 'topic') abouts.published(earlier);
  await roomTopics.idle();
  assert.equal(await abouts.of(chat), 'the room\'s topic');
  // Its delivery here is still a change of this group (its members are told).
  assert.equal(await abouts.apply(chat, 'the room\'s topic', earlier.id), true);
  assert.equal(await abouts.apply(chat, DEFAULT_ABOUT, 'e0'), true, 'back to the default text: a change');
  assert.equal(await abouts.apply(chat, DEFAULT_ABOUT, 'e0b'), false, 'the same text again is none');
  assert.equal(await abouts.apply(chat, 'rules', 'e1'), true);
  // The bus retries a batch whose write failed after this one: its members are told again.
  assert.equal(await abouts.apply(chat, 'rules', 'e1'), true);
  assert.equal(await abouts.apply(chat, 'rules', 'e2'), false, 'the same text from another event');
  assert.deepEqual([await abouts.of(chat), await abouts.isCurrent(chat, 'e1'), await abouts.isCurrent(chat, 'e2')], ['rules', true, false]);
  assert.equal(await abouts.apply(chat, '', 'e3'), true);
  assert.equal(await abouts.of(chat), '', 'cleared, not the default');

  const waited = abouts.expect('e4', 5_000);
  abouts.applied('e4');
  assert.equal(await waited.done, true);
  assert.equal(await abouts.expect('e5', 10).done, false, 'not applied in time');
  const cancelled = abouts.expect('e6', 5_000);
  cancelled.cancel();
  abouts.applied('e6');
  assert.equal(await cancelled.done, false);
});
