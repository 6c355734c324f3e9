// bridges/ reloaded on a deployment of two instances on one redis-server, each with its own
// config tree and its own SIGHUP (app.reloadBridges): the first instance to take a change writes
// its service message, once; the clients of each instance are told when their own instance takes
// it, and every instance's history and pts agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, BOT_ID, PERSON_ID, updateRecorder, type ChatBridge, type GramMessage, type GramUpdate } from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';
import { withTwoInstances } from './two-instances.ts';

const OPS_ID = 1002;
const OPS_PEER = -OPS_ID;
const OPS_FILE = 'bridges/ops.yaml';
const OPS_BRIDGE = `endpoints:\n  - websocket: ops\n  - mtproto: ${OPS_ID}\n`;

interface ServiceMessage { className: string; id: number; action?: { className: string; userId?: { toString(): string } } }

/** Rewrites (or removes: undefined) the ops bridge file and reloads. */
async function reload(bridge: ChatBridge, text: string | undefined): Promise<void> {
  await reloadBridgeFiles(bridge, { [OPS_FILE]: text });
}

const serviceIn = (action: string) => (u: GramUpdate) => {
  const m = u['message'] as (ServiceMessage & { peerId?: { chatId?: { toString(): string } } }) | undefined;
  return u.className === 'UpdateNewMessage' && m?.action?.className === action && m.peerId?.chatId?.toString() === String(OPS_ID);
};

test('two instances, each reloaded on its own: one service message per change, each instance\'s clients told when it takes it', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, bot, person }) => {
    const botUpdates = updateRecorder(bot);
    const personUpdates = updateRecorder(person);
    const personBefore = (await person.invoke(new Api.updates.GetState())) as { pts: number };

    // A takes the new group: its client is told; B's is not, until B takes it too.
    await reload(a, OPS_BRIDGE);
    const onA = await botUpdates.next(serviceIn('MessageActionChatCreate'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(personUpdates.all.filter(serviceIn('MessageActionChatCreate')).length, 0, 'B serves the old table until its own reload');
    await reload(b, OPS_BRIDGE);
    const onB = await personUpdates.next(serviceIn('MessageActionChatCreate'));
    assert.equal((onB['message'] as ServiceMessage).id, (onA['message'] as ServiceMessage).id, 'the one message A wrote');
    assert.equal(onB['pts'], personBefore.pts + 1);
    assert.equal(personUpdates.all.filter(serviceIn('MessageActionChatCreate')).length, 1, 'B wrote none of its own');

    // Both talk in it, across the instances.
    await person.sendMessage(OPS_PEER, { message: 'hello from B' });
    await botUpdates.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'hello from B');

    // Unlinked, B first this time: one removal, seen by each.
    await reload(b, undefined);
    const removedB = await personUpdates.next(serviceIn('MessageActionChatDeleteUser'));
    assert.equal((removedB['message'] as ServiceMessage).action?.userId?.toString(), String(PERSON_ID));
    await reload(a, undefined);
    const removedA = await botUpdates.next(serviceIn('MessageActionChatDeleteUser'));
    assert.equal((removedA['message'] as ServiceMessage).action?.userId?.toString(), String(BOT_ID), 'each sees its own removal');
    assert.equal((removedA['message'] as ServiceMessage).id, (removedB['message'] as ServiceMessage).id);

    // One message per change in the group's log, whichever instance is asked.
    const history = async (client: typeof bot) => {
      const got = await client.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100 })) as { messages: Array<ServiceMessage & { peerId?: { chatId?: { toString(): string } } }> };
      return got.messages.filter((m) => m.peerId?.chatId?.toString() === String(OPS_ID)).map((m) => [m.id, m.action?.className]);
    };
    assert.deepEqual(await history(bot), await history(person));
    assert.equal(botUpdates.all.filter(serviceIn('MessageActionChatDeleteUser')).length, 1);
    assert.equal(personUpdates.all.filter(serviceIn('MessageActionChatDeleteUser')).length, 1);
  });
});

test('two instances: a reload on the instance that does not write the logs, between two messages to the group, loses neither', { timeout: 120_000 }, async () => {
  await withTwoInstances(async ({ a, b, bot, person, ws }) => {
    await ws.request({ type: 'join', room: 'ops' });
    const botUpdates = updateRecorder(bot);
    const said = async (text: string) => {
      const ack = await ws.request({ type: 'send', room: 'ops', event: { kind: 'message', text } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      await botUpdates.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === text);
    };
    // A delivers (it started first); B takes the move and writes its message between A's two batches.
    await said('before the move');
    await reload(b, `room: ops-renamed\n${OPS_BRIDGE}`);
    await said('right after the move');
    await reload(a, `room: ops-renamed\n${OPS_BRIDGE}`);
    await botUpdates.next(serviceIn('MessageActionChatEditTitle'));

    const history = async (client: typeof bot) => [...await client.getMessages(OPS_PEER, { limit: 10 })].map((m) => m.message || (m as unknown as ServiceMessage).action?.className);
    const onA = await history(bot);
    assert.deepEqual(onA.slice(0, 3), ['right after the move', 'MessageActionChatEditTitle', 'before the move']);
    assert.deepEqual(await history(person), onA);
  }, '', { files: { [OPS_FILE]: OPS_BRIDGE } });
});
