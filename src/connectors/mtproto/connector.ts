import type { LoadedConfig } from '../../config/load.ts';
import { ConfigError } from '../../config/errors.ts';
import type { Capabilities } from '../../core/capabilities.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorListing } from '../connector.ts';
import type { MtprotoServer } from './server.ts';
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
  private closing: Promise<void> | undefined;
  private wsUrl = '';

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
    let stores;
    try {
      stores = await openMtprotoStores({
        state: ctx.bus.state('mtproto'), driver: ctx.bus.driver, ring: kek.ring, logger: ctx.logger, registry: ctx.registry,
        ...(config.mtproto.saltSecret ? { saltSecret: new Uint8Array(Buffer.from(config.mtproto.saltSecret, 'utf8')) } : {}),
      });
    } catch (err) {
      if (err instanceof KeyRingMismatch) {
        const path = kek.source === 'file' ? 'mtproto.keyEncryptionKeyFile' : 'mtproto.keyEncryptionKey';
        throw new ConfigError([{ file: this.loaded.configFile, line: 0, path, message: err.message }]);
      }
      throw err;
    }
    const server = createMtprotoServer({
      host: config.mtproto.host, port: config.mtproto.port, rsaKey: key.key, logger: ctx.logger, registry: ctx.registry,
      keyStore: stores.keyStore, clientInfo: stores.clientInfo, saltSecret: stores.saltSecret,
      ...(stores.replayGuard ? { replayGuard: stores.replayGuard } : {}),
      maxConnections: config.mtproto.maxConnections, wsPath: MTPROTO_WS_PATH,
    });
    try {
      const { port } = await server.start();
      this.server = server;
      this.listening = { port, fingerprint: key.key.fingerprintHex };
      ctx.http.upgrade(MTPROTO_WS_PATH, (req, socket, head) => server.handleUpgrade(req, socket, head));
      this.wsUrl = `${ctx.httpUrl.replace(/^http/, 'ws')}${MTPROTO_WS_PATH}`;
    } catch (err) {
      await server.stop().catch(() => undefined);
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
