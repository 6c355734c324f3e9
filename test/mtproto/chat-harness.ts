/**
 * The whole app (src/app.ts) with the MTProto connector and a WebSocket room linked to an MTProto
 * chat, from a throwaway config tree: memory bus with its state file, HTTP and MTProto on free
 * loopback ports, one bot and one person provisioned, and stock gramjs TelegramClients that log
 * in as either. `restart()` stops the app and starts it again on the same tree (state file kept).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { generateServerRsaKey, loadServerRsaKey, type ServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { codeKey, parsePendingCode } from '../../src/connectors/mtproto/chat/login-codes.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { readKeyRing, writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { storedSecret } from '../../src/connectors/mtproto/store/open-stores.ts';
import { FILE_SECRET_KEY } from '../../src/connectors/mtproto/chat/chat-layer.ts';
import { FileKeys } from '../../src/connectors/mtproto/chat/files.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { freePort } from '../helpers/ports.ts';
import { mtprotoOf, wsUrlOf } from '../helpers/app.ts';
import { gramLogger, pinServerKey } from './gramjs-client.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';

const require = createRequire(import.meta.url);

export const CHAT_ID = 1001;
export const BOT_ID = 5001;
export const PERSON_ID = 777000123;
export const PERSON_PHONE = '+1 555 0100';
export const WS_TOKEN = 'sb_test_ws_alice_for_mtproto_chat_tests';

let cachedKey: { pem: string; key: ServerRsaKey } | undefined;
/** The server key every chat bridge of this process uses (clients other than gramjs pin it themselves). */
export function chatServerKey(): ServerRsaKey {
  return serverKey().key;
}

function serverKey(): { pem: string; key: ServerRsaKey } {
  if (cachedKey === undefined) {
    const { privateKeyPem } = generateServerRsaKey();
    cachedKey = { pem: privateKeyPem, key: loadServerRsaKey(privateKeyPem) };
  }
  return cachedKey;
}

export interface ChatBridgeOptions {
  /** Extra YAML under `mtproto:` (indented two spaces), e.g. flood limits. */
  readonly mtprotoExtra?: string;
  /** Extra top-level YAML. */
  readonly extra?: string;
  /** Use the redis bus driver on this redis-server instead of the memory driver. */
  readonly redisUrl?: string;
  /** The bot's token (default: a new one): instances of one deployment share it. */
  readonly botToken?: string;
  /**
   * The key-encryption key of stored auth keys (instances of one deployment share it); default:
   * a key file of this tree's own, as `switchboard keygen` writes it.
   */
  readonly keyEncryptionKey?: string;
  /** A fixed MTProto port (a free one, asked for once), so clients find the app again after `restart()`. */
  readonly keepPort?: boolean;
  /** More files of the config tree (path -> content), e.g. mappings/identities.yaml. */
  readonly files?: Readonly<Record<string, string>>;
  /** The canonical rooms the bot sees (default: all). */
  readonly botRooms?: readonly string[];
  /** The person is a moderator (the groups' admin: deletes anyone's message there). */
  readonly personModerator?: boolean;
  /** alice's WS token is a moderator's (websocket.tokens[].moderator: may set a room's topic). */
  readonly wsModerator?: boolean;
}

export interface ChatBridge {
  app: App;
  readonly tree: ConfigTree;
  readonly botToken: string;
  readonly wsUrl: () => string;
  readonly mtprotoPort: () => number;
  /** The login code waiting for a phone number (what `switchboard mtproto-code` shows). */
  pendingCode(phone: string): Promise<string | undefined>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startChatBridge(opts: ChatBridgeOptions = {}): Promise<ChatBridge> {
  const { pem, key } = serverKey();
  pinServerKey(key);
  const botToken = opts.botToken ?? generateBotToken(BOT_ID);
  const mtprotoPort = opts.keepPort === true ? await freePort() : 0;
  const config = [
    'http: { port: 0 }',
    opts.redisUrl !== undefined ? `bus: { driver: redis, redis: { url: "${opts.redisUrl}", prefix: sbchat } }` : 'bus: { driver: memory, stateFile: ./data/state.jsonl }',
    'websocket:',
    '  tokens:',
    `    - { name: alice, hash: "${hashToken(WS_TOKEN)}", displayName: Alice${opts.wsModerator === true ? ', moderator: true' : ''} }`,
    'mtproto:',
    '  enabled: true',
    `  port: ${mtprotoPort}`,
    '  rsaKeyFile: ./keys/server.pem',
    opts.keyEncryptionKey !== undefined ? `  keyEncryptionKey: "${opts.keyEncryptionKey}"` : '  keyEncryptionKeyFile: ./keys/kek.key',
    '  accounts:',
    `    - { id: ${BOT_ID}, bot: true, firstName: Relay Bot, username: relaybot, tokenHash: "${hashBotToken(botToken)}"${opts.botRooms !== undefined ? `, rooms: [${opts.botRooms.join(', ')}]` : ''} }`,
    `    - { id: ${PERSON_ID}, phone: "${PERSON_PHONE}", firstName: Bob, lastName: Builder, username: bobbuilder${opts.personModerator === true ? ', moderator: true' : ''} }`,
    ...(opts.mtprotoExtra !== undefined ? [opts.mtprotoExtra] : []),
    ...(opts.extra !== undefined ? [opts.extra] : []),
    '',
  ].join('\n');
  const tree = makeConfigTree(config, { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n`, ...opts.files });
  tree.write('keys/server.pem', pem);
  if (opts.keyEncryptionKey === undefined) writeKekFile(join(tree.dir, 'keys', 'kek.key'));
  const logger = process.env['MTPROTO_TEST_LOG'] ? createLogger('debug') : silentLogger;
  const start = async () => startApp(await loadConfig(tree.configFile, { env: {} }), { logger, httpPortOverride: 0 });
  let app: App;
  try {
    app = await start();
  } catch (err) {
    tree.cleanup();
    throw err;
  }
  const bridge: ChatBridge = {
    get app() { return app; },
    set app(a: App) { app = a; },
    tree, botToken,
    wsUrl: () => wsUrlOf(app),
    mtprotoPort: () => {
      const port = mtprotoOf(app)?.listeningOn?.port;
      if (port === undefined) throw new Error('mtproto is not listening');
      return port;
    },
    async pendingCode(phone) {
      return parsePendingCode(await chatState(app.bus.state(STATE_NAMESPACE)).get(codeKey(phone.replace(/\D/g, ''))))?.code;
    },
    async restart() {
      await app.close();
      app = await start();
    },
    async close() {
      try {
        await app.close();
      } finally {
        tree.cleanup();
      }
    },
  };
  return bridge;
}

/** The next event of `kind` (and `pred`) the WS client gets. */
/**
 * The access hash the bridge gives out for a user id, from its own stored secret: what no client
 * can learn for a user it was never shown, for tests of the checks behind the hash check.
 */
export async function serverUserHash(bridge: ChatBridge, userId: bigint): Promise<unknown> {
  const kek = readKeyRing(await loadConfig(bridge.tree.configFile, { env: {} }));
  if (!kek.ok) throw new Error('the test bridge\'s key-encryption key does not load');
  const secret = await storedSecret(chatState(bridge.app.bus.state(STATE_NAMESPACE)), kek.ring, FILE_SECRET_KEY, 'file secret');
  return bigInt(new FileKeys(secret).peerHash('user', String(userId)).toString());
}

/** The rpc_error text a call fails with (gramjs's errorMessage, mtcute's text; 'no error' when it succeeds). */
export async function rpcError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { errorMessage?: string; text?: string };
    return String(e.errorMessage ?? e.text ?? err);
  }
  return 'no error';
}

/** Waits until `check` holds, at most `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A file uploaded to the bridge's media store as the WS user (POST /media): the attachment to send. */
export async function uploadToMedia(bridge: ChatBridge, name: string, type: string, body: Buffer): Promise<Record<string, unknown>> {
  const res = await fetch(`${bridge.app.httpUrl}/media?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { authorization: `Bearer ${WS_TOKEN}`, 'content-type': type }, body });
  if (res.status !== 201) throw new Error(`upload of ${name}: ${res.status} ${await res.text()}`);
  return await res.json() as Record<string, unknown>;
}

/**
 * The WS message with `text` carries one file named `name` whose size and SHA-256 are those of
 * `bytes`, and its signed URL serves exactly those bytes.
 */
export async function wsFileArrives(ws: TestClient, text: string, name: string, bytes: Buffer): Promise<void> {
  const event = await wsEvent(ws, 'message', (e) => e['text'] === text);
  const attachments = event['attachments'] as Array<{ name: string; size: number; sha256: string; url: string }>;
  assert.equal(attachments.length, 1);
  const [attachment] = attachments;
  assert.deepEqual([attachment!.name, attachment!.size, attachment!.sha256], [name, bytes.length, createHash('sha256').update(bytes).digest('hex')]);
  assert.deepEqual(Buffer.from(await (await fetch(attachment!.url)).arrayBuffer()), bytes);
}

export async function wsEvent(ws: TestClient, kind: string, pred: (e: EventFrame['event']) => boolean = () => true): Promise<EventFrame['event']> {
  const frame = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === kind && pred((f as EventFrame).event));
  return (frame as EventFrame).event;
}

export function stateFileOf(bridge: ChatBridge): string {
  return join(bridge.tree.dir, 'data', 'state.jsonl');
}

// ---- a stock TelegramClient with the calls the chat tests use ----------------------------------

/** gramjs objects, as far as the tests read them. */
export interface GramEntity { className: string; id: { toString(): string }; firstName?: string; lastName?: string; title?: string; bot?: boolean; self?: boolean; username?: string }
export interface GramMessage {
  className: string;
  id: number;
  message: string;
  out?: boolean;
  date: number;
  entities?: Array<{ className: string; offset: number; length: number; url?: string; language?: string }>;
  replyTo?: { replyToMsgId?: number };
  media?: { className: string; document?: { size: { toString(): string }; mimeType: string }; photo?: unknown };
  reactions?: { results: Array<{ reaction: { emoticon?: string }; count: number; chosenOrder?: number }> };
  editDate?: number;
  fromId?: { userId?: { toString(): string } };
  peerId?: { chatId?: { toString(): string } };
}
export interface GramDialog { id: { toString(): string }; title: string; isGroup: boolean; unreadCount: number; message?: GramMessage }
export interface GramUpdate { className: string; [field: string]: unknown }

export interface ChatClient {
  connect(): Promise<boolean>;
  start(params: Record<string, unknown>): Promise<void>;
  destroy(): Promise<void>;
  disconnect(): Promise<void>;
  invoke(request: unknown): Promise<unknown>;
  getMe(): Promise<GramEntity>;
  getDialogs(params?: Record<string, unknown>): Promise<GramDialog[]>;
  getMessages(entity: unknown, params?: Record<string, unknown>): Promise<GramMessage[] & { total?: number }>;
  getEntity(id: unknown): Promise<GramEntity>;
  sendMessage(entity: unknown, params: Record<string, unknown>): Promise<GramMessage>;
  forwardMessages(entity: unknown, params: Record<string, unknown>): Promise<unknown>;
  editMessage(entity: unknown, params: Record<string, unknown>): Promise<GramMessage>;
  deleteMessages(entity: unknown, ids: number[], params: Record<string, unknown>): Promise<Array<{ pts: number; ptsCount: number }>>;
  sendFile(entity: unknown, params: Record<string, unknown>): Promise<GramMessage>;
  downloadMedia(message: unknown, params?: Record<string, unknown>): Promise<Buffer>;
  downloadProfilePhoto(entity: unknown, params?: Record<string, unknown>): Promise<Buffer | string | undefined>;
  markAsRead(entity: unknown, message?: unknown, params?: Record<string, unknown>): Promise<boolean>;
  addEventHandler(handler: (update: GramUpdate) => void, event?: unknown): void;
  session: { dcId: number };
  connected: boolean;
  floodSleepThreshold: number;
}

const network = require('telegram/network') as { ConnectionTCPFull: new (p: Record<string, unknown>) => unknown; ConnectionTCPObfuscated: new (p: Record<string, unknown>) => unknown };
const { TelegramClient } = require('telegram') as { TelegramClient: new (session: unknown, apiId: number, apiHash: string, opts: Record<string, unknown>) => ChatClient };
const { MemorySession } = require('telegram/sessions') as { MemorySession: new () => { setDC(dcId: number, ip: string, port: number): void } };
export const Api = (require('telegram/tl') as { Api: Record<string, unknown> & GramApi }).Api;
export const { CustomFile } = require('telegram/client/uploads') as { CustomFile: new (name: string, size: number, path: string, buffer?: Buffer) => unknown };
export const bigInt = require('big-integer') as (v: string | number) => unknown;

type Ctor = new (args?: Record<string, unknown>) => unknown;
export interface GramApi {
  updates: { GetState: Ctor; GetDifference: Ctor };
  messages: { SendReaction: Ctor; SetTyping: Ctor; GetHistory: Ctor; GetFullChat: Ctor; ReadHistory: Ctor; SendMessage: Ctor; GetDialogs: Ctor; GetPeerDialogs: Ctor; GetChats: Ctor };
  users: { GetUsers: Ctor; GetFullUser: Ctor };
  auth: { LogOut: Ctor; SendCode: Ctor; SignIn: Ctor; ImportBotAuthorization: Ctor };
  account: { UpdateStatus: Ctor };
  upload: { GetFile: Ctor };
  photos: { GetUserPhotos: Ctor };
  help: { GetConfig: Ctor };
  ReactionEmoji: Ctor;
  InputPeerChat: Ctor;
  InputPeerEmpty: Ctor;
  InputPeerSelf: Ctor;
  InputDialogPeer: Ctor;
  InputPeerUserFromMessage: Ctor;
  InputUserSelf: Ctor;
  CodeSettings: Ctor;
  SendMessageTypingAction: Ctor;
  MessageEntityBold: Ctor;
  MessageEntityItalic: Ctor;
  MessageEntityCode: Ctor;
  MessageEntityTextUrl: Ctor;
  InputDocumentFileLocation: Ctor;
  InputPeerPhotoFileLocation: Ctor;
  InputPhotoFileLocation: Ctor;
  InputPeerUser: Ctor;
  InputUser: Ctor;
}

export interface ChatClientOptions {
  floodSleepThreshold?: number;
  transport?: 'full' | 'obfuscated';
  /** gramjs' own reconnection (its default is on; off here unless a test needs it, e.g. through a restart). */
  autoReconnect?: boolean;
  connectionRetries?: number;
  retryDelay?: number;
  /** How often gramjs itself tries a call that failed with a 500 (default 2 here). */
  requestRetries?: number;
  /** An earlier client's session (its auth key, dc address): a client app started again. */
  session?: unknown;
}

/** A stock TelegramClient on a fresh MemorySession (one auth key), dialing our host and port. */
export function chatClient(port: number, opts: ChatClientOptions = {}): ChatClient {
  const base = opts.transport === 'obfuscated' ? network.ConnectionTCPObfuscated : network.ConnectionTCPFull;
  const Local = class extends (base as new (p: Record<string, unknown>) => object) {
    constructor(p: Record<string, unknown>) {
      super({ ...p, ip: '127.0.0.1', port });
    }
  };
  let session = opts.session;
  if (session === undefined) {
    const fresh = new MemorySession();
    fresh.setDC(2, '127.0.0.1', port);
    session = fresh;
  }
  const client = new TelegramClient(session, 12345, '0123456789abcdef0123456789abcdef', {
    connection: Local, connectionRetries: opts.connectionRetries ?? 5, retryDelay: opts.retryDelay ?? 50, autoReconnect: opts.autoReconnect ?? false,
    requestRetries: opts.requestRetries ?? 2, baseLogger: gramLogger,
  });
  client.floodSleepThreshold = opts.floodSleepThreshold ?? 0;
  return client;
}

/** Logs a stock client in as the bot (auth.importBotAuthorization through client.start). */
export async function loginBot(bridge: ChatBridge, client: ChatClient): Promise<void> {
  await client.start({ botAuthToken: bridge.botToken, onError: (err: unknown) => { throw err; } });
}

/** Logs a stock client in as the person: phone number, then the code the admin would pass on. */
export async function loginPerson(bridge: ChatBridge, client: ChatClient, phone = PERSON_PHONE): Promise<void> {
  await client.start({
    phoneNumber: phone,
    phoneCode: async () => {
      const code = await bridge.pendingCode(phone);
      if (code === undefined) throw new Error('no login code is waiting');
      return code;
    },
    onError: (err: unknown) => { throw err; },
  });
}

/** Collects the raw updates a client receives; `next` waits for the first matching one not yet taken. */
export function updateRecorder(client: ChatClient): { all: GramUpdate[]; next(pred: (u: GramUpdate) => boolean, timeoutMs?: number): Promise<GramUpdate> } {
  const all: GramUpdate[] = [];
  const taken = new Set<GramUpdate>();
  const waiters = new Set<() => void>();
  client.addEventHandler((u) => {
    const list = u.className === 'Updates' || u.className === 'UpdatesCombined' ? (u['updates'] as GramUpdate[]) : u.className === 'UpdateShort' ? [u['update'] as GramUpdate] : [u];
    all.push(...list);
    for (const w of [...waiters]) w();
  });
  return {
    all,
    next(pred, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = all.find((u) => !taken.has(u) && pred(u));
          if (found === undefined) return false;
          taken.add(found);
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`no matching update within ${timeoutMs} ms (got ${all.map((u) => u.className).join(', ')})`)); }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(waiter); };
        const waiter = () => { check(); };
        if (!check()) waiters.add(waiter);
      });
    },
  };
}

/**
 * A fresh bridge (`opts`), a stock client logged in by `login`, and a WS client (alice) joined to
 * the lobby; everything stopped afterwards, also on failure.
 */
export async function withChatClient(
  login: (bridge: ChatBridge, client: ChatClient) => Promise<void>,
  body: (bridge: ChatBridge, client: ChatClient, ws: TestClient) => Promise<void>,
  opts: ChatBridgeOptions = {},
): Promise<void> {
  const bridge = await startChatBridge(opts);
  const client = chatClient(bridge.mtprotoPort());
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await login(bridge, client);
    await body(bridge, client, ws);
  } finally {
    await ws?.close();
    await shutdown(client);
    await bridge.close();
  }
}

/**
 * withChatClient with the person logged in (dialogs listed) and the bot logged in beside him on a
 * client of its own (dialogs listed): two accounts of the group, and alice on WS.
 */
export function withPersonAndBot(body: (bridge: ChatBridge, person: ChatClient, bot: ChatClient, ws: TestClient) => Promise<void>, opts: ChatBridgeOptions = {}): Promise<void> {
  return withChatClient(async (bridge, person) => { await loginPerson(bridge, person); await person.getDialogs(); }, async (bridge, person, ws) => {
    const bot = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, bot);
      await bot.getDialogs();
      await body(bridge, person, bot, ws);
    } finally {
      await shutdown(bot);
    }
  }, opts);
}

/** A second client logged in as the person (dialogs listed): another of his devices, stopped afterwards. */
export async function withSecondSession<T>(bridge: ChatBridge, body: (second: ChatClient) => Promise<T>): Promise<T> {
  const second = chatClient(bridge.mtprotoPort());
  try {
    await loginPerson(bridge, second);
    await second.getDialogs();
    return await body(second);
  } finally {
    await shutdown(second);
  }
}

/**
 * destroy(), plus what gramjs 2.26's destroy misses: it clears its exported senders' release
 * timers with Object.values() of a Map (always empty), so after a download a 30 s timer keeps
 * the test process alive. Cleanup only; the client's behaviour is untouched.
 */
export async function shutdown(client: ChatClient): Promise<void> {
  const timers = (client as unknown as { _exportedSenderReleaseTimeouts?: Map<number, NodeJS.Timeout> })._exportedSenderReleaseTimeouts;
  for (const t of timers?.values() ?? []) clearTimeout(t);
  timers?.clear();
  await client.destroy();
}
