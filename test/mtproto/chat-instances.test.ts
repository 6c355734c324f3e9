// Two instances of the app on one redis-server (one deployment: the same key, salt secret,
// accounts and bridges). One of them consumes the MTProto egress and writes the chat logs; the
// other follows through the bus's fan-out. An MTProto client on each: each one's sends are
// answered, each gets the other's and the WS client's messages live, and getDifference and
// history agree on both instances; the same for private chats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EventFrame } from '../helpers/ws-client.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { DirectChats } from '../../src/connectors/mtproto/chat/direct-chats.ts';
import { directRoom } from '../../src/core/direct.ts';
import { newEventId } from '../../src/core/ids.ts';
import { SpecConnection } from './spec-client.ts';
import { metricValue } from './harness.ts';
import { loginsKey, parseLogins } from '../../src/connectors/mtproto/chat/login-list.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import {
  Api, BOT_ID, CHAT_ID, CustomFile, PERSON_ID, bigInt, chatClient, until, loginBot, loginPerson, serverUserHash, shutdown, updateRecorder,
  type ChatBridge, type ChatClient, type GramMessage, type GramUpdate,
} from './chat-harness.ts';
import { withTwoInstances } from './two-instances.ts';

const PEER = -CHAT_ID;
const messageOf = (u: GramUpdate) => u['message'] as GramMessage;


test('two instances on one Redis: MTProto clients on either chat with each other and with WS', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ bot, person, ws }) => {
    await ws.request({ type: 'join', room: 'lobby' });
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);

    // Sends on either instance are answered (whichever instance writes the log).
    const fromPerson = await person.sendMessage(PEER, { message: 'from the person, on B' });
    const fromBot = await bot.sendMessage(PEER, { message: 'from the bot, on A' });
    assert.ok(fromBot.id > fromPerson.id, 'one sequence of message ids');
    // Each gets the other's message live, the WS client both.
    assert.equal(messageOf(await botUpdates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'from the person, on B')).id, fromPerson.id);
    assert.equal(messageOf(await personUpdates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'from the bot, on A')).id, fromBot.id);
    const seen = (await ws.collectEvents(2)).map((e) => e.event['text']);
    assert.deepEqual(seen, ['from the person, on B', 'from the bot, on A']);
    // A WS message reaches both; an edit of the person's message reaches the bot.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from ws, on A' } });
    await botUpdates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'from ws, on A');
    const live = await personUpdates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'from ws, on A');
    await person.editMessage(PEER, { message: fromPerson.id, text: 'from the person, edited on B' });
    assert.equal(messageOf(await botUpdates.next((u) => u.className === 'UpdateEditMessage')).message, 'from the person, edited on B');

    // Both instances' logs agree: history and pts.
    const personState = (await person.invoke(new Api.updates.GetState())) as { pts: number };
    assert.equal(personState.pts, live['pts'] as number + 1, 'the edit is the one entry after the WS message');
    const onB = [...await person.getMessages(PEER, { limit: 5 })].map((m) => m.message);
    const onA = [...await bot.getMessages(PEER, { limit: 5 })].map((m) => m.message);
    assert.deepEqual(onB, onA);
    assert.deepEqual(onA.slice(0, 3), ['from ws, on A', 'from the bot, on A', 'from the person, edited on B']);
  });
});

test('two instances on one Redis: private chats, with a WS user and between accounts on either instance, come once with consistent pts', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ bot, person, ws }) => {
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);
    const start = (await person.invoke(new Api.updates.GetState())) as { pts: number; date: number };
    const isNew = (text: string) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && messageOf(u).message === text;

    // alice (WS, on A) writes to bob (on B): his pts moves by one.
    await ws.request({ type: 'send', room: `@mtproto:${PERSON_ID}`, event: { kind: 'message', text: 'psst, bob' } });
    const fromAlice = await personUpdates.next(isNew('psst, bob'));
    assert.equal(fromAlice['pts'], start.pts + 1);
    assert.equal((messageOf(fromAlice).peerId as { userId?: unknown } | undefined)?.userId?.toString(), String(puppetIdOf('websocket:alice')));
    // bob (on B) writes to the bot (on A) and the bot answers: each send is answered, each message comes once.
    const toBot = await person.sendMessage('relaybot', { message: 'hello bot, from B' });
    const atBot = messageOf(await botUpdates.next(isNew('hello bot, from B')));
    const answer = await bot.sendMessage('bobbuilder', { message: 'hello bob, from A', replyTo: atBot.id });
    const atPerson = messageOf(await personUpdates.next(isNew('hello bob, from A')));
    assert.equal(atPerson.id, answer.id);
    assert.equal(atPerson.replyTo?.replyToMsgId, toBot.id);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(personUpdates.all.filter(isNew('hello bob, from A')).length, 1);
    assert.equal(botUpdates.all.filter(isNew('hello bot, from B')).length, 1);

    // On B, getDifference from before all of it: exactly the three private messages, in order.
    const diff = (await person.invoke(new Api.updates.GetDifference({ pts: start.pts, date: start.date, qts: 0 }))) as { className: string; newMessages?: GramMessage[]; state?: { pts: number } };
    assert.equal(diff.className, 'updates.Difference');
    assert.deepEqual(diff.newMessages?.map((m) => m.message), ['psst, bob', 'hello bot, from B', 'hello bob, from A']);
    assert.equal(diff.state?.pts, start.pts + 3);
    // Both dialogs are listed on B; the bot's history on A agrees with bob's on B.
    const dialogs = (await person.getDialogs()).map((d) => d.id.toString());
    assert.ok(dialogs.includes(String(BOT_ID)) && dialogs.includes(String(puppetIdOf('websocket:alice'))), dialogs.join(', '));
    const onA = [...await bot.getMessages('bobbuilder', { limit: 5 })].map((m) => m.message);
    const onB = [...await person.getMessages('relaybot', { limit: 5 })].map((m) => m.message);
    assert.deepEqual(onA, ['hello bob, from A', 'hello bot, from B']);
    assert.deepEqual(onB, onA);
  });
});

test('two instances on one Redis: an album from either instance reaches the other as one, and deleting it deletes every message of it there', { timeout: 120_000 }, async () => {
  // The instances share a media store (one directory) and its URL secret, as a deployment of
  // several instances must: a file sent to one is a file on the other.
  const media = mkdtempSync(join(tmpdir(), 'sb-album-media-'));
  try {
  await withTwoInstances(async ({ bot, person }) => {
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);
    const deleted = (updates: readonly GramUpdate[]) => updates.filter((u) => u.className === 'UpdateDeleteMessages').flatMap((u) => u['messages'] as number[]);
    // One of the two instances writes the logs; the other pushes what its fan-out tells it. Each
    // client sends an album and deletes it, so both directions cross the fan-out whichever writes.
    for (const [sender, receiver, received, name] of [[bot, person, personUpdates, 'bot'], [person, bot, botUpdates, 'person']] as const) {
      const files = [1, 2, 3].map((i) => Buffer.from(`${name} file ${i} `.repeat(20 * i)));
      const sent = await sender.sendFile(PEER, { file: files.map((b, i) => new CustomFile(`${name}${i}.txt`, b.length, '', b)), caption: `album of the ${name}`, forceDocument: true, workers: 1 }) as unknown as GramMessage[];
      assert.equal(sent.length, 3);
      const ids = sent.map((m) => m.id);
      await until(`the ${name}'s album on the other instance`, () => ids.every((id) => received.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === id)));
      const got = ids.map((id) => messageOf(received.all.find((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === id)!) as GramMessage & { groupedId?: { toString(): string } });
      assert.equal(new Set(got.map((m) => m.groupedId?.toString())).size, 1);
      assert.deepEqual(got.map((m) => m.message), [`album of the ${name}`, '', '']);
      assert.deepEqual(Buffer.from(await receiver.downloadMedia(got[2]!)), files[2]);
      await sender.deleteMessages(PEER, [ids[0]!], { revoke: true });
      await until(`the ${name}'s album deleted on the other instance`, () => ids.every((id) => deleted(received.all).includes(id)));
    }
  }, `media: { dir: ${JSON.stringify(media)}, urls: { secret: "${randomBytes(24).toString('hex')}" } }`);
  } finally {
    rmSync(media, { recursive: true, force: true });
  }
});

test('two instances on one Redis: a fanned-in batch that fails leaves nothing stale behind: the private chats it would have taught are read again, and getDifference is exact on either instance', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, bot, person }) => {
    type State = { pts: number; date: number };
    const startBot = await bot.invoke(new Api.updates.GetState()) as State;
    const startPerson = await person.invoke(new Api.updates.GetState()) as State;
    // The instance that does not write the logs follows by its fan-in, the only caller of
    // DirectChats.learn: make that fail for a while (both instances run in this process).
    const learn = DirectChats.prototype.learn;
    let failures = 0;
    DirectChats.prototype.learn = async function failing(): Promise<void> {
      failures++;
      throw new Error('test: this fanned-in batch fails');
    };
    try {
      // alice (WS) writes to each account at once: a private chat new to both.
      const dm = (to: number, text: string) => ({
        v: 1 as const, id: newEventId(), ts: Date.now(), kind: 'message' as const, room: directRoom({ network: 'websocket', id: 'alice' }, { network: 'mtproto', id: String(to) })!,
        sender: { network: 'websocket', id: 'alice', name: 'Alice' }, origin: { connector: 'websocket', endpoint: 'alice' }, text,
      });
      await a.app.bus.publish([dm(PERSON_ID, 'to bob, while it fails'), dm(BOT_ID, 'to the bot, while it fails')]);
      await until('a fanned-in batch to fail', () => failures > 0, 10_000);
    } finally {
      DirectChats.prototype.learn = learn;
    }
    // Each client asks its own instance what it missed: its private message, exactly (on the
    // instance whose batch failed, its account's pts counts the chat only if it was read again).
    for (const [client, start, text] of [[bot, startBot, 'to the bot, while it fails'], [person, startPerson, 'to bob, while it fails']] as const) {
      const diff = await client.invoke(new Api.updates.GetDifference({ pts: start.pts, date: start.date, qts: 0 })) as { newMessages?: GramMessage[]; state?: { pts: number } };
      assert.deepEqual(diff.newMessages?.map((m) => m.message), [text]);
      assert.equal(diff.state?.pts, start.pts + 1);
    }
  });
});

test('two instances on one Redis: a send frame captured on its way to A and replayed to B goes ahead of the replay guard there, and is the same send again (no second message); an edit frame replayed is not processed', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, bot, ws }) => {
    await ws.request({ type: 'join', room: 'lobby' });
    // What the bot's client encrypts: the plaintext beside the frame it becomes (test-only
    // instrumentation of the client; the frame is then replayed as an on-path attacker would).
    const state = (bot as unknown as { _sender: { _state: { encryptMessageData(d: Buffer): Promise<Buffer> } } })._sender._state;
    const sentFrames: Array<{ plain: Buffer; frame: Buffer }> = [];
    const encrypt = state.encryptMessageData.bind(state);
    state.encryptMessageData = async (d: Buffer) => { const frame = await encrypt(d); sentFrames.push({ plain: Buffer.from(d), frame }); return frame; };
    const frameWith = (marker: Buffer) => sentFrames.find((f) => f.plain.includes(marker))?.frame;
    const replayToB = async (frame: Buffer) => {
      const conn = await SpecConnection.connect(b.mtprotoPort(), 'intermediate');
      conn.send(frame);
      return conn;
    };

    const randomId = 0x5157_4954_4348_0042n;
    const marker = Buffer.alloc(8);
    marker.writeBigInt64LE(randomId);
    const sent = await bot.invoke(new Api.messages.SendMessage({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), message: 'only once', randomId: bigInt(randomId.toString()) })) as { id: number };
    assert.equal((await ws.collectEvents(1))[0]?.event['text'], 'only once');
    const frame = frameWith(marker);
    assert.ok(frame !== undefined, 'the send\'s frame was captured');

    const aheadBefore = await metricValue(b.app.registry, 'switchboard_mtproto_frames_ahead_of_guard_total', { outcome: 'replayed' });
    const conn = await replayToB(frame);
    try {
      let replayedSeen = false;
      for (let i = 0; i < 100 && !replayedSeen; i++) {
        replayedSeen = await metricValue(b.app.registry, 'switchboard_mtproto_frames_ahead_of_guard_total', { outcome: 'replayed' }) > aheadBefore;
        if (!replayedSeen) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(replayedSeen, 'B went ahead with the replayed send, and its guard said it was a replay');
    } finally {
      conn.close();
    }
    // The transaction claim answered it: no second message anywhere.
    const extra = await ws.collectEvents(1, 700).catch(() => []);
    assert.deepEqual(extra.map((e) => e.event['text']), [], 'WS got nothing more');
    const history = [...await bot.getMessages(PEER, { limit: 10 })].filter((m) => m.message === 'only once');
    assert.deepEqual(history.map((m) => m.id), [sent.id]);

    // An edit's frame replayed to B waits for the guard, which refuses it: not processed.
    await bot.editMessage(PEER, { message: sent.id, text: 'only once, edited' });
    await ws.collectEvents(1);
    const editFrame = frameWith(Buffer.from('only once, edited'));
    assert.ok(editFrame !== undefined);
    await bot.editMessage(PEER, { message: sent.id, text: 'only once, edited twice' });
    await ws.collectEvents(1);
    // Refused as a replay: dropped (a lone message) or bad_msg_notification 19 (a container).
    const refusals = async () => await metricValue(b.app.registry, 'switchboard_mtproto_dropped_total', { reason: 'duplicate-msg-id' }) + await metricValue(b.app.registry, 'switchboard_mtproto_bad_msg_total', { code: '19' });
    const before = await refusals();
    const conn2 = await replayToB(editFrame);
    try {
      for (let i = 0; i < 100 && await refusals() === before; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await refusals() > before, 'the replayed edit was refused');
    } finally {
      conn2.close();
    }
    assert.deepEqual((await ws.collectEvents(1, 700).catch(() => [])).map((e) => e.event['text']), [], 'the old edit did not come back');
    assert.equal([...await bot.getMessages(PEER, { ids: [sent.id] })][0]?.message, 'only once, edited twice');
  });
});

test('two instances on one Redis: what an account changes for itself on one instance reaches its sessions and the accounts that see it on the other at once (a note between instances)', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, bot, person }) => {
    // The person is logged in on B; a second session of his on A, as another device.
    const onA = chatClient(a.mtprotoPort());
    try {
      await loginPerson(a, onA);
      await onA.getDialogs();
      const seenOnA = updateRecorder(onA);
      const botSees = updateRecorder(bot);
      const personSees = updateRecorder(person);
      type Ctor = new (x: Record<string, unknown>) => object;
      const A = Api as unknown as Record<string, Ctor> & { messages: Record<string, Ctor>; account: Record<string, Ctor> };
      const chatPeer = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

      await person.invoke(new A.messages['ToggleDialogPin']!({ pinned: true, peer: new A['InputDialogPeer']!({ peer: chatPeer }) }));
      const pinned = await seenOnA.next((u) => u.className === 'UpdateDialogPinned');
      assert.equal(pinned['pinned'], true);
      await person.invoke(new A.messages['SaveDraft']!({ peer: chatPeer, message: 'typed on B' }));
      assert.equal(((await seenOnA.next((u) => u.className === 'UpdateDraftMessage'))['draft'] as { message: string }).message, 'typed on B');
      await person.invoke(new A.messages['MarkDialogUnread']!({ unread: true, peer: new A['InputDialogPeer']!({ peer: chatPeer }) }));
      assert.equal((await seenOnA.next((u) => u.className === 'UpdateDialogUnreadMark'))['unread'], true);
      await person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chatPeer }), settings: new A['InputPeerNotifySettings']!({ muteUntil: 2_147_483_647 }) }));
      assert.equal(((await seenOnA.next((u) => u.className === 'UpdateNotifySettings'))['notifySettings'] as { muteUntil: number }).muteUntil, 2_147_483_647);

      // A new name on B: the bot (on A) is told, and A shows the new name at once, not 30 s later.
      await person.invoke(new A.account['UpdateProfile']!({ firstName: 'Bobby' }));
      await botSees.next((u) => u.className === 'UpdateUser' && String(u['userId']) === String(PERSON_ID));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(botSees.all.filter((u) => u.className === 'UpdateUser').length, 1, 'told once: a note is not told back');
      await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
      const input = await (bot as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(PERSON_ID));
      const [bob] = await bot.invoke(new Api.users.GetUsers({ id: [new Api.InputUser({ userId: input.userId, accessHash: input.accessHash })] })) as Array<{ firstName?: string }>;
      assert.equal(bob?.firstName, 'Bobby');

      // A pin made on B reaches the person's session on A at once, and so does clearing the chat.
      const pinMe = await person.sendMessage(PEER, { message: 'pin me, on B' });
      await person.invoke(new A.messages['UpdatePinnedMessage']!({ peer: chatPeer, id: pinMe.id }));
      const pinnedOnA = await seenOnA.next((u) => u.className === 'UpdatePinnedMessages');
      assert.deepEqual([pinnedOnA['pinned'], pinnedOnA['messages']], [true, [pinMe.id]]);
      // ... and A shows the message pinned at once (its copy of the chat's pins read again on the note).
      const [onBotsSide] = [...await bot.getMessages(PEER, { ids: [pinMe.id] } as never)] as Array<{ pinned?: boolean }>;
      assert.equal(onBotsSide?.pinned, true, 'pinned, as A shows it');
      await person.invoke(new A.messages['DeleteHistory']!({ peer: chatPeer, maxId: 0, justClear: true }));
      const clearedOnA = await seenOnA.next((u) => u.className === 'UpdateDeleteMessages');
      assert.ok((clearedOnA['messages'] as number[]).includes(pinMe.id), 'the cleared messages, told on A');

      // The session on A ended from B (account.resetAuthorization, a day after both logins): A
      // forgets its cached login at once (not within its cache time) and stops its updates.
      const state = chatState(b.app.bus.state(STATE_NAMESPACE));
      const loginList = parseLogins(await state.get(loginsKey(BigInt(PERSON_ID))));
      await state.set(loginsKey(BigInt(PERSON_ID)), JSON.stringify(loginList.map((e) => ({ ...e, at: e.at - 86_460_000 }))));
      const sessions = await person.invoke(new A.account['GetAuthorizations']!({})) as { authorizations: Array<{ current?: boolean; hash: unknown }> };
      const other = sessions.authorizations.find((x) => x.current !== true)!;
      await onA.getMe(); // A has the login cached now
      assert.equal(await person.invoke(new A.account['ResetAuthorization']!({ hash: other.hash })), true);
      let refused = false;
      const deadline = Date.now() + 2_000;
      while (!refused && Date.now() < deadline) {
        refused = await onA.getMe().then(() => false, (err: { errorMessage?: string }) => err.errorMessage === 'AUTH_KEY_UNREGISTERED');
        if (!refused) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(refused, 'A still served the ended session (its cache holds a login 5 s)');
      await bot.sendMessage(PEER, { message: 'after the reset on A' });
      await personSees.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'after the reset on A');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!seenOnA.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'after the reset on A'), 'the ended session on A was told');
    } finally {
      await shutdown(onA);
    }
  });
});

test('two instances on one Redis: a block made on one instance holds on the other at once (a note), whichever delivers the private message', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, person, ws }) => {
    const ALICE = puppetIdOf('websocket:alice');
    const rec = updateRecorder(person);
    const direct = `@mtproto:${PERSON_ID}`;
    await ws.request({ type: 'join', room: 'lobby' });
    await ws.request({ type: 'send', room: direct, event: { kind: 'message', text: 'hi bob, from A' } });
    await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'hi bob, from A');
    // Both instances have read the person's block list by now (it is loaded at start and on use).
    const alice = new Api.InputPeerUser({ userId: bigInt(String(ALICE)), accessHash: await serverUserHash(b, ALICE) as never });
    const Contacts = (Api as unknown as { contacts: Record<string, new (x: Record<string, unknown>) => object> }).contacts;
    assert.equal(await person.invoke(new Contacts['Block']!({ id: alice })), true);
    // As soon as the note has reached A (notes are best effort and take a moment; a loaded run
    // once delivered her message on A before it): whichever instance writes the person's private
    // chat drops her message.
    await new Promise((r) => setTimeout(r, 200));
    await ws.request({ type: 'send', room: direct, event: { kind: 'message', text: 'blocked already?' } });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the block, in the group' } });
    await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'after the block, in the group');
    // The private chat and the group are two rooms, delivered in no order between them: wait
    // until her private message was handled (dropped) before looking for it.
    const dropped = async () => await metricValue(a.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'blocked' }) + await metricValue(b.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'blocked' });
    for (let i = 0; i < 50 && await dropped() < 1; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await dropped() >= 1, 'dropped as blocked on one of them');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!rec.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'blocked already?'), 'her private message reached him');
    assert.ok(!(await person.getMessages(alice, { limit: 5 })).some((m) => m.message === 'blocked already?'), 'nor his history');
  });
});

test('two instances on one Redis: a status hidden on one instance is hidden on the other at once (a note): "recently", not the offline it published to the other networks', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ bot, person }) => {
    const Messages = (Api as unknown as { messages: Record<string, new (x: Record<string, unknown>) => object> }).messages;
    const A = Api as unknown as Record<string, new (x: Record<string, unknown>) => object> & { account: Record<string, new (x: Record<string, unknown>) => object> };
    let seen = 'none';
    const bobAsBotSees = async () => {
      const full = await bot.invoke(new Messages['GetFullChat']!({ chatId: bigInt(CHAT_ID) })) as { users: Array<{ id: { toString(): string }; status?: { className: string } }> };
      seen = full.users.find((u) => u.id.toString() === String(PERSON_ID))?.status?.className ?? 'none';
      return seen;
    };
    // bob (on B) goes online: the bot (on A) sees it through the canonical presence.
    await person.invoke(new Api.account.UpdateStatus({ offline: false }));
    for (let i = 0; i < 50 && await bobAsBotSees() !== 'UserStatusOnline'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen, 'UserStatusOnline');
    // He hides it on B: A reads his rule again on the note, so the bot sees "recently" (without the
    // note, A's copy of the rule is up to 30 s old and shows the offline he published).
    await person.invoke(new A.account['SetPrivacy']!({ key: new A['InputPrivacyKeyStatusTimestamp']!({}), rules: [new A['InputPrivacyValueDisallowAll']!({})] }));
    for (let i = 0; i < 30 && await bobAsBotSees() !== 'UserStatusRecently'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen, 'UserStatusRecently');
  });
});

test('two instances on one Redis: a contact saved on one instance shows under its saved name on the other at once (a note)', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, person, ws }) => {
    const C = (Api as unknown as { contacts: Record<string, new (x: Record<string, unknown>) => object> }).contacts;
    const U = (Api as unknown as { users: Record<string, new (x: Record<string, unknown>) => object> }).users;
    // alice writes from WS (on A): bob (on B) saves her as "Ally".
    const rec = updateRecorder(person);
    await ws.request({ type: 'join', room: 'lobby' });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello' } });
    const from = (await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'hello'))['message'] as { fromId: { userId: { toString(): string } } };
    const aliceId = BigInt(from.fromId.userId.toString());
    const aliceOn = async (bridge: ChatBridge) => new Api.InputUser({ userId: bigInt(aliceId.toString()), accessHash: await serverUserHash(bridge, aliceId) });
    // His session on A, logged in before the change: A has read his (empty) list by then.
    const there = chatClient(a.mtprotoPort());
    try {
      await loginPerson(a, there);
      const nameThere = async () => ((await there.invoke(new U['GetUsers']!({ id: [await aliceOn(a)] }))) as Array<{ firstName?: string }>)[0]?.firstName;
      assert.notEqual(await nameThere(), 'Ally');
      await person.invoke(new C['AddContact']!({ id: await aliceOn(b), firstName: 'Ally', lastName: '', phone: '' }));
      // Without the note's read, A's copy is up to 30 s old and shows her own name.
      let name: string | undefined;
      for (let i = 0; i < 30 && (name = await nameThere()) !== 'Ally'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(name, 'Ally');
    } finally {
      await shutdown(there);
    }
  });
});

for (const on of ['A', 'B'] as const) test(`two instances on one Redis: a bot's reply keyboard sent on ${on}, and then its removal, reach the person on B`, { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ b, bot: botOnA, person }) => {
    // Sent on B, it is written by A (the instance that writes the chat here), which did not mark
    // the bot: it learns it from the keyboard's own message (without that, the removal is missed).
    const bot = on === 'A' ? botOnA : chatClient(b.mtprotoPort());
    try {
      if (on === 'B') { await loginBot(b, bot); await bot.getDialogs(); }
      const A = Api as unknown as Record<string, new (x: Record<string, unknown>) => object>;
      const rec = updateRecorder(person);
      const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
      const send = (message: string, replyMarkup: object) => bot.invoke(new Api.messages.SendMessage({ peer: chat, message, randomId: bigInt(Math.floor(Math.random() * 1e12)), replyMarkup }));
      const markupOf = async (text: string) => ((await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === text))['message'] as { replyMarkup?: { className: string } }).replyMarkup?.className;
      await send('menu', new A['ReplyKeyboardMarkup']!({ rows: [new A['KeyboardButtonRow']!({ buttons: [new A['KeyboardButton']!({ text: 'Go' })] })] }));
      assert.equal(await markupOf('menu'), 'ReplyKeyboardMarkup');
      await send('closed', new A['ReplyKeyboardHide']!({}));
      assert.equal(await markupOf('closed'), 'ReplyKeyboardHide');
    } finally {
      if (on === 'B') await shutdown(bot);
    }
  });
});

test('two instances on one Redis: a press of a bot\'s callback button on B reaches the bot on A, and its answer the presser on B', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ bot, person }) => {
    type Ctor = new (x: Record<string, unknown>) => object;
    const A = Api as unknown as Record<string, Ctor> & { messages: Record<string, Ctor> };
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const personSees = updateRecorder(person);
    const botSees = updateRecorder(bot);
    const keyboard = new A['ReplyInlineMarkup']!({ rows: [new A['KeyboardButtonRow']!({ buttons: [new A['KeyboardButtonCallback']!({ text: 'Go', data: Buffer.from('go') })] })] });
    await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'press me', randomId: bigInt(991), replyMarkup: keyboard }));
    const shown = (await personSees.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'press me'))['message'] as GramMessage & { replyMarkup?: { rows: unknown[] } };
    assert.equal(shown.replyMarkup?.rows.length, 1, 'B shows the keyboard the bot sent on A');
    const pressed = person.invoke(new A.messages['GetBotCallbackAnswer']!({ peer: chat, msgId: shown.id, data: Buffer.from('go') })) as Promise<{ message?: string }>;
    const query = await botSees.next((u) => u.className === 'UpdateBotCallbackQuery');
    assert.equal(await bot.invoke(new A.messages['SetBotCallbackAnswer']!({ queryId: query['queryId'], message: 'went', cacheTime: 0 })), true);
    assert.equal((await pressed).message, 'went');
  });
});

test('two instances on one Redis: a message scheduled on B is in his queue on A too, and goes once when due, whichever instance holds the scheduler', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, person, ws }) => {
    const M = (Api as unknown as { messages: Record<string, new (x: Record<string, unknown>) => object> }).messages;
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    await ws.request({ type: 'join', room: 'lobby' });
    const there = chatClient(a.mtprotoPort());
    try {
      await loginPerson(a, there);
      await there.getDialogs();
      const rec = updateRecorder(there);
      // Queued on B for an hour from now: his session on A is told (a note) and finds it in his queue there.
      const at = Math.floor(Date.now() / 1000) + 3600;
      const queued = await person.sendMessage(chat, { message: 'from the queue', schedule: at });
      await rec.next((u) => u.className === 'UpdateNewScheduledMessage' && messageOf(u).message === 'from the queue');
      const queue = await there.invoke(new M['GetScheduledHistory']!({ peer: chat, hash: bigInt(0) })) as { messages: GramMessage[] };
      assert.deepEqual(queue.messages.map((m) => [m.id, m.message]), [[queued.id, 'from the queue']]);
      // Moved to now on B: the scheduler (A, started first, told by a note; or B) sends it, once.
      await person.editMessage(chat, { message: queued.id, text: 'from the queue', schedule: Math.floor(Date.now() / 1000) - 1 });
      await ws.next((f) => f.type === 'event' && (f as EventFrame).event['text'] === 'from the queue', 10_000);
      await rec.next((u) => u.className === 'UpdateDeleteScheduledMessages' && (u['messages'] as number[]).includes(queued.id));
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(ws.events.filter((f) => f.event['text'] === 'from the queue').length, 1, 'sent once');
      assert.deepEqual((await there.invoke(new M['GetScheduledHistory']!({ peer: chat, hash: bigInt(0) })) as { messages: unknown[] }).messages, []);
    } finally {
      await shutdown(there);
    }
  });
});

test('two instances on one Redis: a note to himself (Saved Messages) sent on B reaches his session on A once, and is in his Saved Messages on both', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, person }) => {
    const there = chatClient(a.mtprotoPort());
    try {
      await loginPerson(a, there);
      await there.getDialogs();
      const rec = updateRecorder(there);
      const sent = await person.sendMessage('me', { message: 'a note, from B' });
      const got = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'a note, from B'));
      assert.deepEqual([got.id, got.out], [sent.id, true]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rec.all.filter((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'a note, from B').length, 1, 'once');
      for (const client of [person, there]) assert.deepEqual([...await client.getMessages('me', { limit: 5 })].map((m) => m.message), ['a note, from B']);
    } finally {
      await shutdown(there);
    }
  });
});

test('two instances on one Redis: a group\'s description set on either instance (a moderator\'s editChatAbout on B, a WS topic on A) is answered, told to the sessions of both and shown by both', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ bot, person, ws }) => {
    await ws.request({ type: 'join', room: 'lobby' });
    const isUpdateChat = (u: GramUpdate) => u.className === 'UpdateChat' && String(u['chatId']) === String(CHAT_ID);
    const aboutOn = async (client: ChatClient) => ((await client.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }))) as { fullChat: { about: string } }).fullChat.about;
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);

    // The person on B: answered once stored, whichever instance writes; both sessions are told.
    const edit = new (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages['EditChatAbout']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), about: 'set on B' });
    assert.equal(await person.invoke(edit), true);
    assert.equal(await aboutOn(person), 'set on B');
    await personUpdates.next(isUpdateChat);
    await botUpdates.next(isUpdateChat);
    assert.equal(await aboutOn(bot), 'set on B');
    assert.equal((await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'topic') as EventFrame).event['text'], 'set on B');

    // alice's topic on A: both sessions are told, both instances show it.
    const reply = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'set on A' } });
    assert.notEqual(reply.type, 'error', JSON.stringify(reply));
    await botUpdates.next(isUpdateChat);
    await personUpdates.next(isUpdateChat);
    assert.deepEqual([await aboutOn(bot), await aboutOn(person)], ['set on A', 'set on A']);
  }, '', { personModerator: true, wsModerator: true });
});
