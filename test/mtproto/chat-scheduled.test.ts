// Scheduled messages (core.telegram.org/api/scheduled-messages) with stock gramjs: a person queues
// messages in the group (text with formatting, a reply, a file), sees and changes his queue, his
// other session follows it, nobody else sees anything until a message goes: at its time (the
// scheduler), or at once when he says so. Refusals change nothing. The queue survives a restart on
// the embedded defaults and its messages go out after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventFrame } from '../helpers/ws-client.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import {
  Api, CHAT_ID, CustomFile, PERSON_ID, WS_TOKEN, bigInt, chatClient, loginBot, loginPerson, rpcError, shutdown, startChatBridge, updateRecorder, withChatClient, withSecondSession, wsEvent,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';
import { metricValue } from './harness.ts';
import { newEventId } from '../../src/core/ids.ts';
import { parseEvent } from '../../src/core/event.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { SCHEDULER_SESSION, txnOf, type ScheduledItem } from '../../src/connectors/mtproto/chat/scheduled-queue.ts';

const Messages = (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages;
const group = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
const nowS = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

interface RawMessage { id: number; message: string; date: number; out?: boolean; entities?: Array<{ className: string }>; replyTo?: { replyToMsgId?: number }; media?: unknown }
const queueOf = async (client: { invoke(r: unknown): Promise<unknown> }) =>
  ((await client.invoke(new Messages['GetScheduledHistory']!({ peer: group(), hash: bigInt(0) }))) as { messages: RawMessage[] }).messages;
const scheduledUpdate = (text: string) => (u: GramUpdate) => u.className === 'UpdateNewScheduledMessage' && (u['message'] as RawMessage).message === text;
const wsTexts = (ws: TestClient) => ws.events.filter((f) => f.event.kind === 'message').map((f) => f.event['text']);

test('a person schedules messages in the group: his queue, edits, "send now", sent when due, deleted; his other session follows; nobody else sees them before', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, p) => { await loginPerson(bridge, p); await p.getDialogs(); }, async (bridge, person, ws) => {
    await withSecondSession(bridge, async (second) => {
      const rec = updateRecorder(second);
      const question = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'who brings the cake?' } });
      await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as RawMessage).message === 'who brings the cake?');
      const asked = [...await person.getMessages(group(), { limit: 1 })][0]!;
      assert.equal(asked.message, 'who brings the cake?');

      // Three queued for an hour from now: formatted text, a reply, a file.
      const at = nowS() + HOUR;
      const later = await person.sendMessage(group(), { message: 'see you **later**', schedule: at });
      assert.deepEqual([later.date, later.out], [at, true]);
      const reply = await person.sendMessage(group(), { message: 'I will', replyTo: asked.id, schedule: at });
      const bytes = Buffer.from(`the recipe: ${'r'.repeat(2000)}`);
      const file = await person.sendFile(group(), { file: new CustomFile('recipe.txt', bytes.length, '', bytes), caption: 'the recipe', forceDocument: true, workers: 1, scheduleDate: at });
      assert.ok(later.id > 0 && reply.id !== later.id && file.id !== reply.id, 'each has an id of the queue');
      // His other session sees each join the queue.
      await rec.next(scheduledUpdate('see you later'));
      await rec.next(scheduledUpdate('I will'));
      await rec.next(scheduledUpdate('the recipe'));
      // The queue, latest first, as he wrote it.
      const queue = await queueOf(person);
      assert.deepEqual(queue.map((m) => [m.message, m.date, m.out]), [['the recipe', at, true], ['I will', at, true], ['see you later', at, true]]);
      assert.equal(queue[2]?.entities?.[0]?.className, 'MessageEntityBold');
      assert.equal(queue[1]?.replyTo?.replyToMsgId, asked.id);
      assert.ok(queue[0]?.media !== undefined, 'the file is in the queue');
      assert.deepEqual((await queueOf(second)).map((m) => m.id), queue.map((m) => m.id));
      const hasScheduled = async () => ((await person.invoke(new Messages['GetFullChat']!({ chatId: bigInt(CHAT_ID) }))) as { fullChat: { hasScheduled?: boolean } }).fullChat.hasScheduled === true;
      assert.equal(await hasScheduled(), true, 'the group shows it has a schedule');

      // He rewords the first, same time: his queue and his other session show it.
      await person.editMessage(group(), { message: later.id, text: 'see you **much** later', schedule: at });
      await rec.next(scheduledUpdate('see you much later'));

      // "Send now" for the reply: it goes to WS at once, answering alice's question.
      const sentNow = await person.invoke(new Messages['SendScheduledMessages']!({ peer: group(), id: [reply.id] })) as { updates: GramUpdate[] };
      assert.deepEqual(sentNow.updates.map((u) => u.className), ['UpdateDeleteScheduledMessages', 'UpdateNewMessage']);
      const replied = await wsEvent(ws, 'message', (e) => e['text'] === 'I will');
      assert.equal(replied['replyTo'], question['id']);
      const gone = await rec.next((u) => u.className === 'UpdateDeleteScheduledMessages');
      assert.deepEqual(gone['messages'], [reply.id]);
      const sentReply = (await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as RawMessage).message === 'I will'))['message'] as RawMessage & { fromScheduled?: boolean };
      assert.deepEqual([sentReply.out, sentReply.fromScheduled], [true, true], 'his, and from the schedule');

      // He moves the first to now: the scheduler sends it, formatted, and his sessions see it leave the queue.
      await person.editMessage(group(), { message: later.id, text: 'see you **much** later', schedule: nowS() - 60 });
      const due = await wsEvent(ws, 'message', (e) => e['text'] === 'see you much later');
      assert.deepEqual(due['spans'], [{ type: 'bold', offset: 8, length: 4 }]);
      const flushed = await rec.next((u) => u.className === 'UpdateDeleteScheduledMessages' && (u['messages'] as number[]).includes(later.id));
      const sentAs = flushed['sentMessages'] as number[];
      assert.equal(sentAs.length, 1, 'the message it became is named');
      const history = [...await person.getMessages(group(), { limit: 3 })] as Array<GramMessage & { fromScheduled?: boolean }>;
      assert.deepEqual([history.find((m) => m.id === sentAs[0])?.message, history.find((m) => m.id === sentAs[0])?.fromScheduled], ['see you much later', true]);

      // Both went as sent (the operator's counter).
      assert.equal(await metricValue(bridge.app.registry, 'switchboard_mtproto_scheduled_total', { outcome: 'sent' }), 2);
      // He deletes the file from the queue: it never goes.
      const deleted = await person.invoke(new Messages['DeleteScheduledMessages']!({ peer: group(), id: [file.id] })) as { updates: GramUpdate[] };
      assert.deepEqual(deleted.updates.map((u) => [u.className, u['messages']]), [['UpdateDeleteScheduledMessages', [file.id]]]);
      await rec.next((u) => u.className === 'UpdateDeleteScheduledMessages' && (u['messages'] as number[]).includes(file.id));
      assert.deepEqual(await queueOf(person), []);
      assert.equal(await hasScheduled(), false);

      // Less than 10 s ahead goes at once, as a plain message (Telegram's rule).
      const soon = await person.sendMessage(group(), { message: 'right now', schedule: nowS() + 2 });
      assert.ok(soon.date <= nowS(), 'sent, not queued');
      await wsEvent(ws, 'message', (e) => e['text'] === 'right now');
      assert.equal(([...await person.getMessages(group(), { limit: 1 })][0] as GramMessage & { fromScheduled?: boolean }).fromScheduled, false, 'a plain message is not from the schedule');

      // WS saw each message once, when it went, and never the deleted one.
      assert.deepEqual(wsTexts(ws), ['I will', 'see you much later', 'right now']);
    });
  });
});

test('bad scheduling is refused with nothing queued: too late, when online, by a bot, unknown ids; a resend is the same queued message', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, p) => { await loginPerson(bridge, p); await p.getDialogs(); }, async (bridge, person, ws) => {
    const send = (scheduleDate: number, peer: unknown = group()) => person.invoke(new Messages['SendMessage']!({ peer, message: 'x', randomId: bigInt(Date.now() + Math.floor(Math.random() * 1e6)), scheduleDate }));
    assert.equal(await rpcError(send(nowS() + 367 * 86_400)), 'SCHEDULE_DATE_TOO_LATE');
    assert.equal(await rpcError(send(0x7ffffffe)), 'SCHEDULE_STATUS_PRIVATE');
    assert.equal(await rpcError(person.invoke(new Messages['EditMessage']!({ peer: group(), id: 12345, message: 'y', scheduleDate: nowS() + HOUR }))), 'MESSAGE_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['SendScheduledMessages']!({ peer: group(), id: [12345] }))), 'MESSAGE_ID_INVALID');
    const bot = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, bot);
      await bot.getDialogs();
      assert.equal(await rpcError(bot.invoke(new Messages['SendMessage']!({ peer: group(), message: 'x', randomId: bigInt(5), scheduleDate: nowS() + HOUR }))), 'SCHEDULE_BOT_NOT_ALLOWED');
    } finally {
      await shutdown(bot);
    }
    // The same send again (its random_id: a client's resend after a lost answer) is the same queued message.
    const queue = (randomId: number) => person.invoke(new Messages['SendMessage']!({ peer: group(), message: 'once', randomId: bigInt(randomId), scheduleDate: nowS() + HOUR })) as Promise<{ updates: GramUpdate[] }>;
    const idOf = (r: { updates: GramUpdate[] }) => (r.updates.find((u) => u.className === 'UpdateNewScheduledMessage')!['message'] as RawMessage).id;
    const first = idOf(await queue(4242));
    assert.equal(idOf(await queue(4242)), first);
    assert.deepEqual((await queueOf(person)).map((m) => m.id), [first]);
    assert.notEqual(idOf(await queue(4243)), first, 'another random_id is another message');
    await person.invoke(new Messages['DeleteScheduledMessages']!({ peer: group(), id: [first, first + 1] }));
    assert.deepEqual(await queueOf(person), []);
    assert.deepEqual(wsTexts(ws), [], 'nothing went out');
  });
});

test('an album scheduled: one queued message a file, grouped, its caption on the first; any of them names all of it; sent now, it reaches WS as one message with every file', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, p) => { await loginPerson(bridge, p); await p.getDialogs(); }, async (_bridge, person, ws) => {
    const file = (name: string) => { const bytes = Buffer.from(`${name}: ${'a'.repeat(500)}`); return new CustomFile(name, bytes.length, '', bytes); };
    const at = nowS() + HOUR;
    const sent = await person.sendFile(group(), { file: [file('one.txt'), file('two.txt'), file('three.txt')], caption: 'three files', forceDocument: true, workers: 1, scheduleDate: at }) as unknown as GramMessage[];
    assert.equal(sent.length, 3, 'gramjs maps each file to its queued message');
    const queue = await queueOf(person);
    const ids = queue.map((m) => m.id).sort((a, b) => a - b);
    assert.deepEqual(ids, [ids[0]!, ids[0]! + 1, ids[0]! + 2]);
    const grouped = new Set(queue.map((m) => String((m as RawMessage & { groupedId?: unknown }).groupedId)));
    assert.equal(grouped.size, 1, 'one album');
    assert.deepEqual(queue.find((m) => m.id === ids[0])?.message, 'three files');
    // A forward scheduled: alice's message under its "Forwarded from" line, queued like any other.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'forward me' } });
    const toForward = await (async () => { for (let i = 0; i < 50; i++) { const [m] = [...await person.getMessages(group(), { limit: 1 })]; if (m?.message === 'forward me') return m; await new Promise((r) => setTimeout(r, 50)); } throw new Error('alice\'s message never came'); })();
    const fwd = await person.invoke(new Messages['ForwardMessages']!({ fromPeer: group(), toPeer: group(), id: [toForward.id], randomId: [bigInt(99)], scheduleDate: at })) as { updates: GramUpdate[] };
    const fwdQueued = fwd.updates.find((u) => u.className === 'UpdateNewScheduledMessage')!['message'] as RawMessage;
    assert.match(fwdQueued.message, /^Forwarded from Alice[^\n]*\nforward me$/);
    await person.invoke(new Messages['DeleteScheduledMessages']!({ peer: group(), id: [fwdQueued.id] }));
    // Asked by its second message: the queue answers that one only.
    const one = await person.invoke(new Messages['GetScheduledMessages']!({ peer: group(), id: [ids[1]] })) as { messages: RawMessage[] };
    assert.deepEqual(one.messages.map((m) => m.id), [ids[1]]);
    // "Send now" by its last message sends all of it.
    const now = await person.invoke(new Messages['SendScheduledMessages']!({ peer: group(), id: [ids[2]] })) as { updates: GramUpdate[] };
    const flushed = now.updates.find((u) => u.className === 'UpdateDeleteScheduledMessages')!;
    assert.deepEqual([...(flushed['messages'] as number[])].sort((a, b) => a - b), ids);
    assert.equal((flushed['sentMessages'] as number[]).length, 3, 'the three messages it became');
    const went = await wsEvent(ws, 'message', (e) => e['text'] === 'three files');
    assert.deepEqual((went['attachments'] as Array<{ name: string }>).map((a) => a.name), ['one.txt', 'two.txt', 'three.txt']);
    assert.deepEqual(await queueOf(person), []);
  });
});

test('a queued message sent once already (a scheduler that died before taking it out) is not sent again: its send is a transaction of the account', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, p) => { await loginPerson(bridge, p); await p.getDialogs(); }, async (bridge, person, ws) => {
    const rec = updateRecorder(person);
    const queued = await person.sendMessage(group(), { message: 'once only', schedule: nowS() + HOUR });
    // What a scheduler did before it died: the send, under the item's transaction, and no more.
    const stored = JSON.parse((await chatState(bridge.app.bus.state(STATE_NAMESPACE)).get(`sched:${PERSON_ID}`))!) as { items: ScheduledItem[] };
    const item = stored.items.find((i) => i.id === queued.id)!;
    const event = parseEvent({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: 'lobby', text: 'once only',
      sender: { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' }, origin: { connector: 'mtproto', endpoint: String(CHAT_ID), session: SCHEDULER_SESSION },
    });
    await bridge.app.bus.publishOnce(event, { scope: `mtproto:${PERSON_ID}`, id: txnOf(item) });
    await wsEvent(ws, 'message', (e) => e['text'] === 'once only');
    // The scheduler that takes over sends it (moved to now): the same transaction, so the same message; it leaves the queue.
    await person.editMessage(group(), { message: queued.id, text: 'once only', schedule: nowS() - 1 });
    const flushed = await rec.next((u) => u.className === 'UpdateDeleteScheduledMessages' && (u['messages'] as number[]).includes(queued.id), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(wsTexts(ws).filter((t) => t === 'once only').length, 1, 'one message');
    assert.deepEqual(await queueOf(person), []);
    const history = [...await person.getMessages(group(), { limit: 5 })].filter((m) => m.message === 'once only');
    assert.deepEqual(history.map((m) => m.id), flushed['sentMessages'] as number[], 'the message it became is the one sent before');
  });
});

test('the queue survives a restart on the embedded defaults: a message due after it goes out by itself', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true });
  let person = chatClient(bridge.mtprotoPort());
  let ws: TestClient | undefined;
  try {
    await loginPerson(bridge, person);
    await person.getDialogs();
    // Due in 12 s: queued (10 s or more ahead), then the bridge restarts at once.
    const queued = await person.sendMessage(group(), { message: 'after the restart', schedule: nowS() + 12 });
    assert.ok(queued.date > nowS() + 5, 'queued');
    await bridge.restart();
    await shutdown(person);
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    person = chatClient(bridge.mtprotoPort());
    await loginPerson(bridge, person);
    assert.deepEqual((await queueOf(person)).map((m) => m.message), ['after the restart']);
    const went = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'message', 30_000) as EventFrame;
    assert.equal(went.event['text'], 'after the restart');
    assert.ok(Date.now() / 1000 >= queued.date - 1, 'not before its time');
    assert.deepEqual(await queueOf(person), []);
  } finally {
    await ws?.close();
    await shutdown(person);
    await bridge.close();
  }
});
