/**
 * The fidelity rig: ONE app (src/app.ts, from a throwaway config tree: memory bus, media store,
 * WebSocket, XMPP as the component of a real Prosody, MTProto) linking one room across a WS room,
 * a MUC and an MTProto basic group, and one native client per seat:
 *
 * - WebSocket: carol (the WS sender) and dave (the WS receiver), protocol v1 clients;
 * - XMPP: alice, a stock @xmpp/client user in the MUC (sender, and receiver of what the bridge
 *   puts into the room);
 * - MTProto: stock gramjs TelegramClients, the person Bob (sender, phone login) and the bot
 *   (receiver, bot token login).
 *
 * The senders are their networks' moderators (the moderation kind): carol's token and Bob's
 * account have `moderator: true`; alice owns the MUC (Prosody with mod_muc_moderation) and makes
 * the bridge's address its admin.
 *
 * A small HTTP server on loopback plays the XMPP user's upload host (XEP-0066 links point at it).
 * Everything is started on free loopback ports and stopped by the test's cleanup, even on failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { generateServerRsaKey, loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { codeKey, parsePendingCode } from '../../src/connectors/mtproto/chat/login-codes.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { startProsody, type ProsodyOptions, type ProsodyServer } from '../helpers/prosody.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { mtprotoOf, wsUrlOf } from '../helpers/app.ts';
import { pinServerKey } from '../mtproto/gramjs-client.ts';
import { chatClient, shutdown, updateRecorder, type ChatClient, type GramUpdate } from '../mtproto/chat-harness.ts';

export const NETWORKS = ['websocket', 'xmpp', 'mtproto'] as const;
export type Net = (typeof NETWORKS)[number];
export const NETWORK_TITLE: Readonly<Record<Net, string>> = { websocket: 'WebSocket', xmpp: 'XMPP', mtproto: 'MTProto' };

export const CHAT_ID = 1001;
/** gramjs' id of a basic group. */
export const PEER = -CHAT_ID;
export const BOT_ID = 5001;
export const PERSON_ID = 777000123;
const PERSON_PHONE = '+1 555 0100';
const CAROL = 'sb_test_fidelity_carol_token';
const DAVE = 'sb_test_fidelity_dave_token';
/** The XMPP user's nick in the MUC. */
export const ALICE_NICK = 'Alice';
/**
 * The mapper's coalescing window in the test's mappings/presence.yaml. The default (2 s) would
 * hold each source's presence and typing back behind the previous one for up to 2 s per cell;
 * the window changes when an update leaves, not what arrives (tested in test/mapper/).
 */
export const COALESCE_MS = 100;

export interface Rig {
  readonly app: App;
  readonly prosody: ProsodyServer;
  readonly roomJid: string;
  /** WS sender and receiver (both joined to the WS room `lobby`). */
  readonly carol: TestClient;
  readonly dave: TestClient;
  readonly carolToken: string;
  /** The XMPP user, joined to the MUC as ALICE_NICK. */
  readonly alice: TestUser;
  /** MTProto sender (the person) and receiver (the bot), with every update the receiver got. */
  readonly bob: ChatClient;
  readonly bot: ChatClient;
  readonly botUpdates: ReturnType<typeof updateRecorder>;
  /** Base URL of the XMPP user's own upload host (serves `files`). */
  readonly uploadHost: string;
  /** Files the upload host serves, by path (`/name`). */
  readonly files: Map<string, { body: Buffer; type: string }>;
  /** Starts a cleanup step list; call close() at the end (also after a failure). */
  close(): Promise<void>;
}

async function serveFiles(files: Map<string, { body: Buffer; type: string }>): Promise<Server> {
  const server = createServer((req, res) => {
    const file = files.get(req.url ?? '');
    if (file === undefined) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': file.type, 'content-length': String(file.body.length) });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

function configText(prosody: ProsodyServer, botToken: string): string {
  return [
    'http: { port: 0 }',
    'bus: { driver: memory, stateFile: ./data/state.jsonl }',
    'websocket:',
    '  rateLimit: { perSecond: 1000, burst: 1000 }',
    '  tokens:',
    `    - { name: carol, hash: "${hashToken(CAROL)}", displayName: Carol, moderator: true }`,
    `    - { name: dave, hash: "${hashToken(DAVE)}", displayName: Dave }`,
    'xmpp:',
    '  enabled: true',
    `  port: ${prosody.componentPort}`,
    `  domain: ${prosody.componentDomain}`,
    '  secret: ${XMPP_SECRET}',
    '  reflectionTimeoutMs: 10000',
    'mtproto:',
    '  enabled: true',
    '  port: 0',
    '  rsaKeyFile: ./keys/server.pem',
    '  keyEncryptionKeyFile: ./keys/kek.key',
    '  accounts:',
    `    - { id: ${BOT_ID}, bot: true, firstName: Relay Bot, username: relaybot, tokenHash: "${hashBotToken(botToken)}" }`,
    `    - { id: ${PERSON_ID}, phone: "${PERSON_PHONE}", firstName: Bob, lastName: Builder, username: bobbuilder, moderator: true }`,
    'media:',
    '  urls: { secret: "fidelity-matrix-media-secret-0123456789" }',
    // The XMPP user's upload host is this test's loopback server.
    '  fetch: { allow: ["127.0.0.1/32"] }',
    '',
  ].join('\n');
}

const PRESENCE_TABLE = [
  'states:',
  '  xmpp: { chat: available, available: available, away: away, dnd: dnd, xa: xa, unavailable: offline }',
  '  mtproto: { online: available, recently: away, offline: offline }',
  `coalesceMs: ${COALESCE_MS}`,
  '',
].join('\n');

/**
 * Moderators on every network: carol's token, Bob's account, alice (the MUC's owner, on a Prosody
 * with mod_muc_moderation), who has made the bridge's address the room's admin. `prosody`: more
 * options of the throwaway Prosody.
 */
export async function startRig(options: { prosody?: ProsodyOptions } = {}): Promise<Rig> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      try { await step(); } catch { /* keep cleaning up */ }
    }
  };
  try {
    const files = new Map<string, { body: Buffer; type: string }>();
    const upload = await serveFiles(files);
    cleanups.push(() => new Promise<void>((r) => { upload.closeAllConnections(); upload.close(() => r()); }));
    const uploadHost = `http://127.0.0.1:${(upload.address() as AddressInfo).port}`;

    const prosody = await startProsody({ mucModeration: true, ...options.prosody });
    cleanups.push(() => prosody.destroy());
    const roomJid = `lobby@${prosody.mucDomain}`;
    // alice is in the room before the bridge: the relay then finds an occupied room.
    const alice = await connectUser(prosody, 'alice');
    cleanups.push(() => alice.stop());
    await alice.joinMuc(roomJid, ALICE_NICK);

    const { privateKeyPem } = generateServerRsaKey();
    pinServerKey(loadServerRsaKey(privateKeyPem));
    const botToken = generateBotToken(BOT_ID);
    const tree: ConfigTree = makeConfigTree(configText(prosody, botToken), {
      'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: ${roomJid}\n  - mtproto: ${CHAT_ID}\n`,
      'mappings/presence.yaml': PRESENCE_TABLE,
    });
    cleanups.push(() => tree.cleanup());
    tree.write('keys/server.pem', privateKeyPem);
    writeKekFile(join(tree.dir, 'keys', 'kek.key'));
    const logger = process.env['FIDELITY_LOG'] ? createLogger(process.env['FIDELITY_LOG']) : silentLogger;
    const app = await startApp(await loadConfig(tree.configFile, { env: { XMPP_SECRET: prosody.componentSecret } }), { logger, httpPortOverride: 0 });
    cleanups.push(() => app.close());
    await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${roomJid}/Switchboard`, 'the relay joining the MUC', { timeoutMs: 15_000 });
    // The room's admin: the relay may then remove an XMPP user's message for another network's moderator.
    await alice.request(xml('iq', { type: 'set', to: roomJid }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' },
      xml('item', { affiliation: 'admin', jid: prosody.componentDomain }))));

    const carol = await connectClient(wsUrlOf(app), CAROL);
    cleanups.push(() => carol.close());
    const dave = await connectClient(wsUrlOf(app), DAVE);
    cleanups.push(() => dave.close());
    await carol.request({ type: 'join', room: 'lobby' });
    await dave.request({ type: 'join', room: 'lobby' });

    const port = mtprotoOf(app)?.listeningOn?.port;
    if (port === undefined) throw new Error('the MTProto connector is not listening');
    const bot = chatClient(port);
    cleanups.push(() => shutdown(bot));
    const bob = chatClient(port);
    cleanups.push(() => shutdown(bob));
    await bot.start({ botAuthToken: botToken, onError: (err: unknown) => { throw err; } });
    await bob.start({
      phoneNumber: PERSON_PHONE,
      phoneCode: async () => {
        const code = parsePendingCode(await chatState(app.bus.state(STATE_NAMESPACE)).get(codeKey(PERSON_PHONE.replace(/\D/g, ''))))?.code;
        if (code === undefined) throw new Error('no login code is waiting');
        return code;
      },
      onError: (err: unknown) => { throw err; },
    });
    const botUpdates = updateRecorder(bot);
    // A call each: both sessions get live updates from now on (and gramjs learns the group).
    await bot.getDialogs();
    await bob.getDialogs();

    return { app, prosody, roomJid, carol, dave, carolToken: CAROL, alice, bob, bot, botUpdates, uploadHost, files, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export type { GramUpdate, ChatClient };
export { xml };
