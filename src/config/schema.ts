import { z } from 'zod';
import { MediaConfigSchema } from './media-schema.ts';
import { DIRECTIONS } from '../core/endpoint.ts';
import { LIMITS } from '../core/event.ts';
import { MAX_IGNORE_PATTERN_CHARS, MAX_IGNORE_PATTERNS, MAX_IGNORED_SENDERS } from '../core/ignore.ts';

/**
 * The shape of config.yaml (see config.example.yaml for the annotated version). Every size, rate
 * and time has a limit with a safe default; every listener defaults to loopback.
 */

export const TOKEN_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** 32 bytes as 64 hex digits, base64 (44 characters with its '=') or unpadded base64url (43). */
const KEK_PATTERN = /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43})$/;
const KEK_MESSAGE = 'a key-encryption key is 32 bytes in base64 or hex: make one with `openssl rand -base64 32`';

export const TokenSchema = z.object({
  /** Who this token is: becomes the sender id of what its clients send. */
  name: z.string().min(1).max(64).regex(/^[\w.@-]+$/, 'letters, digits, _ . @ - only'),
  /** `sha256:<hex>` of the token; the token itself is never stored (`switchboard token` prints both). */
  hash: z.string().regex(TOKEN_HASH_PATTERN, 'must be sha256:<64 hex> as printed by `switchboard token`'),
  /** client: joins WS rooms and talks; bot: also reads the canonical stream of its rooms. */
  scope: z.enum(['client', 'bot']).default('client'),
  /** Canonical rooms (bridge names) this token may use; '*' for all. */
  rooms: z.array(z.string().min(1)).min(1).default(['*']),
  displayName: z.string().max(256).optional(),
  /**
   * May remove anyone's message in its rooms (a `retract` with `moderation`) and set their topic
   * (`topic`): for anti-spam bots and admins. Carried out on every network of the room
   * (docs/websocket-protocol.md).
   */
  moderator: z.boolean().default(false),
}).strict();
export type TokenConfig = z.infer<typeof TokenSchema>;

/**
 * MTProto user ids the admin gives accounts: below 2^39, so that the ids the connector derives for
 * people of other networks (2^39 ..< 2^40) never collide with them, and every id stays below the
 * 2^40 that widely used clients (TDLib) accept.
 */
export const MTPROTO_MAX_ACCOUNT_ID = 2 ** 39 - 1;
/** The login service's user id (Telegram's service notifications): it sends login codes, no account may have it. */
export const MTPROTO_LOGIN_SERVICE_ID = 777000;

const rate = (perSecond: number, burst: number) => z.object({
  perSecond: z.number().min(0.01).max(1_000_000).default(perSecond),
  burst: z.number().int().min(1).max(10_000_000).default(burst),
}).strict().prefault({});

/** One MTProto account: a bot (logs in with a bridge-issued token) or a person (logs in with a phone number and a code). */
export const MtprotoAccountSchema = z.object({
  /** The user id clients see; mappings/identities.yaml links it (`mtproto: <id>`). */
  id: z.number().int().min(1).max(MTPROTO_MAX_ACCOUNT_ID).refine((id) => id !== MTPROTO_LOGIN_SERVICE_ID, `${MTPROTO_LOGIN_SERVICE_ID} is the login service's id (it sends login codes): pick another`),
  firstName: z.string().min(1).max(64),
  lastName: z.string().max(64).optional(),
  username: z.string().regex(/^[A-Za-z]\w{4,31}$/, '5 to 32 characters: a letter, then letters, digits or _').optional(),
  /** A person's phone number (international form, e.g. +15550100); what they type at login. */
  phone: z.string().regex(/^\+?[\d\s().-]{5,32}$/, 'a phone number such as +15550100').optional(),
  bot: z.boolean().default(false),
  /** A bot's token hash, `sha256:<hex>` as printed by `switchboard token --mtproto-bot`. */
  tokenHash: z.string().regex(TOKEN_HASH_PATTERN, 'must be sha256:<64 hex> as printed by `switchboard token --mtproto-bot`').optional(),
  /** Canonical rooms (bridge names) whose MTProto chats the account sees; '*' for all. */
  rooms: z.array(z.string().min(1)).min(1).default(['*']),
  /**
   * An admin of its groups: may delete anyone's message there, for everyone, which is a
   * moderator's removal on every network of the room, and set a group's description, which is
   * the room's topic there too (docs/mtproto.md). Absent: false.
   */
  moderator: z.boolean().optional(),
}).strict().superRefine((a, ctx) => {
  if (a.bot && a.tokenHash === undefined) ctx.addIssue({ code: 'custom', path: ['tokenHash'], message: 'a bot needs tokenHash (switchboard token --mtproto-bot)' });
  if (a.bot && a.phone !== undefined) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'a bot logs in with its token, not a phone number' });
  if (!a.bot && a.phone === undefined) ctx.addIssue({ code: 'custom', path: ['phone'], message: 'a person needs a phone number (or set bot: true and a tokenHash)' });
  if (!a.bot && a.tokenHash !== undefined) ctx.addIssue({ code: 'custom', path: ['tokenHash'], message: 'only bots have a tokenHash' });
});
export type MtprotoAccountConfig = z.infer<typeof MtprotoAccountSchema>;

/** Digits of a phone number: what login compares ('+1 (555) 0100' and '15550100' are one number). */
export function phoneDigits(phone: string): string {
  return phone.replace(/\D/g, '');
}

/**
 * A list key with nothing under it (`accounts:` followed only by comments, or by nothing) is YAML
 * null: read as the empty list, so entries can be pasted under such a key and removed again.
 */
const emptyWhenNull = <T extends z.ZodType>(list: T) => z.preprocess((v) => (v === null ? undefined : v), list);

const MtprotoAccountsSchema = emptyWhenNull(z.array(MtprotoAccountSchema).max(100_000).default([]).superRefine((accounts, ctx) => {
  const seen = new Map<string, number>();
  accounts.forEach((a, i) => {
    for (const [what, key] of [['id', `id:${a.id}`], ['phone', a.phone === undefined ? undefined : `phone:${phoneDigits(a.phone)}`], ['username', a.username === undefined ? undefined : `username:${a.username.toLowerCase()}`]] as const) {
      if (key === undefined) continue;
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, what], message: `the same ${what} as accounts.${first}` });
      else seen.set(key, i);
    }
  });
}));

/**
 * Settings that were removed but that an older config.yaml may still set: such a file keeps
 * loading, the key is dropped before validation (the schema stays strict for everything else, so a
 * typo is still an error), and the loader reports it as a warning (file:line) saying why.
 */
export const RETIRED_SETTINGS: readonly { readonly path: readonly string[]; readonly why: string }[] = [
  { path: ['websocket', 'helloTimeoutMs'], why: 'ignored: no longer a setting (nothing ever read it: the server sends hello, clients send none); delete it' },
];

/** An account of `ignore.senders`: one network and the id its events carry (as identities.yaml names accounts). */
const IgnoredSenderSchema = z.object({
  websocket: z.string().min(1).max(LIMITS.idChars).optional(),
  xmpp: z.string().min(1).max(LIMITS.idChars).optional(),
  mtproto: z.union([z.string().min(1).max(LIMITS.idChars), z.number().int()]).transform(String).optional(),
}).strict().refine((e) => [e.websocket, e.xmpp, e.mtproto].filter((v) => v !== undefined).length === 1, {
  message: 'each ignored sender names exactly one network (websocket, xmpp or mtproto) and its id there',
});

/** What a room keeps from the other networks (core/ignore.ts): a bridge file's and config.yaml's `ignore:`. The patterns' syntax is checked by the loader. */
const IgnoreSchema = z.object({
  senders: z.array(IgnoredSenderSchema).max(MAX_IGNORED_SENDERS).optional(),
  messages: z.array(z.string().min(1).max(MAX_IGNORE_PATTERN_CHARS)).max(MAX_IGNORE_PATTERNS).optional(),
}).strict();

export const ConfigSchema = z.object({
  instance: z.object({
    /** Name of this instance (default: the hostname); the app appends the pid, so every process names its consumers and leases uniquely. */
    id: z.string().min(1).max(128).optional(),
  }).strict().prefault({}),
  log: z.object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }).strict().prefault({}),
  bus: z.object({
    driver: z.enum(['memory', 'redis']).default('memory'),
    /**
     * Memory driver only: where connector state (MTProto auth keys and sessions, XMPP archive
     * positions) is kept across restarts, relative to the config file. The redis driver keeps it in Redis.
     */
    stateFile: z.string().min(1).default('./data/state.jsonl'),
    redis: z.object({
      url: z.string().min(1).default('redis://127.0.0.1:6379'),
      /** Key prefix of everything Switchboard writes to Redis. */
      prefix: z.string().min(1).max(64).regex(/^[\w.-]+$/).default('sb'),
    }).strict().prefault({}),
    batch: z.object({
      /** Events gathered into one bus job at most. */
      maxEvents: z.number().int().min(1).max(10_000).default(256),
      /**
       * How long the first event of a batch may wait for company, in ms. 0 (the default) waits for
       * no timer: a batch is what arrives in one turn of the event loop plus whatever gathers while
       * the previous write is in flight, which batches under load and adds no latency when idle.
       */
      maxWaitMs: z.number().min(0).max(100).default(0),
    }).strict().prefault({}),
    retention: z.object({
      /** Events kept per room in the canonical stream (approximate, trimmed in blocks). */
      maxEventsPerRoom: z.number().int().min(100).max(10_000_000).default(100_000),
      /** How long an event id is remembered for de-duplication, in seconds. */
      dedupeSeconds: z.number().int().min(60).max(30 * 86_400).default(7 * 86_400),
      /**
       * How long a sender's transaction id (a WS `txn`, an XMPP origin-id, an MTProto random_id)
       * is recognised, so that a resend is acknowledged instead of published again, in seconds.
       * At most dedupeSeconds.
       */
      transactionSeconds: z.number().int().min(10).max(30 * 86_400).default(3_600),
      /** ...as long as the room had fewer than this many later transactions (bounds Redis memory). */
      transactionsPerRoom: z.number().int().min(100).max(10_000_000).default(10_000),
      /** Native message ids remembered per endpoint for edits, replies and reactions (the oldest are forgotten first). */
      idMapPerEndpoint: z.number().int().min(100).max(10_000_000).default(100_000),
    }).strict().prefault({}).refine((r) => r.transactionSeconds <= r.dedupeSeconds, {
      message: 'transactionSeconds must not exceed dedupeSeconds (a resend is recognised by the dedupe of its event id)',
      path: ['transactionSeconds'],
    }),
    delivery: z.object({
      /** Attempts of one delivery batch before it goes to the dead-letter queue. */
      maxAttempts: z.number().int().min(1).max(1_000).default(10),
      /** First retry delay; doubles each attempt up to maxBackoffMs. */
      backoffMs: z.number().int().min(1).max(60_000).default(100),
      maxBackoffMs: z.number().int().min(1).max(600_000).default(10_000),
    }).strict().prefault({}),
    /** Shortcuts of the redis driver, each switchable off (docs/bus.md, "Fast paths"); the memory driver has none. */
    fastPaths: z.object({
      directDelivery: z.boolean().default(true),
      routeAtPublish: z.boolean().default(true),
      skipLonelyFanout: z.boolean().default(true),
      corkWrites: z.boolean().default(true),
      batchClaims: z.boolean().default(true),
    }).strict().prefault({}),
  }).strict().prefault({}),
  http: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8080),
    /** Serve Prometheus metrics at /metrics. */
    metrics: z.boolean().default(true),
  }).strict().prefault({}),
  websocket: z.object({
    enabled: z.boolean().default(true),
    path: z.string().startsWith('/').default('/ws'),
    /** Browser Origins allowed to connect. Requests without an Origin header (bots, native apps) are allowed. */
    allowedOrigins: z.array(z.string().url()).default([]),
    maxPayloadBytes: z.number().int().min(1_024).max(16 * 1024 * 1024).default(64 * 1024),
    heartbeatMs: z.number().int().min(1_000).max(600_000).default(30_000),
    /** A client whose unsent output passes this is disconnected (slow consumer), in bytes. */
    maxBufferedBytes: z.number().int().min(16 * 1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    rateLimit: z.object({
      perSecond: z.number().min(1).max(100_000).default(100),
      burst: z.number().int().min(1).max(1_000_000).default(500),
    }).strict().prefault({}),
    /** Whether tokens (client and bot) may chat directly with people on any network (WS rooms `@<network>:<id>`). */
    directMessages: z.boolean().default(true),
    tokens: emptyWhenNull(z.array(TokenSchema).default([])),
  }).strict().prefault({}),
  xmpp: z.object({
    enabled: z.boolean().default(false),
    /** The XMPP server's component port (XEP-0114). Loopback by default: put the bridge beside the server. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65_535).default(5347),
    /** The component's domain, exactly as the server's config names it; puppets live here. */
    domain: z.string().min(1).max(255).regex(/^[a-z0-9.-]+$/, 'a lower-case domain').default('bridge.localhost'),
    /** The component secret: take it from the environment (`${SWITCHBOARD_XMPP_SECRET}`). Required when enabled. */
    secret: z.string().min(1).optional(),
    /** Where XEP-0199 pings go (default: the domain without its first label). */
    serverDomain: z.string().min(1).max(255).optional(),
    /** Name of the component in disco, and the nick of its relay occupant in linked rooms. */
    name: z.string().min(1).max(64).default('Switchboard'),
    /** Longest wait between reconnection attempts (they back off from 500 ms up to this). */
    reconnectMaxMs: z.number().int().min(100).max(600_000).default(30_000),
    pingIntervalMs: z.number().int().min(0).max(600_000).default(30_000),
    pingTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    maxStanzaBytes: z.number().int().min(1_024).max(16 * 1024 * 1024).default(256 * 1024),
    outboundPerSecond: z.number().min(1).max(100_000).default(2_000),
    /** Room messages one occupant may have bridged per second (beyond its burst: dropped, logged, counted). */
    inboundPerSenderPerSecond: z.number().min(0.1).max(100_000).default(20),
    inboundPerSenderBurst: z.number().int().min(1).max(1_000_000).default(100),
    /** How long a puppet's room message may wait for the room's reflection (its delivery receipt) before the delivery is retried. */
    reflectionTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
    /**
     * A room's catch-up after the bridge was away bridges what its archive holds from at most this
     * many seconds ago (and never before the last message bridged): after a long outage, or when
     * a room unlinked by a restart is linked again, older messages are not posted. 0: no bound.
     */
    catchUpMaxAgeSeconds: z.number().int().min(0).max(365 * 86_400).default(7 * 86_400),
    /**
     * The pace of a long catch-up: a turn reads this many archive pages (up to 100 messages each),
     * then the room's catch-up pauses for catchUpPauseSeconds and goes on where it stopped, until
     * it has read everything within catchUpMaxAgeSeconds.
     */
    catchUpPagesPerTurn: z.number().int().min(1).max(1_000).default(100),
    catchUpPauseSeconds: z.number().min(0.1).max(3_600).default(10),
  }).strict().prefault({}).refine((x) => !x.enabled || x.secret !== undefined, { message: 'required when xmpp.enabled is true (e.g. secret: ${SWITCHBOARD_XMPP_SECRET})', path: ['secret'] }),
  mtproto: z.object({
    enabled: z.boolean().default(false),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8443),
    /** PEM of the server RSA key (`switchboard keygen` writes it and prints the fingerprint clients pin). */
    rsaKeyFile: z.string().min(1).default('./data/mtproto-rsa.pem'),
    /**
     * Secret the server salts are derived from (HMAC), at least 32 characters. Unset: one is drawn
     * once and kept (sealed) in the bus's state, so every instance and every restart agree on
     * salts. Set it (from the environment) only to pin it across a wiped store.
     */
    saltSecret: z.string().min(32, 'use at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
    /**
     * Key-encryption key (KEK) of the stored auth keys and salt secret (AES-256-GCM): 32 bytes in
     * base64 or hex, from the environment (`${SWITCHBOARD_MTPROTO_KEY_ENCRYPTION_KEY}`). Unset or
     * empty: keyEncryptionKeyFile is used if it exists; neither: stored in plaintext, with a warning.
     */
    keyEncryptionKey: z.union([z.literal(''), z.string().trim().regex(KEK_PATTERN, KEK_MESSAGE)]).optional(),
    /** File holding the KEK when keyEncryptionKey is unset (`switchboard keygen` writes it beside the RSA key). */
    keyEncryptionKeyFile: z.string().min(1).default('./data/mtproto-kek.key'),
    /** Earlier KEKs, for a rotation: they only open what they sealed, which is re-sealed under the current one on first use. */
    previousKeyEncryptionKeys: z.array(z.string().trim().regex(KEK_PATTERN, KEK_MESSAGE)).max(16).default([]),
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Frames one connection may send per second, sustained and in a burst; past them -429 and close. */
    framesPerSecond: z.number().int().min(1).max(1_000_000).default(200),
    frameBurst: z.number().int().min(1).max(10_000_000).default(400),
    /** API results and pushed updates of at least this many bytes go out as gzip_packed when that is smaller, as Telegram's servers do; 0: never. */
    gzipResultsFrom: z.number().int().min(0).max(16 * 1024 * 1024).default(1024),
    /**
     * A frame of sends that are idempotent by their random_id (sendMessage, sendMedia,
     * sendMultiMedia, forwardMessages) is processed without waiting for the shared replay guard's
     * round trip (the transaction claim answers a replay of it); false: every frame waits.
     */
    sendsAheadOfReplayGuard: z.boolean().default(true),
    /** Auth keys one remote address may start making, per minute and in a burst; past them -429 and close. */
    handshakesPerMinute: z.number().int().min(1).max(1_000_000).default(60),
    handshakeBurst: z.number().int().min(1).max(1_000_000).default(120),
    /** A stored auth key no message has used since its handshake is dropped after this many minutes. */
    unusedKeyMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
    /** A stored auth key unused for this many days is dropped (its client must make a new one); 0: kept until destroyed. */
    idleKeyDays: z.number().int().min(0).max(3_650).default(180),
    /** Who may log in: bots (token) and people (phone number + code). */
    accounts: MtprotoAccountsSchema,
    login: z.object({
      /** How long a login code is valid, in seconds. */
      codeTtlSeconds: z.number().int().min(30).max(3_600).default(300),
      /** Wrong codes accepted per code before it is void (PHONE_CODE_EXPIRED). */
      maxAttempts: z.number().int().min(1).max(20).default(5),
      /** Least time between two codes for one phone number, in seconds (FLOOD_WAIT before). */
      resendSeconds: z.number().int().min(0).max(3_600).default(30),
    }).strict().prefault({}),
    files: z.object({
      /** Largest file a client may upload (bytes). */
      maxFileBytes: z.number().int().min(1_024).max(2 * 1024 ** 3).default(20 * 1024 * 1024),
      /** The connector's file store keeps at most this much (bytes); the oldest files go first. */
      maxTotalBytes: z.number().int().min(1_024).max(64 * 1024 ** 3).default(256 * 1024 * 1024),
    }).strict().prefault({}),
    /** Entries of each chat's update log kept for getDifference and history (older: differenceTooLong). */
    historyPerChat: z.number().int().min(100).max(1_000_000).default(10_000),
    /** How long a press of a bot's callback button waits for the bot's answer, in seconds (then BOT_RESPONSE_TIMEOUT). */
    callbackTimeoutSeconds: z.number().int().min(1).max(60).default(10),
    /** Private chats one account may have (each a log, counted in its pts); past it a new one is refused (PEER_FLOOD). */
    maxDirectChats: z.number().int().min(1).max(100_000).default(1_000),
    /** Per account and method class: sustained calls per second and burst; past them FLOOD_WAIT_X. */
    flood: z.object({
      send: rate(30, 100),
      read: rate(50, 200),
      upload: rate(200, 800),
      typing: rate(5, 20),
      /** Logins (sendCode, signIn, importBotAuthorization) per auth key. */
      auth: rate(0.2, 10),
    }).strict().prefault({}),
  }).strict().prefault({}),
  mapper: z.object({
    /**
     * Rewrite every delivery for its target connector (identities, presence coalescing, fallbacks,
     * formatting, attachments: docs/mapper.md). Off: connectors get what the router made, as is.
     */
    enabled: z.boolean().default(true),
    /** Recent messages (and edits) remembered for the quotes of fallbacks (a reply, a correction, a reaction shown as text). */
    recentMessages: z.number().int().min(0).max(1_000_000).default(10_000),
    /** How much of an original a fallback quotes, in characters. */
    quoteChars: z.number().int().min(10).max(1_000).default(80),
    /** People x endpoints whose last delivered presence, typing and membership are remembered (the oldest are forgotten first). */
    maxTrackedStates: z.number().int().min(100).max(10_000_000).default(100_000),
  }).strict().prefault({}),
  /** The media store: files of attachments, served with signed URLs (docs/media.md). */
  media: MediaConfigSchema.prefault({}),
  /**
   * What every bridged room keeps to the network it was said on, beside its own bridges/ `ignore:`
   * (core/ignore.ts): a spammer or a network's helper bot kept off every room at once.
   */
  ignore: IgnoreSchema.optional(),
  /** Folder of bridge files (one YAML per linked room set), relative to the config file. */
  bridgesDir: z.string().min(1).default('./bridges'),
  /** Folder of mapping tables, relative to the config file. */
  mappingsDir: z.string().min(1).default('./mappings'),
  shutdown: z.object({
    /** How long SIGTERM waits for in-flight work to drain before exiting anyway, in ms. */
    drainTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
  }).strict().prefault({}),
}).strict();
export type Config = z.infer<typeof ConfigSchema>;

/** A bridge file: one canonical room linking endpoints on several networks. */
export const EndpointEntrySchema = z.object({
  websocket: z.string().min(1).max(256).regex(/^[\w.#@:-]+$/, 'WS room names use letters, digits and _ . # @ : -')
    .refine((name) => !name.startsWith('@'), 'WS room names starting with @ are direct chats (@<network>:<id>), not bridge rooms').optional(),
  xmpp: z.string().min(3).max(1024).optional(),
  mtproto: z.union([z.string().min(1).max(64), z.number().int()]).transform(String).optional(),
  /**
   * Which way the bridge carries messages for this endpoint (core/endpoint.ts `Direction`):
   * `both` (the default), `send-only` (what is said there reaches the others; nothing is posted
   * into it) or `receive-only` (it gets what the others say; what is said there stays there).
   */
  direction: z.enum(DIRECTIONS).optional(),
}).strict().refine((e) => [e.websocket, e.xmpp, e.mtproto].filter((v) => v !== undefined).length === 1, {
  message: 'each endpoint names exactly one network (websocket, xmpp or mtproto)',
});

export const BridgeFileSchema = z.object({
  /** Canonical room key; defaults to the file name without .yaml. */
  room: z.string().min(1).max(256).regex(/^[\w.-]+$/, 'room keys use letters, digits and _ . -').optional(),
  description: z.string().max(1_024).optional(),
  endpoints: z.array(EndpointEntrySchema).min(1).max(64),
  ignore: IgnoreSchema.optional(),
}).strict();
export type BridgeFile = z.infer<typeof BridgeFileSchema>;
