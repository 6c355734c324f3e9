import { pythonWith, runPythonChild, type PythonChild } from '../helpers/python-child.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { WS_TOKEN, chatServerKey, type ChatBridge } from './chat-harness.ts';

/**
 * Runs a Telethon step script (telethon_steps.py `bot_client`: logged in as the bridge's bot, told
 * the chat id) beside a WS client of the same bridge, and stops all three however the body ends.
 * A failure carries the script's stderr: Telethon's own traceback is usually the answer.
 */
export async function withTelethonBot(script: string, bridge: ChatBridge, chatId: number, body: (telethon: PythonChild, ws: TestClient) => Promise<void>): Promise<void> {
  const key = chatServerKey();
  const telethon = runPythonChild(pythonWith('telethon, rsa', 'Telethon', 'python3-telethon'), script,
    [String(bridge.mtprotoPort()), key.n.toString(), key.e.toString(), bridge.botToken, String(chatId)], 'Telethon', 30_000);
  try {
    const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    try {
      await body(telethon, ws);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${telethon.stderr()}`);
    } finally {
      await ws.close();
    }
  } finally {
    await telethon.stop();
    await bridge.close();
  }
}
