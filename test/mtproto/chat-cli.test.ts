// The admin's side of MTProto logins: `switchboard token --mtproto-bot` issues a bot token and the
// config entry holding only its hash; `switchboard mtproto-code --phone` shows the code a
// person's login is waiting for, read from the running bridge's state (the memory driver's state
// file, or Redis), as a separate process, as an operator would run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { parse } from 'yaml';
import { main } from '../../src/cli.ts';
import type { Io } from '../../src/cli/args.ts';
import { MtprotoAccountSchema } from '../../src/config/schema.ts';
import { hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { startRedis } from '../helpers/redis.ts';
import { Api, BOT_ID, PERSON_PHONE, chatClient, shutdown, startChatBridge, type ChatBridge } from './chat-harness.ts';

interface Run { code: number | null; stdout: string; stderr: string }

async function inProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (l) => { stdout += `${l}\n`; }, err: (l) => { stderr += `${l}\n`; } };
  return { code: await main(args, io), stdout, stderr };
}

function subprocess(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); reject(new Error(`cli ${args.join(' ')} timed out`)); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('switchboard token --mtproto-bot: prints the token once and an account entry with only its hash', async () => {
  const r = await inProcess(['token', '--mtproto-bot', '5001', '--name', 'relaybot', '--display-name', 'Relay Bot', '--rooms', 'lobby']);
  assert.equal(r.code, 0, r.stderr);
  const token = /^ {2}(5001:sb_[\w-]{43})$/m.exec(r.stdout)?.[1];
  assert.ok(token, r.stdout);
  const yaml = r.stdout.split('\n').filter((l) => l.startsWith('    ')).join('\n');
  const [entry] = parse(yaml) as unknown[];
  const parsed = MtprotoAccountSchema.parse(entry);
  assert.deepEqual(parsed, { id: 5001, bot: true, firstName: 'Relay Bot', username: 'relaybot', tokenHash: hashBotToken(token), rooms: ['lobby'] });
  assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('    ') && l.includes(token)), 'the token itself is not in the entry');

  assert.equal((await inProcess(['token', '--mtproto-bot', 'abc', '--name', 'x'])).code, 2);
  assert.equal((await inProcess(['token', '--mtproto-bot', String(2 ** 40), '--name', 'bigbot'])).code, 2, 'ids stay below 2^39');
  assert.equal((await inProcess(['token', '--mtproto-bot', '5001', '--name', 'x', '--scope', 'bot'])).code, 2);
});

async function codeRoundTrip(bridge: ChatBridge): Promise<void> {
  const none = await subprocess(['mtproto-code', '--phone', PERSON_PHONE, '--config', bridge.tree.configFile]);
  assert.equal(none.code, 3, 'no code is waiting yet');
  assert.match(none.stderr, /no login code is waiting/);
  const unknown = await subprocess(['mtproto-code', '--phone', '+1 555 0000', '--config', bridge.tree.configFile]);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no MTProto account has the phone number/);

  const client = chatClient(bridge.mtprotoPort());
  try {
    await client.connect();
    const sent = (await client.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, apiId: 1, apiHash: 'x', settings: new Api.CodeSettings({}) }))) as { phoneCodeHash: string };
    const shown = await subprocess(['mtproto-code', '--phone', '15550100', '--config', bridge.tree.configFile]);
    assert.equal(shown.code, 0, shown.stderr);
    const code = /: (\d{5})$/m.exec(shown.stdout)?.[1];
    assert.equal(code, await bridge.pendingCode(PERSON_PHONE));
    assert.match(shown.stdout, /Bob \(user 777000123/);
    const auth = (await client.invoke(new Api.auth.SignIn({ phoneNumber: PERSON_PHONE, phoneCodeHash: sent.phoneCodeHash, phoneCode: code }))) as { user: { id: { toString(): string } } };
    assert.equal(auth.user.id.toString(), '777000123');
    const used = await subprocess(['mtproto-code', '--phone', PERSON_PHONE, '--config', bridge.tree.configFile]);
    assert.equal(used.code, 3, 'a used code is gone');
  } finally {
    await shutdown(client);
  }
}

test('switchboard mtproto-code reads the waiting code from the memory driver\'s state file (read only)', { timeout: 90_000 }, async () => {
  const bridge = await startChatBridge();
  try {
    await codeRoundTrip(bridge);
  } finally {
    await bridge.close();
  }
});

test('switchboard mtproto-code reads it from Redis with the redis driver; a bot logs in there too', { timeout: 90_000 }, async () => {
  const redis = await startRedis();
  try {
    const bridge = await startChatBridge({ redisUrl: redis.url });
    try {
      await codeRoundTrip(bridge);
      const bot = chatClient(bridge.mtprotoPort());
      try {
        await bot.start({ botAuthToken: bridge.botToken });
        assert.equal((await bot.getMe()).id.toString(), String(BOT_ID));
      } finally {
        await shutdown(bot);
      }
    } finally {
      await bridge.close();
    }
  } finally {
    await redis.stop();
  }
});
