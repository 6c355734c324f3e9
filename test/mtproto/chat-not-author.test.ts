// An edit or retraction from another network changes a message on MTProto only when its sender
// sent that message. The bus carries what each network sent, and not every network checks this
// (an XMPP room passes on any occupant's correction of anyone's message); the MTProto methods
// refuse their own users' (MESSAGE_AUTHOR_REQUIRED), and the connector drops the others'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOT_ID, CHAT_ID, loginBot, updateRecorder, withChatClient, wsEvent, type GramMessage, type GramUpdate } from './chat-harness.ts';
import { metricValue } from './harness.ts';

const PEER = -CHAT_ID;
const messageOf = (u: GramUpdate) => u['message'] as GramMessage;

test('a WS user\'s edit and retraction of the MTProto bot\'s message are not applied (counted, logged); her own edit of her message is', { timeout: 120_000 }, async () => {
  await withChatClient(loginBot, async (bridge, client, ws) => {
    const rec = updateRecorder(client);
    await client.getDialogs();
    const notAuthor = (kind: string) => metricValue(bridge.app.registry, 'switchboard_mtproto_not_author_total', { kind });

    const mine = await client.sendMessage(PEER, { message: 'the bot said this' });
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === 'the bot said this');
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(BOT_ID), name: 'Relay Bot' });

    // Alice (WS) edits and retracts the bot's message: the bus takes both, the MTProto chat does not.
    const forged = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: e1.id, text: 'words put in its mouth' } });
    assert.equal(forged.type, 'ack');
    const gone = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: e1.id } });
    assert.equal(gone.type, 'ack');
    // Then something that is applied, so that the two above had their turn before it.
    const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'alice writes' } });
    const hers = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'alice writes'));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ack['id'], text: 'alice writes (edited)' } });
    const edited = messageOf(await rec.next((u) => u.className === 'UpdateEditMessage' && messageOf(u).id === hers.id));
    assert.equal(edited.message, 'alice writes (edited)');

    assert.equal(rec.all.some((u) => (u.className === 'UpdateEditMessage' && messageOf(u).id === mine.id) || u.className === 'UpdateDeleteMessages'), false,
      'no update changed the bot\'s message');
    const [still] = await client.getMessages(PEER, { ids: [mine.id] });
    assert.equal(still?.message, 'the bot said this');
    assert.equal(still?.editDate ?? undefined, undefined);
    assert.equal(await notAuthor('edit'), 1);
    assert.equal(await notAuthor('retract'), 1);
  });
});
