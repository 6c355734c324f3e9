// config.yaml's MTProto accounts reloaded on a deployment of two instances on one redis-server,
// each with its own config tree and its own SIGHUP: a bot token rotated on A ends the bot's login
// on B at once (A's note), before B reloads; B, lagging, still takes the old token, but once B
// reloads that login ends too; the new token works on both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startRedis } from '../helpers/redis.ts';
import { mtprotoOf } from '../helpers/app.ts';
import { generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { generateKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { Api, BOT_ID, chatClient, rpcError, shutdown, startChatBridge, type ChatBridge, type ChatClient } from './chat-harness.ts';

async function reloadWith(bridge: ChatBridge, edit: (yaml: string) => string): Promise<void> {
  bridge.tree.write('config.yaml', edit(readFileSync(bridge.tree.configFile, 'utf8')));
  const outcome = await bridge.app.reload();
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  await mtprotoOf(bridge.app)!.reloaded;
}

const getState = (c: ChatClient) => rpcError(c.invoke(new Api.updates.GetState()));

async function loginWith(bridge: ChatBridge, token: string): Promise<ChatClient> {
  const client = chatClient(bridge.mtprotoPort());
  await client.start({ botAuthToken: token, onError: (err: unknown) => { throw err; } });
  return client;
}

/** Polls `call` until it answers `expected`, at most `ms` (an instance told by a note applies it within milliseconds). */
async function answers(call: () => Promise<string>, expected: string, ms: number): Promise<string> {
  const end = Date.now() + ms;
  let got = await call();
  while (got !== expected && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    got = await call();
  }
  return got;
}

test('a bot token rotated on A: the login on B ends before B reloads; a login B took with the old token meanwhile ends with B\'s reload', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const bridges: ChatBridge[] = [];
  const clients: ChatClient[] = [];
  try {
    const oldToken = generateBotToken(BOT_ID);
    const newToken = generateBotToken(BOT_ID);
    const shared = { redisUrl: redis.url, botToken: oldToken, keyEncryptionKey: generateKek() };
    bridges.push(await startChatBridge({ ...shared, extra: 'instance: { id: instance-a }\n' }));
    bridges.push(await startChatBridge({ ...shared, extra: 'instance: { id: instance-b }\n' }));
    const [a, b] = bridges as [ChatBridge, ChatBridge];
    const onB = await loginWith(b, oldToken);
    clients.push(onB);
    assert.equal(await getState(onB), 'no error');

    const rotate = (yaml: string) => yaml.replace(hashBotToken(oldToken), hashBotToken(newToken));
    await reloadWith(a, rotate);
    // Within the note's milliseconds, not the login cache's seconds.
    assert.equal(await answers(() => getState(onB), 'AUTH_KEY_UNREGISTERED', 1_000), 'AUTH_KEY_UNREGISTERED', 'A\'s reload ended the login made on B');

    // B has not reloaded: it still takes the old token (an instance may lag behind its SIGHUP)...
    const lagging = await loginWith(b, oldToken);
    clients.push(lagging);
    assert.equal(await getState(lagging), 'no error');
    // ...until it reloads: that login was made with a token that is no longer the bot's.
    await reloadWith(b, rotate);
    assert.equal(await getState(lagging), 'AUTH_KEY_UNREGISTERED');

    for (const bridge of [a, b]) {
      const renewed = await loginWith(bridge, newToken);
      clients.push(renewed);
      assert.equal(await getState(renewed), 'no error');
    }
  } finally {
    for (const c of clients) await shutdown(c);
    for (const bridge of bridges) await bridge.close();
    await redis.stop();
  }
});
