// A person's login code reaches them through their linked account on another network
// (mappings/identities.yaml): a stock gramjs client logs in with the code its person got as a
// WebSocket direct-chat message from the login service, without the admin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, PERSON_ID, PERSON_PHONE, WS_TOKEN, chatClient, loginBot, shutdown, startChatBridge, updateRecorder, type GramMessage } from './chat-harness.ts';
import { PUPPET_ID_BASE } from '../../src/connectors/mtproto/chat/people.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { loadConfig } from '../../src/config/load.ts';
import { makeConfigTree } from '../config/fixture.ts';

const IDENTITIES = `identities:\n  - canonical: bob\n    websocket: alice\n    mtproto: ${PERSON_ID}\n`;

test('the login code goes to the person\'s linked WS account as a direct chat from the login service (@mtproto:777000), and logs the stock client in', { timeout: 60_000 }, async (t) => {
  const bridge = await startChatBridge({ files: { 'mappings/identities.yaml': IDENTITIES } });
  t.after(() => bridge.close());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  t.after(() => ws.close());
  const client = chatClient(bridge.mtprotoPort());
  t.after(() => shutdown(client));

  let delivered: { room: string; text: string; sender: { id: string; name?: string }; pending: string | undefined } | undefined;
  await client.start({
    phoneNumber: PERSON_PHONE,
    phoneCode: async () => {
      const [frame] = await ws.collectEvents(1, 10_000);
      const text = String(frame?.event['text']);
      delivered = { room: String(frame?.room), text, sender: frame?.event['sender'] as { id: string; name?: string }, pending: await bridge.pendingCode(PERSON_PHONE) };
      return /Login code: (\d{5})\./.exec(text)?.[1] ?? 'none';
    },
    onError: (err: unknown) => { throw err; },
  });
  assert.ok(delivered, 'the code came as a WS event');
  assert.equal(delivered.room, '@mtproto:777000');
  assert.deepEqual([delivered.sender.id, delivered.sender.name], ['777000', 'Switchboard login']);
  assert.match(delivered.text, /^Login code: \d{5}\. It logs your MTProto client in as Bob, once, within 5 minutes\./);
  assert.equal(/(\d{5})/.exec(delivered.text)?.[1], delivered.pending, 'the code of the message is the pending one');
  assert.equal(String((await client.getMe()).id), String(PERSON_ID), 'logged in with it');
  assert.equal(await bridge.pendingCode(PERSON_PHONE), undefined, 'used up');
});

test('a reload of mappings/ (SIGHUP) reaches the MTProto side: a link added routes the next login code, a link removed stops it', { timeout: 60_000 }, async (t) => {
  const bridge = await startChatBridge({ mtprotoExtra: '  login: { resendSeconds: 0 }' });
  t.after(() => bridge.close());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  t.after(() => ws.close());
  const sendCode = async (): Promise<string | undefined> => {
    const client = chatClient(bridge.mtprotoPort());
    try {
      await client.connect();
      await client.invoke(new Api.auth.SendCode({ phoneNumber: PERSON_PHONE, apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef', settings: new Api.CodeSettings({}) }));
      return await bridge.pendingCode(PERSON_PHONE);
    } finally {
      await shutdown(client);
    }
  };
  const codeAtWs = async (timeoutMs: number): Promise<string | undefined> => {
    const [frame] = await ws.collectEvents(1, timeoutMs).catch(() => []);
    return frame === undefined ? undefined : /Login code: (\d{5})\./.exec(String(frame.event['text']))?.[1];
  };

  // Not linked: the code is only for the admin's CLI.
  assert.match(await sendCode() ?? '', /^\d{5}$/);
  assert.equal(await codeAtWs(500), undefined, 'nothing reached the WS account');

  // The admin links the accounts and reloads: the next code goes to the WS account too.
  bridge.tree.write('mappings/identities.yaml', IDENTITIES);
  assert.deepEqual(await bridge.app.reloadMappings(), { ok: true, identities: 1 });
  const pending = await sendCode();
  assert.equal(await codeAtWs(5_000), pending, 'the linked account got the pending code');

  // And unlinks them again.
  bridge.tree.write('mappings/identities.yaml', 'identities: []\n');
  assert.deepEqual(await bridge.app.reloadMappings(), { ok: true, identities: 0 });
  assert.match(await sendCode() ?? '', /^\d{5}$/);
  assert.equal(await codeAtWs(500), undefined, 'no longer sent there');
});

test('a reload of mappings/ (SIGHUP) also changes who MTProto clients see: a WS account linked to an MTProto account writes as that account from then on', { timeout: 60_000 }, async (t) => {
  // The mapper off: MTProto's own view of the identities decides alone (with it on, the mapper's would too).
  const bridge = await startChatBridge({ extra: 'mapper: { enabled: false }' });
  t.after(() => bridge.close());
  const bot = chatClient(bridge.mtprotoPort());
  t.after(() => shutdown(bot));
  await loginBot(bridge, bot);
  const rec = updateRecorder(bot);
  await bot.getDialogs();
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  t.after(() => ws.close());
  await ws.request({ type: 'join', room: 'lobby' });
  const senderOf = async (text: string): Promise<string> => {
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    const u = await rec.next((x) => x.className === 'UpdateNewMessage' && (x['message'] as GramMessage).message === text);
    return String((u['message'] as GramMessage).fromId?.userId);
  };

  assert.ok(BigInt(await senderOf('not linked yet')) >= PUPPET_ID_BASE, 'a user of her own');
  bridge.tree.write('mappings/identities.yaml', IDENTITIES);
  assert.deepEqual(await bridge.app.reloadMappings(), { ok: true, identities: 1 });
  assert.equal(await senderOf('linked now'), String(PERSON_ID), 'she writes as her MTProto account');
  bridge.tree.write('mappings/identities.yaml', 'identities: []\n');
  assert.deepEqual(await bridge.app.reloadMappings(), { ok: true, identities: 0 });
  assert.ok(BigInt(await senderOf('unlinked again')) >= PUPPET_ID_BASE, 'a user of her own again');
});

test('config: no MTProto account may have the login service\'s id 777000', async () => {
  const tree = makeConfigTree('mtproto:\n  enabled: true\n  accounts:\n    - { id: 777000, phone: "+1 555 0199", firstName: Eve }\n');
  try {
    await assert.rejects(loadConfig(tree.configFile, { env: {} }), /mtproto\.accounts\.0\.id.*777000 is the login service's id/s);
  } finally {
    tree.cleanup();
  }
});
