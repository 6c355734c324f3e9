import { isDeepStrictEqual } from 'node:util';
import type { Identity, LoadedConfig } from '../../config/load.ts';
import { ConfigError } from '../../config/errors.ts';
import type { Capabilities } from '../../core/capabilities.ts';
import type { Stoppable } from '../../bus/types.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorListing, EndpointChange } from '../connector.ts';
import type { Logger } from '../../core/logger.ts';
import { chatIdOf } from './chat/directory.ts';
import type { MtprotoServer } from './server.ts';
import type { ChatLayer } from './chat/chat-layer.ts';
import { readMtprotoRsaKey } from './rsa-key-file.ts';

export const MTPROTO_WS_PATH = '/apiws';

/** Longest message text: Telegram's message_length_max, which help.getConfig announces too. */
export const MTPROTO_MAX_TEXT = 4_096;

/**
 * What the chat layer expresses natively (docs/mtproto.md, "What maps to what"). Presence: online
 * and offline (away, dnd and xa all show as "recently"). Receipts: read marks only. Files: `link`,
 * because the connector fetches nothing: a file in the media store shows as a native document,
 * anything else as a link; files MTProto clients send go to the media store (or the connector's
 * own store without one).
 */
export const MTPROTO_CAPABILITIES: Capabilities = {
  edits: true,
  retractions: true,
  reactions: 'emoji',
  replies: true,
  threads: false,
  presence: ['available', 'offline'],
  typing: true,
  receipts: ['displayed'],
  attachments: { delivery: 'link', maxBytes: 2 * 1024 * 1024 * 1024 },
  formatting: ['bold', 'italic', 'strike', 'code', 'pre', 'link', 'mention', 'quote', 'spoiler'],
  maxTextLength: MTPROTO_MAX_TEXT,
  // Message ids are recorded in the bus's id map: the mapper resolves references to them.
  nativeIds: true,
  // People of other networks show their avatar as their profile photo (chat/profile-photos.ts).
  avatars: true,
  // An account's private chats with people of other networks and with other accounts (chat/direct-chats.ts).
  directChats: true,
  // A room's topic is its groups' description (chat/group-about.ts); a moderator account sets it.
  topics: true,
};

/**
 * The MTProto connector: the MTProto 2.0 server (TCP, and WebSocket at /apiws on the HTTP port)
 * and its chat layer (chat/): accounts log in, bridged rooms are basic groups, direct chats are
 * private chats, the bus's deliveries to `mtproto` endpoints become messages and live updates
 * with per-account pts.
 */
export class MtprotoConnector implements Connector {
  readonly network = 'mtproto';
  readonly capabilities = MTPROTO_CAPABILITIES;
  readonly hostsSessions = true;
  readonly delivers = true;

  private server: MtprotoServer | undefined;
  private chat: ChatLayer | undefined;
  private egress: Stoppable | undefined;
  private following: Stoppable | undefined;
  private scheduler: Stoppable | undefined;
  private listening: { port: number; fingerprint: string; fingerprintSigned: string } | undefined;
  private closing: Promise<void> | undefined;
  private logger: Logger | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private wsUrl = '';
  /** config.yaml's accounts put in force by a reload; undefined: the start's. */
  private reloadedAccounts: LoadedConfig['config']['mtproto']['accounts'] | undefined;

  constructor(private readonly loaded: LoadedConfig) {}

  async start(ctx: ConnectorContext): Promise<void> {
    const { config } = this.loaded;
    const { createMtprotoServer } = await import('./server.ts');
    const key = await readMtprotoRsaKey(this.loaded);
    if (!key.ok) throw new ConfigError([key.issue]);
    // Keys, client info, the salt secret and (redis) seen msg_ids live in the bus's state, shared
    // by every instance and kept across restarts, on the embedded defaults too (store/open-stores.ts).
    const { readKeyRing } = await import('./store/kek-config.ts');
    const { openMtprotoStores, KeyRingMismatch } = await import('./store/open-stores.ts');
    const kek = readKeyRing(this.loaded);
    if (!kek.ok) throw new ConfigError(kek.issues);
    for (const warning of kek.warnings) ctx.logger.warn(warning);
    // Stored secrets that do not open under the configured KEKs stop the start with one config error.
    const kekError = (err: unknown): unknown => {
      if (!(err instanceof KeyRingMismatch)) return err;
      const path = kek.source === 'file' ? 'mtproto.keyEncryptionKeyFile' : 'mtproto.keyEncryptionKey';
      return new ConfigError([{ file: this.loaded.configFile, line: 0, path, message: err.message }]);
    };
    let stores;
    try {
      stores = await openMtprotoStores({
        state: ctx.bus.state('mtproto'), driver: ctx.bus.driver, ring: kek.ring, logger: ctx.logger, registry: ctx.registry,
        keyLifetimes: {
          unusedMs: config.mtproto.unusedKeyMinutes * 60_000,
          idleMs: config.mtproto.idleKeyDays === 0 ? undefined : config.mtproto.idleKeyDays * 86_400_000,
        },
        ...(config.mtproto.saltSecret ? { saltSecret: new Uint8Array(Buffer.from(config.mtproto.saltSecret, 'utf8')) } : {}),
      });
    } catch (err) {
      throw kekError(err);
    }
    const { LayeredCodec } = await import('./tl/layered-codec.ts');
    const { ChatLayer, transactionSends } = await import('./chat/chat-layer.ts');
    const { FILES_ROUTE } = await import('./chat/files.ts');
    const { DEFAULT_MAX_FRAME_BYTES } = await import('./server.ts');
    for (const e of ctx.endpoints) {
      if (chatIdOf(e.address) === undefined) ctx.logger.warn({ endpoint: e.address }, 'mtproto endpoint is not a chat id (1..999999999999): not served');
    }
    // One codec for answers and pushed updates, so each layer's encoder is built once.
    const codec = new LayeredCodec(undefined, { maxInflatedBytes: DEFAULT_MAX_FRAME_BYTES * 8 });
    let server: MtprotoServer | undefined;
    try {
      const chat = await ChatLayer.create({
        bus: ctx.bus, routing: ctx.routing, endpoints: ctx.endpoints, config: config.mtproto, identities: this.loaded.mappings.identities,
        codec, logger: ctx.logger, registry: ctx.registry, httpUrl: ctx.httpUrl, dcId: 2, maxTextLength: MTPROTO_MAX_TEXT, ring: kek.ring, keyTtl: stores.companions.ttlOf,
        media: ctx.media === undefined ? undefined : { service: ctx.media, basePath: config.media.urls.basePath },
      });
      stores.companions.add(chat.keyCompanion);
      server = createMtprotoServer({
        host: config.mtproto.host, port: config.mtproto.port, rsaKey: key.key, logger: ctx.logger, registry: ctx.registry,
        keyStore: stores.keyStore, clientInfo: stores.clientInfo, saltSecret: stores.saltSecret,
        ...(stores.replayGuard ? { replayGuard: stores.replayGuard } : {}),
        maxConnections: config.mtproto.maxConnections, wsPath: MTPROTO_WS_PATH, dcId: 2,
        framesPerSecond: config.mtproto.framesPerSecond, frameBurst: config.mtproto.frameBurst, gzipResultsFrom: config.mtproto.gzipResultsFrom,
        handshakesPerMinute: config.mtproto.handshakesPerMinute, handshakeBurst: config.mtproto.handshakeBurst,
        api: { extend: chat.extend, authorizations: chat.authorizations, codec },
        ...(config.mtproto.sendsAheadOfReplayGuard ? { aheadOfGuard: transactionSends(codec) } : {}),
      });
      const { port } = await server.start();
      this.server = server;
      this.chat = chat;
      this.logger = ctx.logger;
      this.listening = { port, fingerprint: key.key.fingerprintHex, fingerprintSigned: BigInt.asIntN(64, key.key.fingerprint).toString() };
      const live = server;
      ctx.http.upgrade(MTPROTO_WS_PATH, (req, socket, head) => live.handleUpgrade(req, socket, head));
      const files = chat.fileRoute;
      if (files !== undefined) ctx.http.route(FILES_ROUTE, files);
      this.wsUrl = `${ctx.httpUrl.replace(/^http/, 'ws')}${MTPROTO_WS_PATH}`;
      // Direct delivery (docs/bus.md): the handler waits for nothing but the bus's own store (a
      // batch's writes, pipelined) and pushes to sockets without waiting, so the router may call
      // it in line instead of queueing an egress job per batch.
      this.egress = ctx.bus.consumeEgress(this.network, chat.outbound.deliver, { direct: true });
      // Several instances: what the egress consumer (maybe another instance) writes reaches the sessions here too.
      this.following = chat.followOthers();
      this.scheduler = chat.startScheduler();
    } catch (err) {
      await server?.stop().catch(() => undefined);
      throw kekError(err);
    }
  }

  /** The TCP port and key fingerprint once started (the CLI prints them). */
  get listeningOn(): { port: number; fingerprint: string } | undefined {
    return this.listening;
  }

  stopAccepting(): void {
    this.server?.stopAccepting();
  }

  close(deadline = Date.now() + 10_000): Promise<void> {
    return (this.closing ??= (async () => {
      // The delivery batch in hand is finished (bounded: a hanging bus must not keep clients from hearing the close).
      await this.scheduler?.close();
      await this.following?.close();
      const egress = this.egress?.close();
      if (egress) await Promise.race([egress, new Promise((resolve) => setTimeout(resolve, Math.max(0, (deadline - Date.now()) / 2)).unref())]);
      await this.server?.stop();
      // A description set just before the stop is the room's topic on the other networks too: its record is written before the bus closes.
      await this.chat?.idle();
    })());
  }

  health(): ConnectorHealth {
    return { status: this.server ? 'ok' : 'down', detail: { connections: this.server?.connections ?? 0, liveSessions: this.chat?.liveSessions ?? 0 } };
  }

  identitiesChanged(identities: readonly Identity[]): void {
    this.chat?.identitiesChanged(identities);
  }

  /**
   * bridges/ was reloaded: the groups follow at once, their members are told in the background
   * (chat/chat-links.ts); those of a group made read-only or writable again, at once
   * (chat/group-direction.ts). Synchronous, never throws: the app's check refused addresses that are
   * no chat id, and one that came through anyway is logged and not served, as at start.
   */
  endpointsChanged(change: EndpointChange): void {
    const chat = this.chat;
    if (chat === undefined || this.logger === undefined) return;
    const logger = this.logger;
    try {
      for (const e of [...change.added, ...change.moved.map((m) => m.endpoint)]) {
        if (chatIdOf(e.address) === undefined) logger.warn({ endpoint: e.address }, 'mtproto endpoint is not a chat id (1..999999999999): not served');
      }
      this.reloading = chat.endpointsChanged(change);
    } catch (err) {
      logger.error({ err }, 'mtproto: a bridges/ reload could not be applied to the groups');
    }
  }

  /**
   * config.yaml was reloaded and checked whole: `mtproto.accounts` is put in force at once
   * (chat/account-reload.ts): accounts added log in, removed ones and old credentials have their
   * logins ended, rooms, the moderator flag and names follow. Answers `mtproto.accounts` when they
   * changed, and also while the accounts in force are not the start's (the app may compare with
   * those: it must name no restart for them); every other MTProto setting needs a restart.
   * Synchronous, never throws.
   */
  settingsChanged(loaded: LoadedConfig): readonly string[] {
    const chat = this.chat;
    if (chat === undefined || this.logger === undefined) return [];
    const accounts = loaded.config.mtproto.accounts;
    const changed = !isDeepStrictEqual(accounts, this.reloadedAccounts ?? this.loaded.config.mtproto.accounts);
    try {
      if (changed) {
        const { changes, done } = chat.accountsChanged(accounts);
        this.reloadedAccounts = accounts;
        this.reloading = Promise.all([this.reloading, done]).then(() => undefined);
        this.logger.info({ accounts: accounts.length, changed: changes.length }, 'mtproto: config.yaml reload: accounts in force');
      }
    } catch (err) {
      // Not in force: the app names the setting as needing a restart.
      this.logger.error({ err }, 'mtproto: a config.yaml reload could not be applied to the accounts');
      return [];
    }
    return changed ? ['mtproto.accounts'] : [];
  }

  /** The members of the groups the last reload changed have been told (tests). */
  get reloaded(): Promise<void> {
    return this.reloading;
  }

  mediaReferences(): AsyncIterable<string> {
    const chat = this.chat;
    // Not started (or closed): it cannot say what it shows, so the collector must delete nothing.
    if (chat === undefined) throw new Error('the MTProto chat layer is not running: its files cannot be listed');
    return chat.mediaReferences();
  }

  describe(): readonly ConnectorListing[] {
    if (!this.listening) return [];
    return [
      { label: 'MTProto', value: `${this.loaded.config.mtproto.host}:${this.listening.port} (TCP) and ${this.wsUrl}` },
      { label: 'MTProto key', value: `RSA key fingerprint ${this.listening.fingerprint} (signed decimal ${this.listening.fingerprintSigned}; modulus and PEM: switchboard mtproto-key)` },
    ];
  }
}
