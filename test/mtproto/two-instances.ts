// Two instances of the app on one redis-server (one deployment: the same bot token,
// key-encryption key, accounts and bridges), with a stock gramjs client on each and a WS client.
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { generateBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { generateKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { BOT_ID, WS_TOKEN, chatClient, loginBot, loginPerson, shutdown, startChatBridge, type ChatBridge, type ChatBridgeOptions, type ChatClient } from './chat-harness.ts';

export interface TwoInstances {
  readonly a: ChatBridge;
  readonly b: ChatBridge;
  /** The bot, logged in on A; the person, on B; a WS client (alice) on A. */
  readonly bot: ChatClient;
  readonly person: ChatClient;
  readonly ws: TestClient;
}

/** One deployment of two instances on one redis-server, the clients logged in; everything stopped afterwards, also on failure. */
export async function withTwoInstances(body: (t: TwoInstances) => Promise<void>, extra = '', opts: Pick<ChatBridgeOptions, 'personModerator' | 'wsModerator' | 'files'> = {}): Promise<void> {
  const redis = await startRedis();
  const bridges: ChatBridge[] = [];
  try {
    // One deployment: the same bot token and key-encryption key (the salt secret is drawn once, in Redis).
    const shared = { redisUrl: redis.url, botToken: generateBotToken(BOT_ID), keyEncryptionKey: generateKek(), ...opts };
    // One process, two instances: their ids must differ (leases and fan-out tell instances apart by them).
    bridges.push(await startChatBridge({ ...shared, extra: `instance: { id: instance-a }\n${extra}` }));
    bridges.push(await startChatBridge({ ...shared, extra: `instance: { id: instance-b }\n${extra}` }));
    const [a, b] = bridges as [ChatBridge, ChatBridge];
    const bot = chatClient(a.mtprotoPort());
    const person = chatClient(b.mtprotoPort());
    const ws = await connectClient(a.wsUrl(), WS_TOKEN);
    try {
      await loginBot(a, bot);
      await loginPerson(b, person);
      await bot.getDialogs();
      await person.getDialogs();
      await body({ a, b, bot, person, ws });
    } finally {
      await ws.close();
      await shutdown(bot);
      await shutdown(person);
    }
  } finally {
    for (const bridge of bridges.reverse()) await bridge.close();
    await redis.stop();
  }
}
