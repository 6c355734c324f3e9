// Updates a client missed: it disconnects, the others go on talking (and editing, reacting,
// deleting), it reconnects and updates.getDifference from its pts returns exactly that, in
// slices when asked; the same across a restart of the app on the embedded defaults (memory bus
// with its state file), where the clients go on with their auth keys and logins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { within } from '../helpers/wait.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { authKeyId } from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { CHAT_KEY_PREFIX, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import {
  Api, BOT_ID, CHAT_ID, WS_TOKEN, chatClient, loginBot, loginPerson, shutdown, startChatBridge, stateFileOf, updateRecorder,
  type ChatClient, type GramMessage,
} from './chat-harness.ts';

const PEER = -CHAT_ID;

interface State { pts: number; date: number }
interface Difference {
  className: string;
  newMessages?: GramMessage[];
  otherUpdates?: Array<{ className: string; message?: GramMessage; messages?: number[]; pts?: number }>;
  state?: State;
  intermediateState?: State;
  pts?: number;
}

const getState = async (c: ChatClient) => (await c.invoke(new Api.updates.GetState())) as State;
const getDifference = async (c: ChatClient, from: State, limit?: number) =>
  (await c.invoke(new Api.updates.GetDifference({ pts: from.pts, date: from.date, qts: 0, ...(limit !== undefined ? { ptsTotalLimit: limit } : {}) }))) as Difference;

async function say(ws: TestClient, event: Record<string, unknown>): Promise<string> {
  const ack = await ws.request({ type: 'send', room: 'lobby', event });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return ack['id'] as string;
}

test('a client that was away gets exactly what it missed through getDifference, also in slices', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge();
  const bot = chatClient(bridge.mtprotoPort());
  const person = chatClient(bridge.mtprotoPort());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
    await ws.request({ type: 'join', room: 'lobby' });
    await loginBot(bridge, bot);
    await loginPerson(bridge, person);
    await person.getDialogs();
    await bot.getDialogs();
    const before = await bot.sendMessage(PEER, { message: 'before I left' });
    const [eBefore] = await ws.collectEvents(1);
    const left = await getState(bot);
    await bot.disconnect();

    // The others go on: three messages, an edit and a deletion of two of them, a reaction to an older one.
    const first = await say(ws, { kind: 'message', text: 'missed 1' });
    const second = await say(ws, { kind: 'message', text: 'missed 2' });
    await say(ws, { kind: 'message', text: 'missed 3' });
    await say(ws, { kind: 'edit', target: first, text: 'missed 1 (edited)' });
    await say(ws, { kind: 'retract', target: second });
    await say(ws, { kind: 'reaction', target: eBefore!.event.id, reactions: ['🎉'] });
    // Sent last and answered only once the bus delivered it: everything before it is in the log too.
    await person.sendMessage(PEER, { message: 'from the person' });

    await bot.connect();
    const diff = await getDifference(bot, left);
    assert.equal(diff.className, 'updates.Difference');
    assert.deepEqual(diff.newMessages?.map((m) => m.message), ['missed 1 (edited)', 'missed 3', 'from the person'], 'new messages as they are now; the deleted one not at all');
    assert.deepEqual(diff.otherUpdates?.map((u) => [u.className, u.message?.id ?? u.messages]), [['UpdateEditMessage', before.id]], 'the reaction to the older message');
    assert.deepEqual(diff.otherUpdates?.[0]?.message?.reactions?.results.map((r) => r.reaction.emoticon), ['🎉']);
    assert.equal(diff.state?.pts, left.pts + 7, 'seven entries of the chat moved the pts');
    assert.equal((await getState(bot)).pts, diff.state?.pts);
    assert.equal((await getDifference(bot, diff.state!)).className, 'updates.DifferenceEmpty', 'nothing more');

    // The same in slices of two: intermediate states, each slice taking up where the last ended.
    const texts: string[] = [];
    const others: string[] = [];
    let from = left;
    for (let i = 0; i < 10; i++) {
      const part = await getDifference(bot, from, 2);
      texts.push(...(part.newMessages ?? []).map((m) => m.message));
      others.push(...(part.otherUpdates ?? []).map((u) => u.className));
      if (part.className === 'updates.Difference') { from = part.state!; break; }
      assert.equal(part.className, 'updates.DifferenceSlice');
      assert.equal(part.intermediateState?.pts, from.pts + 2);
      from = part.intermediateState!;
    }
    assert.equal(from.pts, left.pts + 7);
    // Sliced, the edit of 'missed 1' and the deletion of 'missed 2' fall into later slices than the messages.
    assert.deepEqual(texts, ['missed 1', 'missed 2', 'missed 3', 'from the person'].filter((t) => t !== 'missed 2').map((t) => (t === 'missed 1' ? 'missed 1 (edited)' : t)));
    assert.deepEqual(others.sort(), ['UpdateDeleteMessages', 'UpdateEditMessage', 'UpdateEditMessage'].sort());

    // A pts from the future is not trusted: the client must refetch.
    const tooLong = await getDifference(bot, { pts: left.pts + 1000, date: left.date });
    assert.equal(tooLong.className, 'updates.DifferenceTooLong');
    assert.equal(tooLong.pts, left.pts + 7);
  } finally {
    await ws.close();
    await shutdown(bot);
    await shutdown(person);
    await bridge.close();
  }
});

test('the same across a restart on the embedded defaults: the clients go on with their keys and logins, pts and message ids go on, nothing missed is lost', { timeout: 180_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true });
  const port = bridge.mtprotoPort();
  // The bot leaves before the restart and comes back after it, on the same session object (its
  // MemorySession holds the key). The person stays connected through the restart, with gramjs'
  // defaults for a user's app (auto-reconnect on, retrying for a while).
  const bot = chatClient(port);
  const person = chatClient(port, { autoReconnect: true, connectionRetries: 200, retryDelay: 250 });
  let ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
    await ws.request({ type: 'join', room: 'lobby' });
    await loginBot(bridge, bot);
    await loginPerson(bridge, person);
    await person.getDialogs();
    await bot.getDialogs();
    const botKey = keyOf(bot);
    const personKey = keyOf(person);
    const lastBefore = await bot.sendMessage(PEER, { message: 'before the restart' });
    const left = await getState(bot);
    await bot.disconnect();
    await say(ws, { kind: 'message', text: 'while away, before the restart' });
    await person.sendMessage(PEER, { message: 'the person, before the restart' });
    await ws.close();

    await bridge.restart();
    assert.equal(bridge.mtprotoPort(), port);

    // The person's client reconnects by itself: its next send goes through on its key and login.
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await say(ws, { kind: 'message', text: 'after the restart' });
    await within(40_000, 'the person\'s send after the restart', person.sendMessage(PEER, { message: 'the person, after the restart' }));

    // The bot comes back: no login, the same key, and getDifference from where it left.
    await within(30_000, 'the bot\'s reconnect', bot.connect());
    const me = await within(20_000, 'getMe', bot.getMe());
    assert.equal(me.id.toString(), String(BOT_ID), 'still logged in as the bot, without logging in again');
    const diff = await getDifference(bot, left);
    assert.equal(diff.className, 'updates.Difference');
    const missed = diff.newMessages ?? [];
    assert.deepEqual(missed.map((m) => m.message), ['while away, before the restart', 'the person, before the restart', 'after the restart', 'the person, after the restart']);
    assert.ok(missed.every((m) => m.id > lastBefore.id), 'message ids keep growing across the restart');
    assert.ok(missed[2]!.id > missed[1]!.id);
    assert.equal(diff.state?.pts, left.pts + 4);
    assert.equal((await getDifference(bot, diff.state!)).className, 'updates.DifferenceEmpty', 'exactly that, nothing more');
    const history = await bot.getMessages(PEER, { limit: 10 });
    assert.deepEqual([...history].slice(0, 5).map((m) => m.message), ['the person, after the restart', 'after the restart', 'the person, before the restart', 'while away, before the restart', 'before the restart'], 'history spans the restart');
    // Live again: the next message arrives as an update with the next pts.
    const rec = updateRecorder(bot);
    await say(ws, { kind: 'message', text: 'live' });
    const live = await rec.next((u) => u.className === 'UpdateNewMessage');
    assert.equal(live['pts'], left.pts + 5);

    // Both kept their keys; the restarted app made none and sent no -404.
    assert.deepEqual(keyOf(bot), botKey);
    assert.deepEqual(keyOf(person), personKey);
    const metrics = await bridge.app.registry.metrics();
    assert.equal(counterValue(metrics, 'switchboard_mtproto_handshakes_ok_total'), 0, 'no new auth key after the restart');
    assert.equal(counterValue(metrics, 'switchboard_mtproto_transport_errors_total', 'reason="unknown-auth-key"'), 0, 'no -404');

    // The core's keys and the chat layer's share the state namespace without meeting (state-namespace.ts).
    const state = stateEntries(stateFileOf(bridge));
    const keys = [...state.keys()].filter((k) => k.startsWith(`${STATE_NAMESPACE}:`)).map((k) => k.slice(STATE_NAMESPACE.length + 1));
    const core = ['authkey:', 'authkey-binding:', 'client:', 'seen:', 'salt-secret', 'kek-check'];
    const strays = keys.filter((k) => !k.startsWith(CHAT_KEY_PREFIX) && !core.some((p) => k.startsWith(p)));
    assert.deepEqual(strays, [], 'every key is the core\'s or under chat:');
    // Both clients' keys are stored (gramjs drops a leading zero byte of about 1 key in 200 and
    // retries its handshake: the key it dropped stays stored too, unused, so they are not counted).
    const storedKeys = keys.filter((k) => k.startsWith('authkey:')).map((k) => k.slice('authkey:'.length));
    for (const [who, key] of [['the bot', botKey], ['the person', personKey]] as const) {
      assert.ok(key !== undefined && storedKeys.includes(authKeyIdHex(authKeyId(key))), `${who}'s key is stored`);
    }
    assert.equal(keys.filter((k) => k.startsWith(`${CHAT_KEY_PREFIX}auth:`)).length, 2, 'their two logins');
    // The chat layer's secret (file access hashes, URL signatures) is sealed under the KEK like the core's.
    const kekId = parseKek(readFileSync(join(bridge.tree.dir, 'keys', 'kek.key'), 'utf8')).id;
    for (const secret of [`${CHAT_KEY_PREFIX}secret`, 'salt-secret', ...keys.filter((k) => k.startsWith('authkey:'))]) {
      assert.match(state.get(`${STATE_NAMESPACE}:${secret}`) ?? '', new RegExp(`^enc1:${kekId}:`), `${secret} sealed`);
    }
  } finally {
    await ws.close();
    await shutdown(bot);
    await shutdown(person);
    await bridge.close();
  }
});

function keyOf(client: ChatClient): Buffer | undefined {
  return (client.session as unknown as { getAuthKey(dc: number): { getKey(): Buffer | undefined } | undefined }).getAuthKey(2)?.getKey();
}

/** The sum of a counter's lines in Prometheus text (0 when absent). */
function counterValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (labels !== '' && !line.includes(labels))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** What the memory driver's state file holds now, key -> value (its journal replayed: `[op, key, value?]` per line). */
function stateEntries(file: string): Map<string, string> {
  const live = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const [op, key, value] = JSON.parse(line) as [string, string, string?];
    if (op === 'del') live.delete(key);
    else live.set(key, value ?? '');
  }
  return live;
}
