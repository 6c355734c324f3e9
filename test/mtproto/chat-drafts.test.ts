// Drafts: what an account was writing in a chat and did not send (messages.saveDraft) reaches its
// other sessions (updateDraftMessage), shows in its dialogs and in messages.getAllDrafts, and goes
// with a send that clears it or an empty draft. Bad drafts are refused and change nothing. The
// store (chat/drafts.ts): saves of different chats at once all land, the oldest goes past the cap,
// a malformed stored value is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { Drafts, MAX_DRAFTS, draftObject } from '../../src/connectors/mtproto/chat/drafts.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { Api, BOT_ID, CHAT_ID, bigInt, rpcError, updateRecorder, withPersonAndBot, withSecondSession, type ChatClient, type GramUpdate } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const inputChat = (id = CHAT_ID) => new Api.InputPeerChat({ chatId: bigInt(id) });

interface GramDraft { className: string; message?: string; entities?: Array<{ className: string; offset: number; length: number }>; replyTo?: { replyToMsgId: number } | null }
interface RawDialog { peer: { className: string; chatId?: { toString(): string }; userId?: { toString(): string } }; draft?: GramDraft | null }

const saveDraft = (client: ChatClient, params: Record<string, unknown>) => client.invoke(new Messages['SaveDraft']!({ peer: inputChat(), ...params }));
async function dialogDraft(client: ChatClient, peerId: string): Promise<GramDraft | undefined> {
  const all = await client.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0) })) as { dialogs: RawDialog[] };
  const dialog = all.dialogs.find((d) => (d.peer.chatId ?? d.peer.userId)?.toString() === peerId);
  return dialog?.draft ?? undefined;
}
const draftUpdate = (u: GramUpdate) => u.className === 'UpdateDraftMessage';

test('a draft saved in one session reaches the other, shows in dialogs and getAllDrafts, and goes with clear_draft or an empty draft; bad drafts change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    await withSecondSession(bridge, async (second) => {
      const elsewhere = updateRecorder(second);
      const own = updateRecorder(person);
      const target = await bot.sendMessage(-CHAT_ID, { message: 'answer me later' });

      await saveDraft(person, { message: 'half a thought', entities: [new Api.MessageEntityBold({ offset: 0, length: 4 })], replyTo: new (Api as unknown as Record<string, Ctor>)['InputReplyToMessage']!({ replyToMsgId: target.id }) });
      const told = await elsewhere.next(draftUpdate);
      const draft = told['draft'] as GramDraft;
      assert.equal(draft.className, 'DraftMessage');
      assert.equal(draft.message, 'half a thought');
      assert.deepEqual(draft.entities?.map((e) => [e.className, e.offset, e.length]), [['MessageEntityBold', 0, 4]]);
      assert.equal(draft.replyTo?.replyToMsgId, target.id);
      assert.equal((told['peer'] as { chatId: { toString(): string } }).chatId.toString(), String(CHAT_ID));
      assert.equal(own.all.filter(draftUpdate).length, 0, 'the saving session is not told its own draft');

      assert.equal((await dialogDraft(second, String(CHAT_ID)))?.message, 'half a thought');
      const all = await second.invoke(new Messages['GetAllDrafts']!({})) as { updates: Array<{ className: string; draft: GramDraft }> };
      assert.deepEqual(all.updates.map((u) => [u.className, u.draft.message]), [['UpdateDraftMessage', 'half a thought']]);
      assert.equal(await dialogDraft(bot, String(CHAT_ID)), undefined, 'another account sees no draft');

      // Refused, and the draft stays: too long, a reply to no message, a chat not seen.
      assert.equal(await rpcError(saveDraft(person, { message: 'x'.repeat(4097) })), 'MESSAGE_TOO_LONG');
      assert.equal(await rpcError(saveDraft(person, { message: 'to nothing', replyTo: new (Api as unknown as Record<string, Ctor>)['InputReplyToMessage']!({ replyToMsgId: 99_999 }) })), 'MESSAGE_ID_INVALID');
      assert.equal(await rpcError(saveDraft(person, { peer: inputChat(4242), message: 'nowhere' })), 'PEER_ID_INVALID');
      assert.equal((await dialogDraft(second, String(CHAT_ID)))?.message, 'half a thought');

      // Sent with clear_draft: the draft goes, and the other session is told (draftMessageEmpty).
      await person.invoke(new Api.messages.SendMessage({ peer: inputChat(), message: 'the whole thought', randomId: bigInt(7001), clearDraft: true }));
      const cleared = await elsewhere.next(draftUpdate);
      assert.equal((cleared['draft'] as GramDraft).className, 'DraftMessageEmpty');
      assert.equal(await dialogDraft(second, String(CHAT_ID)), undefined);

      // A draft in a private chat (with the bot), then removed by an empty draft.
      const botPeer = await (person as unknown as { getInputEntity(id: unknown): Promise<unknown> }).getInputEntity(bigInt(BOT_ID));
      await saveDraft(person, { peer: botPeer, message: 'psst' });
      const dm = await elsewhere.next(draftUpdate);
      assert.equal((dm['peer'] as { className: string }).className, 'PeerUser');
      assert.equal((await second.invoke(new Messages['GetAllDrafts']!({})) as { updates: unknown[] }).updates.length, 1);
      await saveDraft(person, { peer: botPeer, message: '' });
      assert.equal(((await elsewhere.next(draftUpdate))['draft'] as GramDraft).className, 'DraftMessageEmpty');
      assert.deepEqual((await second.invoke(new Messages['GetAllDrafts']!({})) as { updates: unknown[] }).updates, []);
    });
  });
});

test('the draft store: saves of different chats at once all land; past the cap the oldest goes; a malformed value is none, a span that does not fit is dropped', async () => {
  const state = new LocalState().store('mtproto');
  const drafts = new Drafts(state);
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => drafts.set(1n, `chat${i}`, { text: `draft ${i}`, date: 100 + i })));
  assert.deepEqual(results, [true, true, true, true, true]);
  assert.deepEqual(Object.keys(await drafts.of(1n)).sort(), ['chat0', 'chat1', 'chat2', 'chat3', 'chat4']);

  for (let i = 5; i < MAX_DRAFTS + 2; i++) await drafts.set(1n, `chat${i}`, { text: `draft ${i}`, date: 100 + i });
  const kept = Object.keys(await drafts.of(1n));
  assert.equal(kept.length, MAX_DRAFTS);
  assert.ok(!kept.includes('chat0') && !kept.includes('chat1'), 'the two oldest went');
  assert.ok(kept.includes(`chat${MAX_DRAFTS + 1}`));
  await drafts.set(1n, 'chat2', undefined);
  assert.ok(!('chat2' in await drafts.of(1n)));

  await state.set('drafts:2', 'not json');
  assert.deepEqual({ ...await drafts.of(2n) }, {});
  await state.set('drafts:2', JSON.stringify({ a: { text: 'hi', date: 1, spans: [{ type: 'bold', offset: 0, length: 9 }] }, b: { text: 7, date: 1 }, c: { text: 'ok', date: 2, reply: 'x' } }));
  assert.deepEqual({ ...await drafts.of(2n) }, { a: { text: 'hi', date: 1 } });
  // A save over a malformed value starts afresh.
  assert.equal(await drafts.set(2n, 'd', { text: 'new', date: 3 }), true);
  assert.deepEqual(Object.keys(await drafts.of(2n)).sort(), ['a', 'd']);
});

test('a draft in each layer\'s shape: reply_to_msg_id up to layer 165, an InputReplyTo from 174; it encodes in every layer served', () => {
  const codec = new LayeredCodec();
  const people = { userRef: () => undefined, userIdOf: () => undefined };
  const draft = { text: 'bold start', spans: [{ type: 'bold' as const, offset: 0, length: 4 }], reply: 42, date: 1_700_000_000 };
  for (const layer of codec.layers.layers) {
    const view = { account: undefined as never, schema: codec.schemaFor(layer), now: 0 };
    const obj = draftObject({ people }, draft, view);
    if (layer <= 165) assert.equal(obj['reply_to_msg_id'], 42, `layer ${layer}`);
    else assert.deepEqual(obj['reply_to'], { _: 'inputReplyToMessage', reply_to_msg_id: 42 }, `layer ${layer}`);
    const update = { _: 'updateDraftMessage', peer: { _: 'peerChat', chat_id: 1001n }, draft: obj };
    assert.ok(codec.encode(layer, update).length > 0, `layer ${layer}`);
    assert.ok(codec.encode(layer, { ...update, draft: draftObject({ people }, undefined, view) }).length > 0);
  }
});
