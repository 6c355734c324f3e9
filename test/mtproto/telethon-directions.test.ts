// A read-only group (bridges/ `direction: receive-only`) seen from a second client library, in
// another language: a stock Telethon (Debian's python3-telethon 1.25, layer 144) logged in as the
// bot, run as a child process by test/mtproto/telethon-directions.py. It decodes the group's
// default rights (writing taken, reading not), is refused with its ChatWriteForbiddenError, and
// decodes the updateChatDefaultBannedRights a reload to `both` pushes, after which it may write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CHAT_ID, startChatBridge, wsEvent } from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';
import { withTelethonBot } from './telethon-bot.ts';

const SCRIPT = fileURLToPath(new URL('./telethon-directions.py', import.meta.url));
const LOBBY = (direction: string) => `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n    direction: ${direction}\n`;

test('a stock Telethon client (layer 144) sees a read-only group\'s rights, is refused CHAT_WRITE_FORBIDDEN, and is told when a reload makes it writable', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ files: { 'bridges/lobby.yaml': LOBBY('receive-only') } });
  await withTelethonBot(SCRIPT, bridge, CHAT_ID, async (telethon, ws) => {
    await ws.request({ type: 'join', room: 'lobby' });
    const readOnly = await telethon.step('read-only');
    assert.deepEqual([readOnly['send_messages'], readOnly['view_messages'], readOnly['refused']], [true, false, 'ChatWriteForbiddenError']);

    await reloadBridgeFiles(bridge, { 'bridges/lobby.yaml': LOBBY('both') });
    telethon.write('writable');
    const writable = await telethon.step('writable');
    assert.deepEqual([writable['send_messages'], writable['sent']], [false, 'telethon, writable again']);
    const got = await wsEvent(ws, 'message', (e) => e['text'] === 'telethon, writable again');
    assert.equal(got['room'], 'lobby');
    await telethon.step('done');
  });
});
