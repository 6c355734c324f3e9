// End to end, as deployed, for the MTProto side: a real redis-server, `switchboard start` as a
// child process, a stock gramjs client logged in as a bot and a WS client in the linked room. The
// bridge is killed (SIGKILL) while the client sends; after the restart (same config, same Redis,
// same port) the client app starts again on the session it had (its auth key and login), and
// resends what was not answered with the same random_id, as a client resends a request it got no
// answer to. Until the new process takes over the bus's leases from the dead one (their time to
// live, about 10 s), nothing is routed, so those resends may first get 500 MSG_WAIT_TIMEOUT:
// tried again, as gramjs and Telethon do with a 500. What must hold
// (DESIGN: "at least once in, exactly once out"; issue #9: message ids and pts a client relies on):
// - every message whose send was answered reaches the WS room exactly once, and keeps the id the
//   answer gave it (the answer waited for the chat log's write, so the crash cannot undo it);
// - a resend of what was not answered publishes nothing twice;
// - what the WS side said before the crash reaches the client through updates.getDifference from
//   the state it had before, each message once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateServerRsaKey, loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor, within } from '../helpers/wait.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { pinServerKey } from '../mtproto/gramjs-client.ts';
import { Api, bigInt, chatClient, type ChatClient, type GramMessage } from '../mtproto/chat-harness.ts';
import { killAllBridges, spawnBridge, type BridgeProcess } from './bridge-process.ts';

const CHAT_ID = 3001;
const BOT_ID = 5001;
const WS_TOKEN = 'sb_test_ws_alice_mtproto_crash';
const SENDS = 300;
/** Sends in flight at most (gramjs packs what is queued into containers). */
const WINDOW = 20;
const KILL_AFTER_ANSWERS = SENDS / 2;
const WS_BEFORE = 30;

interface SentAnswer { readonly id: number; readonly pts: number }
interface State { pts: number; date: number }
interface Difference { className: string; newMessages?: GramMessage[]; state?: State; intermediateState?: State }

let redis: RedisServer | undefined;
after(async () => {
  await killAllBridges();
  await redis?.stop();
});

async function say(ws: TestClient, text: string): Promise<void> {
  const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
}

/** Every message of the difference from `from` on, slice after slice. */
async function differenceFrom(client: ChatClient, from: State): Promise<GramMessage[]> {
  const out: GramMessage[] = [];
  let state = from;
  for (let i = 0; i < 50; i++) {
    const d = (await client.invoke(new Api.updates.GetDifference({ pts: state.pts, date: state.date, qts: 0 }))) as Difference;
    out.push(...(d.newMessages ?? []));
    if (d.className === 'updates.DifferenceSlice' && d.intermediateState) { state = d.intermediateState; continue; }
    if (d.className === 'updates.DifferenceEmpty' || d.className === 'updates.Difference') return out;
    throw new Error(`unexpected ${d.className}`);
  }
  throw new Error('the difference did not end in 50 slices');
}

test('MTProto sends through a SIGKILL of the bridge: every answered message reaches the WS room once with the id it was given, resends of the unanswered publish nothing twice, and the WS side\'s messages reach the client through getDifference once each', { timeout: 150_000 }, async () => {
  redis = await startRedis();
  const { privateKeyPem } = generateServerRsaKey();
  const key = loadServerRsaKey(privateKeyPem);
  pinServerKey(key);
  const botToken = generateBotToken(BOT_ID);
  const mtprotoPort = await freePort();
  const tree = makeConfigTree([
    `http: { port: ${await freePort()} }`,
    `bus: { driver: redis, redis: { url: "${redis.url}", prefix: sbmtcrash } }`,
    'websocket:',
    '  rateLimit: { perSecond: 100000, burst: 100000 }',
    '  tokens:',
    `    - { name: alice, hash: "${hashToken(WS_TOKEN)}" }`,
    'mtproto:',
    '  enabled: true',
    `  port: ${mtprotoPort}`,
    '  rsaKeyFile: ./keys/server.pem',
    '  keyEncryptionKeyFile: ./keys/kek.key',
    '  flood: { send: { perSecond: 100000, burst: 100000 } }',
    '  accounts:',
    `    - { id: ${BOT_ID}, bot: true, firstName: Relay Bot, tokenHash: "${hashBotToken(botToken)}" }`,
    '',
  ].join('\n'), { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n` });
  tree.write('keys/server.pem', privateKeyPem);
  writeKekFile(join(tree.dir, 'keys', 'kek.key'));
  let client: ChatClient | undefined;
  let ws: TestClient | undefined;
  try {
    let bridge: BridgeProcess = await spawnBridge(tree.configFile, 30_000, 'warn');
    ws = await connectClient(bridge.wsUrl, WS_TOKEN);
    assert.equal((await ws.request({ type: 'join', room: 'lobby' })).type, 'joined');
    client = chatClient(mtprotoPort);
    await within(30_000, 'the bot\'s login', client.start({ botAuthToken: botToken, onError: (err: unknown) => { throw err; } }));
    const before = (await within(10_000, 'getState', client.invoke(new Api.updates.GetState()))) as State;

    // The WS side speaks first: the client is to get these through getDifference after the crash.
    const wsTexts = Array.from({ length: WS_BEFORE }, (_, i) => `ws ${i}`);
    for (const text of wsTexts) await say(ws, text);

    // The bot sends with a bounded window, each with its own random_id, until half are answered.
    const peer = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const randomIds = Array.from({ length: SENDS }, (_, i) => 9_000_000_000 + i);
    const answers = new Map<number, SentAnswer>();
    let sent = 0;
    let failed = 0;
    const send = (c: ChatClient, i: number): Promise<void> =>
      c.invoke(new Api.messages.SendMessage({ peer, message: `mt ${i}`, randomId: bigInt(randomIds[i]!) })).then((r) => {
        const a = r as { className: string; id: number; pts: number };
        assert.equal(a.className, 'UpdateShortSentMessage');
        answers.set(i, { id: a.id, pts: a.pts });
      });
    let killed = false;
    const c1 = client;
    await waitFor(() => {
      while (!killed && sent < SENDS && sent - answers.size - failed < WINDOW) {
        send(c1, sent).catch(() => { failed++; });
        sent++;
      }
      return answers.size >= KILL_AFTER_ANSWERS;
    }, { timeoutMs: 60_000, intervalMs: 1, what: () => `${answers.size} of ${sent} sends answered` });
    bridge.signal('SIGKILL');
    killed = true;
    assert.equal((await within(10_000, 'the SIGKILL', bridge.exited)).signal, 'SIGKILL');
    const answeredAtKill = new Map(answers);
    const session = (client as unknown as { session: unknown }).session;
    // The client app goes with the bridge (its calls in flight die with it) and starts again later.
    await within(10_000, 'the client\'s end', client.destroy().catch(() => undefined));
    await within(10_000, 'the WS close', ws.closed);
    const firstWs = ws;
    const lastCursor = firstWs.events.at(-1)?.cursor;

    // Back on the same config and Redis; the client on the session it had (no new key, no new
    // login); the WS client resumes from the last event it got.
    bridge = await spawnBridge(tree.configFile, 30_000, 'warn');
    ws = await connectClient(bridge.wsUrl, WS_TOKEN);
    assert.equal((await ws.request({ type: 'join', room: 'lobby', ...(lastCursor !== undefined ? { since: lastCursor } : {}) })).type, 'joined');
    client = chatClient(mtprotoPort, { session, requestRetries: 1 });
    const c2 = client;
    await within(30_000, 'the client\'s reconnection', c2.connect());
    /** A send with its random_id again, tried again on a 500 (MSG_WAIT_TIMEOUT while nothing is routed yet) for up to 60 s. */
    const sendAgain = async (i: number): Promise<SentAnswer> => {
      const until = Date.now() + 60_000;
      for (;;) {
        try {
          const r = (await within(20_000, `the resend of mt ${i}`, c2.invoke(new Api.messages.SendMessage({ peer, message: `mt ${i}`, randomId: bigInt(randomIds[i]!) })))) as { className: string; id: number; pts: number };
          assert.equal(r.className, 'UpdateShortSentMessage');
          return { id: r.id, pts: r.pts };
        } catch (err) {
          if (!/unsuccessful|MSG_WAIT_TIMEOUT/.test(String(err)) || Date.now() > until) throw err;
        }
      }
    };
    // Resends, with the same random_id, of what got no answer (sent or not, as a client cannot know).
    const unanswered = Array.from({ length: sent }, (_, i) => i).filter((i) => !answeredAtKill.has(i));
    for (const i of unanswered) answers.set(i, await sendAgain(i));
    // Sent again anyway: two of those answered before the crash (a client that lost the answer):
    // answered with the id it was given then.
    const answeredBefore = [...answeredAtKill.keys()];
    for (const i of [answeredBefore[0]!, answeredBefore.at(-1)!]) {
      assert.equal((await sendAgain(i)).id, answeredAtKill.get(i)!.id, `a resend of mt ${i} answers the id it was given before the crash`);
    }

    // The whole chat as the client reads it after the restart: every send once, with its answer's id.
    const history: GramMessage[] = [];
    for (let offsetId = 0, pages = 0; pages < 20; pages++) {
      const page = (await within(20_000, 'a history page', c2.invoke(new Api.messages.GetHistory({ peer, offsetId, offsetDate: 0, addOffset: 0, limit: 100, maxId: 0, minId: 0, hash: bigInt(0) })))) as { messages: GramMessage[] };
      if (page.messages.length === 0) break;
      history.push(...page.messages);
      offsetId = page.messages.at(-1)!.id;
    }
    const byText = new Map<string, number[]>();
    for (const m of history) if (typeof m.message === 'string') byText.set(m.message, [...(byText.get(m.message) ?? []), m.id]);
    for (let i = 0; i < sent; i++) {
      const ids = byText.get(`mt ${i}`) ?? [];
      assert.equal(ids.length, 1, `mt ${i} is in the chat once (${ids.length})`);
      const answered = answeredAtKill.get(i) ?? answers.get(i);
      assert.equal(ids[0], answered?.id, `mt ${i} keeps the id its answer gave`);
    }
    for (const text of wsTexts) assert.equal(byText.get(text)?.length, 1, `${text} is in the chat once`);
    // The bot's pts, from its answers on either side of the crash: one message id, one pts, growing together.
    const byId = [...answers.values()].sort((x, y) => x.id - y.id);
    for (let k = 1; k < byId.length; k++) assert.ok(byId[k]!.pts > byId[k - 1]!.pts, `pts grow with message ids (${JSON.stringify(byId[k - 1])} then ${JSON.stringify(byId[k])})`);

    // The WS client, across its two connections: every bot message once (the resends published
    // nothing new), those answered before the crash in the order of their message ids.
    const wsTexts2 = (): string[] => [...firstWs.events, ...ws!.events].filter((e) => e.event.kind === 'message').map((e) => String(e.event['text']));
    await waitFor(() => new Set(wsTexts2().filter((t) => t.startsWith('mt '))).size >= sent, { timeoutMs: 30_000, what: () => `${new Set(wsTexts2().filter((t) => t.startsWith('mt '))).size} of ${sent} bot messages on WS` });
    await new Promise((r) => setTimeout(r, 500)); // a duplicate or a straggler would show now
    const got = wsTexts2().filter((t) => t.startsWith('mt '));
    for (let i = 0; i < sent; i++) assert.equal(got.filter((t) => t === `mt ${i}`).length, 1, `mt ${i} reaches the WS room once`);
    const answeredInIdOrder = [...answeredAtKill].sort((a, b) => a[1].id - b[1].id).map(([i]) => `mt ${i}`);
    assert.deepEqual(got.filter((t) => answeredAtKill.has(Number(t.slice(3)))), answeredInIdOrder, 'in the order of their message ids');

    // The client's getDifference from before everything: each WS message once.
    const missed = await within(30_000, 'the difference', differenceFrom(c2, before));
    for (const text of wsTexts) assert.equal(missed.filter((m) => m.message === text).length, 1, `${text} once in the difference`);
    const ids = missed.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no message twice in the difference');
    bridge.signal('SIGTERM');
    assert.equal((await within(20_000, 'the bridge\'s exit on SIGTERM', bridge.exited)).code, 0, bridge.output().slice(-2000));
    console.log(`# ${sent} sent, ${answeredAtKill.size} answered before the SIGKILL, ${unanswered.length} resent after the restart`);
  } finally {
    await client?.destroy().catch(() => undefined);
    await ws?.close().catch(() => undefined);
    tree.cleanup();
  }
});
