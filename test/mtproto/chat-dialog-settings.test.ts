// How an account arranges its chats, the same on all its devices: pinned chats (toggle, reorder,
// the pinned list, first in dialogs), chats marked unread (reading takes the mark off) and
// notification settings (a chat's, a kind's, reset). Each change reaches the account's other
// session, not the calling one and not another account. The store: at most five pinned, saves
// at once all land, a malformed value is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { DialogSettings, MAX_PINNED } from '../../src/connectors/mtproto/chat/dialog-settings.ts';
import { Api, CHAT_ID, bigInt, rpcError, updateRecorder, withPersonAndBot, withSecondSession, type ChatClient, type GramUpdate } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor> & { messages: Record<string, Ctor>; account: Record<string, Ctor> };
const chat = (id: number) => new Api.InputPeerChat({ chatId: bigInt(id) });
const dialogPeer = (id: number) => new A['InputDialogPeer']!({ peer: chat(id) });
const files = { 'bridges/den.yaml': 'endpoints:\n  - websocket: den\n  - mtproto: 1002\n', 'bridges/attic.yaml': 'endpoints:\n  - websocket: attic\n  - mtproto: 1003\n' };

interface RawDialog { peer: { chatId?: { toString(): string } }; pinned?: boolean; unreadMark?: boolean; notifySettings: { muteUntil?: number | null; silent?: boolean | null } }
async function dialogs(client: ChatClient, params: Record<string, unknown> = {}): Promise<RawDialog[]> {
  const all = await client.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0), ...params })) as { dialogs: RawDialog[] };
  return all.dialogs;
}
const idOf = (d: RawDialog) => Number(d.peer.chatId?.toString());
const peerIdOf = (u: GramUpdate) => Number(((u['peer'] as { peer?: { chatId?: unknown }; chatId?: unknown }).peer?.chatId ?? (u['peer'] as { chatId?: unknown }).chatId)?.toString());

test('pinned chats, unread marks and notification settings: set in one session, told to the other, shown in dialogs; bad calls change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    await withSecondSession(bridge, async (second) => {
      const elsewhere = updateRecorder(second);
      const own = updateRecorder(person);
      const botSees = updateRecorder(bot);
      const is = (name: string) => (u: GramUpdate) => u.className === name;

      // Pinned: first in dialogs, in the account's order, flagged; not with exclude_pinned.
      await person.invoke(new A.messages['ToggleDialogPin']!({ pinned: true, peer: dialogPeer(1003) }));
      const pinned = await elsewhere.next(is('UpdateDialogPinned'));
      assert.deepEqual([pinned['pinned'], peerIdOf(pinned)], [true, 1003]);
      await person.invoke(new A.messages['ToggleDialogPin']!({ pinned: true, peer: dialogPeer(1002) }));
      await elsewhere.next(is('UpdateDialogPinned'));
      let list = await dialogs(second);
      assert.deepEqual(list.slice(0, 2).map((d) => [idOf(d), d.pinned]), [[1003, true], [1002, true]]);
      assert.ok(!list.find((d) => idOf(d) === CHAT_ID)?.pinned);
      assert.deepEqual((await dialogs(second, { excludePinned: true })).map(idOf), [CHAT_ID]);
      assert.deepEqual(await dialogs(second, { folderId: 1 }), [], 'nothing archived');

      await person.invoke(new A.messages['ReorderPinnedDialogs']!({ folderId: 0, order: [dialogPeer(1002), dialogPeer(1003)] }));
      const order = await elsewhere.next(is('UpdatePinnedDialogs'));
      assert.deepEqual((order['order'] as Array<{ peer: { chatId: unknown } }>).map((p) => Number(String(p.peer.chatId))), [1002, 1003]);
      const pinnedList = await second.invoke(new A.messages['GetPinnedDialogs']!({ folderId: 0 })) as { dialogs: RawDialog[] };
      assert.deepEqual(pinnedList.dialogs.map(idOf), [1002, 1003]);
      assert.deepEqual((await second.invoke(new A.messages['GetPinnedDialogs']!({ folderId: 1 })) as { dialogs: unknown[] }).dialogs, [], 'no other folders');

      // Paging one dialog at a time, as a client whose page is smaller than its pins: from a
      // pinned one on come the pinned after it, then every other chat, even one whose top message
      // is newer than the pinned one's (the lobby's, here); nothing twice, nothing left out.
      await person.sendMessage(-CHAT_ID, { message: 'the newest message of all' });
      const paged: number[] = [];
      let offset = { peer: new Api.InputPeerEmpty() as object, id: 0, date: 0 };
      for (let i = 0; i < 5; i++) {
        const page = await second.invoke(new Api.messages.GetDialogs({ offsetPeer: offset.peer, offsetId: offset.id, offsetDate: offset.date, limit: 1, hash: bigInt(0) })) as { dialogs: Array<RawDialog & { topMessage: number }>; messages: Array<{ id: number; date: number }> };
        if (page.dialogs.length === 0) break;
        const last = page.dialogs[page.dialogs.length - 1]!;
        paged.push(...page.dialogs.map(idOf));
        offset = { peer: chat(idOf(last)) as object, id: last.topMessage, date: page.messages.find((m) => m.id === last.topMessage)!.date };
      }
      assert.deepEqual(paged, [1002, 1003, CHAT_ID]);

      // Refused, and the pins stay: another folder, six at once, a chat not seen.
      assert.equal(await rpcError(person.invoke(new A.messages['ReorderPinnedDialogs']!({ folderId: 1, order: [dialogPeer(1002)] }))), 'FOLDER_ID_INVALID');
      assert.equal(await rpcError(person.invoke(new A.messages['ReorderPinnedDialogs']!({ folderId: 0, order: [1001, 1002, 1003, 1001, 1002, 1003].map(dialogPeer) }))), 'PINNED_DIALOGS_TOO_MUCH');
      assert.equal(await rpcError(person.invoke(new A.messages['ToggleDialogPin']!({ pinned: true, peer: dialogPeer(4242) }))), 'PEER_ID_INVALID');
      assert.deepEqual((await dialogs(second)).slice(0, 2).map(idOf), [1002, 1003]);

      // Forced: exactly these are pinned.
      await person.invoke(new A.messages['ReorderPinnedDialogs']!({ folderId: 0, force: true, order: [dialogPeer(1003)] }));
      await elsewhere.next(is('UpdatePinnedDialogs'));
      list = await dialogs(second);
      assert.deepEqual(list.filter((d) => d.pinned).map(idOf), [1003]);
      await person.invoke(new A.messages['ToggleDialogPin']!({ peer: dialogPeer(1003) }));
      const unpinned = await elsewhere.next(is('UpdateDialogPinned'));
      assert.ok(!unpinned['pinned']);
      assert.deepEqual((await dialogs(second)).filter((d) => d.pinned), []);

      // A new chat holds only its creation (a service message): reading it marks it read without
      // a receipt (no canonical message to point at); it cannot be reacted or replied to.
      const created = (await dialogs(second)).find((d) => idOf(d) === 1002) as unknown as { topMessage: number };
      assert.equal(await rpcError(person.invoke(new Api.messages.SendReaction({ peer: chat(1002), msgId: created.topMessage, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }))), 'MESSAGE_ID_INVALID');
      assert.equal(await rpcError(person.sendMessage(-1002, { message: 'to the creation', replyTo: created.topMessage })), 'MESSAGE_ID_INVALID');

      // Marked unread, then read: the mark goes, and the other session is told both times.
      await person.invoke(new A.messages['MarkDialogUnread']!({ unread: true, peer: dialogPeer(1002) }));
      const marked = await elsewhere.next(is('UpdateDialogUnreadMark'));
      assert.deepEqual([marked['unread'], peerIdOf(marked)], [true, 1002]);
      assert.deepEqual(((await second.invoke(new A.messages['GetDialogUnreadMarks']!({}))) as Array<{ peer: { chatId: unknown } }>).map((p) => Number(String(p.peer.chatId))), [1002]);
      assert.equal((await dialogs(second)).find((d) => idOf(d) === 1002)?.unreadMark, true);
      await person.invoke(new Api.messages.ReadHistory({ peer: chat(1002), maxId: 0 }));
      assert.ok(!(await elsewhere.next(is('UpdateDialogUnreadMark')))['unread']);
      assert.deepEqual(await second.invoke(new A.messages['GetDialogUnreadMarks']!({})), []);

      // Notifications: a chat muted and silent; the default of all groups without previews; reset.
      const forever = 2_147_483_647;
      const Settings = A['InputPeerNotifySettings']!;
      await person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(CHAT_ID) }), settings: new Settings({ muteUntil: forever, silent: true }) }));
      const muted = await elsewhere.next(is('UpdateNotifySettings'));
      assert.equal(peerIdOf(muted), CHAT_ID);
      assert.equal((muted['notifySettings'] as { muteUntil: number }).muteUntil, forever);
      const got = await second.invoke(new A.account['GetNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(CHAT_ID) }) })) as { muteUntil?: number; silent?: boolean };
      assert.deepEqual([got.muteUntil, got.silent], [forever, true]);
      assert.equal((await dialogs(second)).find((d) => idOf(d) === CHAT_ID)?.notifySettings.muteUntil, forever);
      await person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyChats']!({}), settings: new Settings({ showPreviews: false }) }));
      assert.equal(((await elsewhere.next(is('UpdateNotifySettings')))['peer'] as { className: string }).className, 'NotifyChats');
      assert.equal((await second.invoke(new A.account['GetNotifySettings']!({ peer: new A['InputNotifyChats']!({}) })) as { showPreviews?: boolean }).showPreviews, false);
      assert.equal(await rpcError(person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(4242) }), settings: new Settings({ muteUntil: 1 }) }))), 'PEER_ID_INVALID');
      // The exceptions screen: the muted chat alone (the default of all groups is no exception), with its chat.
      type Exceptions = { updates: Array<{ className: string; peer: { peer: { chatId: { toString(): string } } }; notifySettings: { muteUntil?: number } }>; chats: Array<{ id: { toString(): string } }> };
      const exceptions = await second.invoke(new A.account['GetNotifyExceptions']!({})) as Exceptions;
      assert.deepEqual(exceptions.updates.map((u) => [u.className, Number(u.peer.peer.chatId.toString()), u.notifySettings.muteUntil]), [['UpdateNotifySettings', CHAT_ID, forever]]);
      assert.deepEqual(exceptions.chats.map((c) => Number(c.id.toString())), [CHAT_ID]);
      const one = await second.invoke(new A.account['GetNotifyExceptions']!({ peer: new A['InputNotifyPeer']!({ peer: chat(1002) }) })) as Exceptions;
      assert.deepEqual(one.updates, [], 'only the chat asked about, which has none');
      await person.invoke(new A.account['ResetNotifySettings']!({}));
      assert.deepEqual(((await second.invoke(new A.account['GetNotifyExceptions']!({}))) as Exceptions).updates, [], 'reset: no exceptions left');
      const reset = await second.invoke(new A.account['GetNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(CHAT_ID) }) })) as { muteUntil?: number | null };
      assert.ok(!reset.muteUntil);

      // Only the account's other session was told; the bot saw none of it and shows none of it.
      assert.equal(own.all.filter((u) => /Dialog|Notify/.test(u.className)).length, 0);
      assert.equal(botSees.all.filter((u) => /Dialog|Notify/.test(u.className)).length, 0);
      assert.deepEqual((await dialogs(bot)).filter((d) => d.pinned || d.unreadMark).map(idOf), []);
    });
  }, { files });
});

test('the archive: chats moved there leave the main list, are listed in folder 1, come back with a new message unless muted (told with it); told to the other session; unpinned; bad calls change nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, _bot, ws) => {
    await withSecondSession(bridge, async (second) => {
      const elsewhere = updateRecorder(second);
      const folders = (A as unknown as { folders: Record<string, Ctor> }).folders;
      const move = (id: number, folderId: number) => new A['InputFolderPeer']!({ peer: chat(id), folderId });
      const folderOf = (u: GramUpdate) => (u['folderPeers'] as Array<{ peer: { chatId: unknown }; folderId: number }>).map((p) => [Number(String(p.peer.chatId)), p.folderId]);
      await person.invoke(new A.messages['ToggleDialogPin']!({ pinned: true, peer: dialogPeer(1002) }));
      await elsewhere.next((u) => u.className === 'UpdateDialogPinned');
      // den (1002, pinned) and attic (1003, muted) go to the archive.
      await person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(1003) }), settings: new A['InputPeerNotifySettings']!({ muteUntil: 2 ** 31 - 1 }) }));
      const answer = await person.invoke(new folders['EditPeerFolders']!({ folderPeers: [move(1002, 1), move(1003, 1)] })) as { updates: GramUpdate[] };
      assert.deepEqual(answer.updates.map((u) => [u.className, folderOf(u)]), [['UpdateFolderPeers', [[1002, 1], [1003, 1]]]]);
      assert.deepEqual(folderOf(await elsewhere.next((u) => u.className === 'UpdateFolderPeers')), [[1002, 1], [1003, 1]]);
      await elsewhere.next((u) => u.className === 'UpdatePinnedDialogs');
      assert.deepEqual((await dialogs(second)).map(idOf), [CHAT_ID], 'the main list');
      const archive = await dialogs(second, { folderId: 1 });
      assert.deepEqual(archive.map((d) => [idOf(d), (d as RawDialog & { folderId?: number }).folderId, d.pinned]).sort(), [[1002, 1, false], [1003, 1, false]], 'the archive, unpinned');
      // A message in den (not muted) takes it back; one in attic (muted when archived) leaves it there.
      await ws.request({ type: 'join', room: 'den' });
      await ws.request({ type: 'join', room: 'attic' });
      await ws.request({ type: 'send', room: 'den', event: { kind: 'message', text: 'back to the list' } });
      await ws.request({ type: 'send', room: 'attic', event: { kind: 'message', text: 'still archived' } });
      await elsewhere.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as { message: string }).message === 'still archived');
      // Told at once, with the message that brought it back (and only for den).
      assert.deepEqual(folderOf(await elsewhere.next((u) => u.className === 'UpdateFolderPeers')), [[1002, 0]]);
      assert.equal(elsewhere.all.filter((u) => u.className === 'UpdateFolderPeers').length, 2, 'the archiving, and den\'s return: nothing for attic');
      assert.deepEqual((await dialogs(second)).map(idOf).sort(), [CHAT_ID, 1002].sort());
      assert.deepEqual((await dialogs(second, { folderId: 1 })).map(idOf), [1003]);
      // Unmuted, attic's next message takes it back too (the mute counts when the message comes).
      await person.invoke(new A.account['UpdateNotifySettings']!({ peer: new A['InputNotifyPeer']!({ peer: chat(1003) }), settings: new A['InputPeerNotifySettings']!({ muteUntil: 0 }) }));
      await ws.request({ type: 'send', room: 'attic', event: { kind: 'message', text: 'unmuted now' } });
      assert.deepEqual(folderOf(await elsewhere.next((u) => u.className === 'UpdateFolderPeers')), [[1003, 0]]);
      assert.deepEqual(await dialogs(second, { folderId: 1 }), []);
      await person.invoke(new folders['EditPeerFolders']!({ folderPeers: [move(1003, 1)] }));
      await elsewhere.next((u) => u.className === 'UpdateFolderPeers' && folderOf(u)[0]?.[1] === 1);
      // Moved back by hand (the older layers' deleteFolder: telethon-interop.test.ts).
      await person.invoke(new folders['EditPeerFolders']!({ folderPeers: [move(1003, 0)] }));
      assert.deepEqual(await dialogs(second, { folderId: 1 }), []);
      // Refused, nothing moved: another folder, a chat he does not see.
      assert.equal(await rpcError(person.invoke(new folders['EditPeerFolders']!({ folderPeers: [move(1002, 1), move(CHAT_ID, 2)] }))), 'FOLDER_ID_INVALID');
      assert.equal(await rpcError(person.invoke(new folders['EditPeerFolders']!({ folderPeers: [move(1002, 1), move(4242, 1)] }))), 'PEER_ID_INVALID');
      assert.deepEqual(await dialogs(second, { folderId: 1 }), []);
    });
  }, { files });
});

test('the settings store: at most five pinned, pins of different chats at once all land, a malformed value is none', async () => {
  const state = new LocalState().store('mtproto');
  const settings = new DialogSettings(state);
  const outcomes = await Promise.all(['1', '2', '3', '4', '5'].map((a) => settings.pin(1n, a, true)));
  assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok']);
  assert.deepEqual([...(await settings.of(1n)).pinned].sort(), ['1', '2', '3', '4', '5']);
  assert.equal(await settings.pin(1n, '6', true), 'too-many');
  assert.equal((await settings.of(1n)).pinned.length, MAX_PINNED);
  assert.equal(await settings.pin(1n, '3', true), 'ok', 'pinning a pinned chat again changes nothing');
  assert.equal(await settings.reorder(1n, ['5', '4'], false), 'ok');
  const reordered = (await settings.of(1n)).pinned;
  assert.deepEqual(reordered.slice(0, 2), ['5', '4'], 'the named first, in order');
  assert.deepEqual([...reordered].sort(), ['1', '2', '3', '4', '5'], 'the others stay pinned after them');
  assert.equal(await settings.reorder(1n, ['6', '1'], false), 'too-many', 'a sixth through a reorder');
  assert.equal(await settings.reorder(1n, ['2'], true), 'ok');
  assert.deepEqual((await settings.of(1n)).pinned, ['2']);
  assert.equal(await settings.markUnread(1n, '9', true), true);
  assert.equal(await settings.markUnread(1n, '9', true), false, 'already marked: nothing changed');

  for (const bad of ['not json', '[1,2]', '{"pinned":"x","unread":[1,"a"],"notify":{"1":{"muteUntil":"soon","silent":true}}}']) {
    await state.set('dialogs:2', bad);
    const s = await settings.of(2n);
    assert.deepEqual([s.pinned, s.unread], bad.startsWith('{') ? [[], ['a']] : [[], []], bad);
    if (bad.startsWith('{')) assert.deepEqual({ ...s.notify['1'] }, { silent: true });
  }
});
