// bridges/ reloaded in a running app (SIGHUP: app.reloadBridges after a file of the config tree's
// bridges/ changed), seen from stock gramjs clients: a group linked is told to its members as
// Telegram tells a user added to a basic group (a service message with pts, live or through
// getDifference), then bridged both ways; a group unlinked is told as a removal (the member
// itself deleted, the chat chatForbidden), refused with CHAT_WRITE_FORBIDDEN / CHAT_FORBIDDEN,
// still listed, nothing published; linked again, its old history is back and nothing replayed;
// a group moved to another room shows the new title.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { mtprotoOf } from '../helpers/app.ts';
import type { Delivery } from '../../src/bus/types.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import {
  Api, CHAT_ID, CustomFile, PERSON_ID, WS_TOKEN, chatClient, loginBot, loginPerson, rpcError, shutdown, startChatBridge, updateRecorder, wsEvent,
  type ChatBridge, type ChatClient, type GramMessage, type GramUpdate,
} from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';

const OPS_ID = 1002;
const OPS_PEER = -OPS_ID; // gramjs' id of a basic group
const OPS_FILE = 'bridges/ops.yaml';
const OPS_BRIDGE = `endpoints:\n  - websocket: ops\n  - mtproto: ${OPS_ID}\n`;

interface State { pts: number; date: number }
interface Difference { className: string; newMessages?: GramMessage[]; chats?: Array<{ className: string; id: { toString(): string }; title?: string }>; state?: State }
interface ServiceMessage { className: string; id: number; peerId?: { chatId?: { toString(): string } }; action?: { className: string; users?: Array<{ toString(): string }>; userId?: { toString(): string }; title?: string } }

const getState = async (c: ChatClient) => (await c.invoke(new Api.updates.GetState())) as State;
const getDifference = async (c: ChatClient, from: State) => (await c.invoke(new Api.updates.GetDifference({ pts: from.pts, date: from.date, qts: 0 }))) as Difference;

const reload = reloadBridgeFiles;

/** The service message of `action` in chat `chatId` among a client's updates. */
function serviceIn(chatId: number, action: string): (u: GramUpdate) => boolean {
  return (u) => {
    const m = u['message'] as ServiceMessage | undefined;
    return u.className === 'UpdateNewMessage' && m?.className === 'MessageService' && m.peerId?.chatId?.toString() === String(chatId) && m.action?.className === action;
  };
}

async function metric(bridge: ChatBridge, name: string): Promise<string> {
  const text = await bridge.app.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
}

/** A bridge with the person (and alice on WS in lobby) logged in, dialogs listed; everything stopped afterwards. */
async function withPerson(body: (bridge: ChatBridge, person: ChatClient, ws: TestClient) => Promise<void>, files: Record<string, string> = {}): Promise<void> {
  const bridge = await startChatBridge({ files });
  const person = chatClient(bridge.mtprotoPort());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
    await ws.request({ type: 'join', room: 'lobby' });
    await loginPerson(bridge, person);
    await person.getDialogs();
    await body(bridge, person, ws);
  } finally {
    await ws.close();
    await shutdown(person);
    await bridge.close();
  }
}

test('a group linked by a reload: the connected member is told (chat add user, with the chat), lists it and talks in it both ways', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const updates = updateRecorder(person);
    const before = await getState(person);
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE });

    // A group with no history yet: told as Telegram tells those a group is created with.
    const told = await updates.next(serviceIn(OPS_ID, 'MessageActionChatCreate'));
    assert.deepEqual((told['message'] as ServiceMessage).action?.users?.map(String), ['5001', String(PERSON_ID)], 'its members: the bot and the person');
    assert.equal((told['message'] as ServiceMessage & { action: { title?: string } }).action.title, 'ops');
    assert.equal(told['pts'], before.pts + 1, 'the one update of the reload moves its pts by one');
    assert.equal((await getState(person)).pts, before.pts + 1);

    const dialogs = await person.getDialogs();
    const ops = dialogs.find((d) => d.id.toString() === String(OPS_PEER));
    assert.ok(ops !== undefined, `ops is listed: ${dialogs.map((d) => d.title).join(', ')}`);
    assert.equal(ops.title, 'ops');
    assert.equal(ops.isGroup, true);
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId: BigInt(OPS_ID) as unknown as never })) as { chats: Array<{ className: string; title: string }> };
    assert.deepEqual(full.chats.map((c) => [c.className, c.title]), [['Chat', 'ops']]);

    // Bridged both ways with the WS room the reload linked it with.
    await ws.request({ type: 'join', room: 'ops' });
    await person.sendMessage(OPS_PEER, { message: 'hello ops from telegram' });
    const got = await wsEvent(ws, 'message', (e) => e['text'] === 'hello ops from telegram');
    assert.equal(got['room'], 'ops');
    const incoming = updates.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'hello ops from ws');
    const ack = await ws.request({ type: 'send', room: 'ops', event: { kind: 'message', text: 'hello ops from ws' } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(((await incoming)['message'] as GramMessage).peerId?.chatId?.toString(), String(OPS_ID));
    assert.match(await metric(bridge, 'switchboard_mtproto_groups '), /switchboard_mtproto_groups 2/);
  });
});

test('a member away during the reload gets the new group from getDifference', { timeout: 60_000 }, async () => {
  const bridge = await startChatBridge();
  const bot = chatClient(bridge.mtprotoPort());
  try {
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const left = await getState(bot);
    await bot.disconnect();
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE });

    await bot.connect();
    const diff = await getDifference(bot, left);
    assert.equal(diff.className, 'updates.Difference');
    const added = diff.newMessages?.map((m) => m as unknown as ServiceMessage) ?? [];
    assert.deepEqual(added.map((m) => [m.peerId?.chatId?.toString(), m.action?.className]), [[String(OPS_ID), 'MessageActionChatCreate']]);
    assert.deepEqual(diff.chats?.map((c) => [c.className, c.id.toString(), c.title]), [['Chat', String(OPS_ID), 'ops']], 'the group comes with it');
    assert.equal(diff.state?.pts, left.pts + 1);
    // And the bot may speak there at once.
    const sent = await bot.sendMessage(OPS_PEER, { message: 'the bot in ops' });
    assert.equal(sent.message, 'the bot in ops');
  } finally {
    await shutdown(bot);
    await bridge.close();
  }
});

test('a group unlinked by a reload: its member is told it was removed, is refused, still lists it as Telegram does, and nothing is published', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    await ws.request({ type: 'join', room: 'ops' });
    const mine = await person.sendMessage(OPS_PEER, { message: 'before the unlink' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'before the unlink');
    const updates = updateRecorder(person);
    const before = await getState(person);
    await reload(bridge, { [OPS_FILE]: undefined });

    const told = await updates.next(serviceIn(OPS_ID, 'MessageActionChatDeleteUser'));
    assert.equal((told['message'] as ServiceMessage).action?.userId?.toString(), String(PERSON_ID), 'removed: the person itself');
    const ops = new Api.InputPeerChat({ chatId: BigInt(OPS_ID) as unknown as never });
    assert.equal(told['pts'], before.pts + 1);
    // A session that was away learns the same from getDifference: the removal, with the group as chatForbidden.
    const diff = await getDifference(person, before);
    assert.deepEqual(diff.newMessages?.map((m) => (m as unknown as ServiceMessage).action?.className), ['MessageActionChatDeleteUser']);
    assert.deepEqual(diff.chats?.map((c) => [c.className, c.id.toString(), c.title]), [['ChatForbidden', String(OPS_ID), 'ops']]);
    assert.equal(diff.state?.pts, before.pts + 1);

    assert.equal(await rpcError(person.sendMessage(OPS_PEER, { message: 'after the unlink' })), 'CHAT_WRITE_FORBIDDEN');
    assert.equal(await rpcError(person.editMessage(OPS_PEER, { message: mine.id, text: 'edited after the unlink' })), 'CHAT_WRITE_FORBIDDEN');
    assert.equal(await rpcError(person.invoke(new Api.messages.SendReaction({ peer: ops, msgId: mine.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }))), 'CHAT_WRITE_FORBIDDEN');
    const listed = await person.invoke(new Api.messages.GetChats({ id: [BigInt(OPS_ID)] as unknown as never })) as { chats: Array<{ className: string; title: string }> };
    assert.deepEqual(listed.chats.map((c) => [c.className, c.title]), [['ChatForbidden', 'ops']]);
    assert.equal(await rpcError(person.invoke(new Api.messages.GetHistory({ peer: new Api.InputPeerChat({ chatId: BigInt(OPS_ID) as unknown as never }), limit: 10 }))), 'CHAT_FORBIDDEN');
    assert.equal(await rpcError(person.invoke(new Api.messages.GetFullChat({ chatId: BigInt(OPS_ID) as unknown as never }))), 'CHAT_FORBIDDEN');

    const dialogs = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100 })) as { chats: Array<{ className: string; id: { toString(): string }; title: string }>; messages: ServiceMessage[] };
    const shown = dialogs.chats.find((c) => c.id.toString() === String(OPS_ID));
    assert.deepEqual([shown?.className, shown?.title], ['ChatForbidden', 'ops'], 'listed as a group it was removed from');
    assert.ok(dialogs.messages.some((m) => m.peerId?.chatId?.toString() === String(OPS_ID) && m.action?.className === 'MessageActionChatDeleteUser'), 'its last message is the removal');
    const peerDialogs = await person.invoke(new Api.messages.GetPeerDialogs({ peers: [new Api.InputDialogPeer({ peer: ops })] })) as { chats: Array<{ className: string }>; messages: ServiceMessage[] };
    assert.deepEqual([peerDialogs.chats.map((c) => c.className), peerDialogs.messages.map((m) => m.action?.className)], [['ChatForbidden'], ['MessageActionChatDeleteUser']], 'and asked for by peer');

    // A delivery to it still queued on the bus (routed before the reload) is dropped and counted, not written.
    const chatLayer = (mtprotoOf(bridge.app) as unknown as { chat: { outbound: { deliver(d: readonly Delivery[]): Promise<void> } } }).chat;
    const late: CanonicalEvent = {
      v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: 'ops', text: 'routed before the reload',
      sender: { network: 'websocket', id: 'alice', name: 'Alice' }, origin: { connector: 'websocket', endpoint: 'ops' },
    };
    await chatLayer.outbound.deliver([{ event: late, target: { connector: 'mtproto', address: String(OPS_ID) }, cursor: '1-0' }]);
    assert.match(await metric(bridge, 'switchboard_mtproto_unlinked_dropped_total'), /switchboard_mtproto_unlinked_dropped_total 1/);
    assert.equal((await getState(person)).pts, before.pts + 1, 'nothing written for it');

    // Nothing it tried reached the WS room (the lobby still works, and is the next thing WS gets).
    await person.sendMessage(-CHAT_ID, { message: 'the lobby still works' });
    const next = await wsEvent(ws, 'message');
    assert.equal(next['text'], 'the lobby still works');
    assert.match(await metric(bridge, 'switchboard_mtproto_groups '), /switchboard_mtproto_groups 1/);
  }, { [OPS_FILE]: OPS_BRIDGE });
});

test('a group unlinked then linked again: removed, then added back with its old history, nothing replayed', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    await ws.request({ type: 'join', room: 'ops' });
    await person.sendMessage(OPS_PEER, { message: 'old history' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'old history');
    const bytes = Buffer.from('a file of the old history');
    const file = await person.sendFile(OPS_PEER, { file: new CustomFile('old.txt', bytes.length, '', bytes), forceDocument: true, workers: 1 } as never) as unknown as GramMessage;
    await wsEvent(ws, 'message', (e) => (e['attachments'] as unknown[] | undefined)?.length === 1);
    const referenced = async () => { const all: string[] = []; for await (const r of mtprotoOf(bridge.app)!.mediaReferences()) all.push(r); return all; };
    const sha = createHash('sha256').update(bytes).digest('hex');
    assert.ok((await referenced()).includes(sha));
    // The WS room stays; the group is no longer linked with it.
    await reload(bridge, { [OPS_FILE]: 'endpoints:\n  - websocket: ops\n' });
    // Said in the WS room while the group is not linked: never bridged, not even after the link comes back.
    const ack = await ws.request({ type: 'send', room: 'ops', event: { kind: 'message', text: 'while unlinked' } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    // Its files are still shown (the media store's collector must keep them).
    assert.ok((await referenced()).includes(sha), 'the unlinked group\'s files are still referenced');
    const updates = updateRecorder(person);
    const before = await getState(person);
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE });

    const told = await updates.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.equal(told['pts'], before.pts + 1, 'added back: one update');
    assert.deepEqual(await person.downloadMedia((await person.getMessages(OPS_PEER, { ids: [file.id] }))[0]), bytes, 'its file as before');
    const history = await person.getMessages(OPS_PEER, { limit: 20 });
    const texts = [...history].map((m) => m.message ?? '').filter((t) => t !== '');
    assert.deepEqual(texts, ['old history'], 'the old history is back, nothing of the unlinked time');
    const actions = [...history].map((m) => (m as unknown as ServiceMessage).action?.className).filter((a) => a !== undefined);
    assert.deepEqual(actions, ['MessageActionChatAddUser', 'MessageActionChatDeleteUser', 'MessageActionChatCreate'], 'newest first: back, removed, created');
    const sent = await person.sendMessage(OPS_PEER, { message: 'back again' });
    assert.equal(sent.message, 'back again');
    assert.equal((await wsEvent(ws, 'message'))['text'], 'back again', 'the WS room gets what is said now, not what was said while unlinked');
    assert.equal(updates.all.filter((u) => (u['message'] as GramMessage | undefined)?.message === 'while unlinked').length, 0);
  }, { [OPS_FILE]: OPS_BRIDGE });
});

test('a group moved to another room: its members see the new title (chat edit title)', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person) => {
    const updates = updateRecorder(person);
    // The same chat, now linked as room "ops-renamed".
    await reload(bridge, { [OPS_FILE]: `room: ops-renamed\n${OPS_BRIDGE}` });
    const told = await updates.next(serviceIn(OPS_ID, 'MessageActionChatEditTitle'));
    assert.equal((told['message'] as ServiceMessage).action?.title, 'ops-renamed');
    const dialogs = await person.getDialogs();
    assert.equal(dialogs.find((d) => d.id.toString() === String(OPS_PEER))?.title, 'ops-renamed');
    const sent = await person.sendMessage(OPS_PEER, { message: 'still here' });
    assert.equal(sent.message, 'still here');
  }, { [OPS_FILE]: OPS_BRIDGE });
});

test('bad changes never crash and change nothing: a reload naming no chat id is refused; junk told to the connector is logged and skipped', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const updates = updateRecorder(person);
    const before = await getState(person);
    bridge.tree.write(OPS_FILE, 'endpoints:\n  - websocket: ops\n  - mtproto: not-a-chat\n');
    const refused = await bridge.app.reloadBridges();
    assert.equal(refused.ok, false);
    assert.match(JSON.stringify(refused), /not an MTProto chat id/);
    rmSync(join(bridge.tree.dir, OPS_FILE));

    // What the app's check refuses, told anyway (and a group never served removed, an empty change): nothing thrown, nothing changed.
    const connector = mtprotoOf(bridge.app)!;
    const junk = { connector: 'mtproto', address: 'not-a-chat' };
    assert.doesNotThrow(() => connector.endpointsChanged({
      endpoints: [junk], added: [junk, { connector: 'mtproto', address: '0' }, { connector: 'mtproto', address: '1000000000000' }],
      removed: [{ connector: 'mtproto', address: '4242' }], moved: [{ endpoint: { connector: 'mtproto', address: '-1' }, from: 'a', to: 'b' }], redirected: [],
    }));
    await connector.reloaded;
    assert.doesNotThrow(() => connector.endpointsChanged({ endpoints: [], added: [], removed: [], moved: [], redirected: [] }));
    await connector.reloaded;
    assert.equal((await getState(person)).pts, before.pts, 'no update');
    assert.equal(updates.all.length, 0);
    assert.match(await metric(bridge, 'switchboard_mtproto_groups '), /switchboard_mtproto_groups 1/);
    // The lobby works as before.
    await person.sendMessage(-CHAT_ID, { message: 'still bridged' });
    assert.equal((await wsEvent(ws, 'message'))['text'], 'still bridged');
  });
});

test('a group unlinked stays a group its members were removed from across a restart, and is added back by a later reload', { timeout: 60_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true, files: { [OPS_FILE]: OPS_BRIDGE } });
  let person = chatClient(bridge.mtprotoPort());
  try {
    await loginPerson(bridge, person);
    await person.getDialogs();
    await reload(bridge, { [OPS_FILE]: undefined });
    await shutdown(person);
    await bridge.restart();

    person = chatClient(bridge.mtprotoPort());
    await loginPerson(bridge, person);
    const dialogs = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100 })) as { chats: Array<{ className: string; id: { toString(): string } }> };
    assert.deepEqual(dialogs.chats.map((c) => [c.className, c.id.toString()]).sort(), [['Chat', String(CHAT_ID)], ['ChatForbidden', String(OPS_ID)]]);
    assert.equal(await rpcError(person.sendMessage(OPS_PEER, { message: 'after the restart' })), 'CHAT_WRITE_FORBIDDEN');

    const updates = updateRecorder(person);
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE });
    await updates.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.equal((await person.sendMessage(OPS_PEER, { message: 'back after the restart' })).message, 'back after the restart');
  } finally {
    await shutdown(person);
    await bridge.close();
  }
});

test('a group unlinked by a restart (not a reload) and linked again by a reload: its members are told they were added', { timeout: 60_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true, files: { [OPS_FILE]: OPS_BRIDGE } });
  let person = chatClient(bridge.mtprotoPort());
  try {
    await loginPerson(bridge, person);
    await person.getDialogs();
    await shutdown(person);
    rmSync(join(bridge.tree.dir, OPS_FILE));
    await bridge.restart();

    person = chatClient(bridge.mtprotoPort());
    await loginPerson(bridge, person);
    const dialogs = await person.getDialogs();
    assert.deepEqual([...dialogs].map((d) => d.id.toString()), [String(-CHAT_ID)], 'no one was told of a removal: it is simply gone');
    const updates = updateRecorder(person);
    const before = await getState(person);
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE });
    const told = await updates.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.equal(told['pts'], before.pts + 1);
    assert.equal((await person.sendMessage(OPS_PEER, { message: 'back' })).message, 'back');
  } finally {
    await shutdown(person);
    await bridge.close();
  }
});

test('a group moved into a room an account sees: it is added (and everyone sees the title); moved out again: the others see it leave, and the group leaves its list', { timeout: 60_000 }, async () => {
  // The bot sees only the lobby; the person sees every room.
  const bridge = await startChatBridge({ botRooms: ['lobby'], files: { [OPS_FILE]: OPS_BRIDGE } });
  const bot = chatClient(bridge.mtprotoPort());
  const person = chatClient(bridge.mtprotoPort());
  const lobbyWithOps = `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n  - mtproto: ${OPS_ID}\n`;
  try {
    await loginBot(bridge, bot);
    await loginPerson(bridge, person);
    await bot.getDialogs();
    await person.getDialogs();
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);
    const botBefore = await getState(bot);

    await reload(bridge, { [OPS_FILE]: 'endpoints:\n  - websocket: ops\n', 'bridges/lobby.yaml': lobbyWithOps });
    const added = await botUpdates.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.deepEqual((added['message'] as ServiceMessage).action?.users?.map(String), ['5001']);
    await personUpdates.next(serviceIn(OPS_ID, 'MessageActionChatAddUser'));
    assert.equal((await personUpdates.next(serviceIn(OPS_ID, 'MessageActionChatEditTitle')))['message'] !== undefined, true);
    await botUpdates.next(serviceIn(OPS_ID, 'MessageActionChatEditTitle'));
    assert.equal((await getState(bot)).pts, botBefore.pts + 2, 'the bot counts the group from its title change on: two updates');
    assert.equal((await bot.sendMessage(OPS_PEER, { message: 'the bot in ops' })).message, 'the bot in ops');
    const titles = [...await bot.getDialogs()].map((d) => [d.id.toString(), d.title]);
    assert.deepEqual(titles.filter(([id]) => id === String(OPS_PEER)), [[String(OPS_PEER), 'lobby']]);

    const botMoved = await getState(bot);
    await reload(bridge, { [OPS_FILE]: OPS_BRIDGE, 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n` });
    const gone = await personUpdates.next(serviceIn(OPS_ID, 'MessageActionChatDeleteUser'));
    assert.equal((gone['message'] as ServiceMessage).action?.userId?.toString(), '5001', 'the person sees the bot leave');
    await personUpdates.next((u) => serviceIn(OPS_ID, 'MessageActionChatEditTitle')(u) && (u['message'] as { action: { title: string } }).action.title === 'ops');
    // The bot no longer counts the group: nothing of it moves its pts, nor comes in a difference.
    await person.sendMessage(OPS_PEER, { message: 'after the bot left' });
    assert.equal((await getState(bot)).pts, botMoved.pts);
    assert.equal((await getDifference(bot, botMoved)).className, 'updates.DifferenceEmpty');
    assert.deepEqual([...await bot.getDialogs()].map((d) => d.id.toString()), [String(-CHAT_ID)]);
    assert.equal(botUpdates.all.filter(serviceIn(OPS_ID, 'MessageActionChatDeleteUser')).length, 0, 'not pushed an update its pts does not count');
    assert.equal(await rpcError(bot.sendMessage(OPS_PEER, { message: 'not any more' })), 'PEER_ID_INVALID');
  } finally {
    await shutdown(bot);
    await shutdown(person);
    await bridge.close();
  }
});

test('a delivery batch waits while a reload writes its service messages, and then goes on', { timeout: 60_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const outbound = (mtprotoOf(bridge.app) as unknown as { chat: { outbound: { exclusive<T>(work: () => Promise<T>): Promise<T> } } }).chat.outbound;
    const updates = updateRecorder(person);
    let release: () => void = () => undefined;
    // What a reload's write holds (chat-links.ts): the logs are written by it alone meanwhile.
    const held = outbound.exclusive(() => new Promise<void>((resolve) => { release = resolve; }));
    const ack = ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while a reload writes' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates.all.length, 0, 'not delivered into the reload\'s write');
    release();
    await held;
    await updates.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'while a reload writes');
    assert.equal((await ack).type, 'ack');
  });
});
