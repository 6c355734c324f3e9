// bridges/ reloads seen from a third client library, in another language: a stock Telethon
// (Debian's python3-telethon 1.25, layer 144) logged in as the bot, run as a child process by
// test/mtproto/telethon-reload.py. Telethon checks every pts it is given: a group linked and
// then unlinked by app.reloadBridges reaches it as the service messages Telegram sends (added,
// then removed: the bot itself), in order, without a gap it would have to fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BOT_ID, CHAT_ID, startChatBridge, wsEvent, type ChatBridge } from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';
import { withTelethonBot } from './telethon-bot.ts';

const SCRIPT = fileURLToPath(new URL('./telethon-reload.py', import.meta.url));
const OPS_ID = 1002;
const OPS_FILE = 'bridges/ops.yaml';

/** Rewrites (or removes: undefined) the ops bridge file and reloads. */
async function reload(bridge: ChatBridge, text: string | undefined): Promise<void> {
  await reloadBridgeFiles(bridge, { [OPS_FILE]: text });
}

test('a stock Telethon client (layer 144) is told of a group linked and then unlinked by reloads, speaks in it between, and is refused after', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge();
  await withTelethonBot(SCRIPT, bridge, OPS_ID, async (telethon, ws) => {
    await telethon.step('ready');
    await reload(bridge, `endpoints:\n  - websocket: ops\n  - mtproto: ${OPS_ID}\n`);
    await ws.request({ type: 'join', room: 'ops' });
    telethon.write('linked');
    const added = await telethon.step('added');
    assert.deepEqual([added['action'], added['sent']], ['MessageActionChatCreate', 'hello from telethon in ops']);
    const got = await wsEvent(ws, 'message', (e) => e['text'] === 'hello from telethon in ops');
    assert.deepEqual([got['room'], (got['sender'] as { id: string }).id], ['ops', String(BOT_ID)]);

    await reload(bridge, undefined);
    telethon.write('unlinked');
    const removed = await telethon.step('removed');
    assert.deepEqual([removed['action'], removed['user'], removed['refused']], ['MessageActionChatDeleteUser', BOT_ID, 'ChatWriteForbiddenError']);
    assert.deepEqual(removed['dialogs'], [[-OPS_ID, 'ChatForbidden'], [-CHAT_ID, 'Chat']], 'the group it was removed from is still listed, as Telegram lists it');
    await telethon.step('done');
  });
});
