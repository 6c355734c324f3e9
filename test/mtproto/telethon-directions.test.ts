// A read-only group (bridges/ `direction: receive-only`) seen from a second client library, in
// another language: a stock Telethon (Debian's python3-telethon 1.25, layer 144) logged in as the
// bot, run as a child process by test/mtproto/telethon-directions.py. It decodes the group's
// default rights (writing taken, reading not), is refused with its ChatWriteForbiddenError, and
// decodes the updateChatDefaultBannedRights a reload to `both` pushes, after which it may write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { pythonWith, runPythonChild } from '../helpers/python-child.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { CHAT_ID, WS_TOKEN, chatServerKey, startChatBridge, wsEvent } from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';

const SCRIPT = fileURLToPath(new URL('./telethon-directions.py', import.meta.url));
const LOBBY = (direction: string) => `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n    direction: ${direction}\n`;

test('a stock Telethon client (layer 144) sees a read-only group\'s rights, is refused CHAT_WRITE_FORBIDDEN, and is told when a reload makes it writable', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ files: { 'bridges/lobby.yaml': LOBBY('receive-only') } });
  const key = chatServerKey();
  const telethon = runPythonChild(pythonWith('telethon, rsa', 'Telethon', 'python3-telethon'), SCRIPT,
    [String(bridge.mtprotoPort()), key.n.toString(), key.e.toString(), bridge.botToken, String(CHAT_ID)], 'Telethon', 30_000);
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
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
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${telethon.stderr()}`);
  } finally {
    await ws.close();
    await telethon.stop();
    await bridge.close();
  }
});
