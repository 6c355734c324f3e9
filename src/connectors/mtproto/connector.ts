import type { LoadedConfig } from '../../config/load.ts';
import { ConfigError } from '../../config/errors.ts';
import type { Capabilities } from '../../core/capabilities.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorListing } from '../connector.ts';
import type { MtprotoServer } from './server.ts';
import type { AuthKeyStore } from './store/auth-key-store.ts';
import type { ReplayGuard } from './session/replay-guard.ts';
import { readMtprotoRsaKey } from './rsa-key-file.ts';

export const MTPROTO_WS_PATH = '/apiws';

/** What the Telegram API can express (the chat layer that uses it is issue #9). */
export const MTPROTO_CAPABILITIES: Capabilities = {
  edits: true,
  retractions: true,
  reactions: 'emoji',
  replies: true,
  threads: false,
  presence: ['available', 'away', 'offline'],
  typing: true,
  receipts: ['displayed'],
  attachments: { delivery: 'upload', maxBytes: 2 * 1024 * 1024 * 1024 },
  formatting: ['bold', 'italic', 'strike', 'code', 'pre', 'link', 'mention', 'quote', 'spoiler'],
  maxTextLength: 4_096,
};

/**
 * The MTProto connector: the MTProto 2.0 server (TCP, and WebSocket at /apiws on the HTTP port).
 * Its chat side (login, messages, updates) is not built yet: it consumes no egress, so the app
 * does not route to its endpoints until it does (see `routes`).
 */
export class MtprotoConnector implements Connector {
  readonly network = 'mtproto';
  readonly capabilities = MTPROTO_CAPABILITIES;
  readonly hostsSessions = true;
  /** False until the chat layer consumes deliveries: the app must not queue what nobody reads. */
  readonly delivers = false;

  private server: MtprotoServer | undefined;
  private listening: { port: number; fingerprint: string } | undefined;
  private closeStore: () => Promise<void> = async () => {};
  private closing: Promise<void> | undefined;
  private wsUrl = '';

  constructor(private readonly loaded: LoadedConfig) {}

  async start(ctx: ConnectorContext): Promise<void> {
    const { config } = this.loaded;
    const { createMtprotoServer } = await import('./server.ts');
    const key = await readMtprotoRsaKey(this.loaded);
    if (!key.ok) throw new ConfigError([key.issue]);
    let keyStore: AuthKeyStore;
    let replayGuard: ReplayGuard | undefined;
    if (ctx.bus.driver === 'redis') {
      // Auth keys are shared by every instance, like everything else that matters (DESIGN: scale-out).
      const { Redis } = await import('ioredis');
      const { RedisAuthKeyStore } = await import('./store/redis-auth-key-store.ts');
      const { RedisReplayGuard } = await import('./store/redis-replay-guard.ts');
      const redis = new Redis(config.bus.redis.url, { lazyConnect: false, maxRetriesPerRequest: 3 });
      // Without a listener ioredis prints "Unhandled error event" to stderr, outside the JSON logs.
      redis.on('error', (err) => ctx.logger.warn({ err }, 'mtproto store redis connection error'));
      keyStore = new RedisAuthKeyStore(redis, `${config.bus.redis.prefix}:mtproto:authkey:`);
      // Seen msg_ids too, so a frame captured on one instance is not accepted again by another.
      replayGuard = new RedisReplayGuard(redis, `${config.bus.redis.prefix}:mtproto:seen:`);
      this.closeStore = async () => { await redis.quit().catch(() => redis.disconnect()); };
    } else {
      const { MemoryAuthKeyStore } = await import('./store/auth-key-store.ts');
      keyStore = new MemoryAuthKeyStore();
    }
    const server = createMtprotoServer({
      host: config.mtproto.host, port: config.mtproto.port, rsaKey: key.key, keyStore, logger: ctx.logger, registry: ctx.registry,
      maxConnections: config.mtproto.maxConnections, wsPath: MTPROTO_WS_PATH,
      ...(replayGuard ? { replayGuard } : {}),
      ...(config.mtproto.saltSecret ? { saltSecret: new Uint8Array(Buffer.from(config.mtproto.saltSecret, 'utf8')) } : {}),
    });
    try {
      const { port } = await server.start();
      this.server = server;
      this.listening = { port, fingerprint: key.key.fingerprintHex };
      ctx.http.upgrade(MTPROTO_WS_PATH, (req, socket, head) => server.handleUpgrade(req, socket, head));
      this.wsUrl = `${ctx.httpUrl.replace(/^http/, 'ws')}${MTPROTO_WS_PATH}`;
    } catch (err) {
      await server.stop().catch(() => undefined);
      await this.closeStore();
      throw err;
    }
  }

  /** The TCP port and key fingerprint once started (the CLI prints them). */
  get listeningOn(): { port: number; fingerprint: string } | undefined {
    return this.listening;
  }

  stopAccepting(): void {
    this.server?.stopAccepting();
  }

  close(_deadline?: number): Promise<void> {
    return (this.closing ??= (async () => {
      await this.server?.stop();
      await this.closeStore();
    })());
  }

  health(): ConnectorHealth {
    return { status: this.server ? 'ok' : 'down', detail: { connections: this.server?.connections ?? 0 } };
  }

  describe(): readonly ConnectorListing[] {
    if (!this.listening) return [];
    return [
      { label: 'MTProto', value: `${this.loaded.config.mtproto.host}:${this.listening.port} (TCP) and ${this.wsUrl}` },
      { label: 'MTProto key', value: `RSA key fingerprint ${this.listening.fingerprint}` },
    ];
  }
}
