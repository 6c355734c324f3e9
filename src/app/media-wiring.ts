import type { IncomingMessage } from 'node:http';
import type { LoadedConfig } from '../config/load.ts';
import type { TokenConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { Bus } from '../bus/types.ts';
import type { HttpMounts } from '../core/http.ts';
import { mediaCorsRule, mediaReferencesInStreams, startMediaService, type MediaService, type UploadForbidden } from '../media/index.ts';
import type { Connector } from '../connectors/connector.ts';

/**
 * The media store of the instance, when config.yaml enables it (`media.enabled`, default on):
 * mounted on the HTTP server at `media.urls.basePath` (signed downloads, and uploads by holders of
 * a WebSocket token; CORS for `websocket.allowedOrigins`), garbage-collected against the rooms' retained streams.
 */
export async function startMedia(loaded: LoadedConfig, deps: {
  bus: Bus; mounts: HttpMounts; httpUrl: () => string; logger: Logger; registry: Registry;
  /** The app's connectors (filled after the store starts): what they show beyond the streams is kept too. */
  connectors: () => readonly Connector[];
  /** The WebSocket tokens in force (config.yaml's, until a reload changes them): who may upload. */
  tokens: () => readonly TokenConfig[];
}): Promise<MediaService | undefined> {
  const { config } = loaded;
  if (!config.media.enabled) return undefined;
  let authorize: ((req: IncomingMessage) => { id: string } | UploadForbidden | undefined) | undefined;
  if (config.websocket.enabled) {
    // Uploads take the same bearer tokens as the WebSocket connector (docs/media.md).
    const { authorizeUpgrade } = await import('../connectors/websocket/upgrade.ts');
    authorize = (req) => {
      const decision = authorizeUpgrade(req, deps.tokens(), config.websocket.allowedOrigins);
      if (decision.ok) return { id: decision.token.name };
      // A good token from an origin that may not use it is 403, as for the WebSocket itself.
      return decision.status === 403 ? { forbidden: { code: decision.code, message: decision.message } } : undefined;
    };
  }
  const media = await startMediaService({
    config: config.media, baseDir: loaded.configDir, httpUrl: deps.httpUrl, logger: deps.logger, registry: deps.registry,
    ...(authorize ? { authorize } : {}),
    // Every room with a stream (bridged rooms and direct chats alike), and what connectors keep
    // beyond them (the MTProto chat layer's logs and profile photos).
    liveReferences: () => allReferences(mediaReferencesInStreams(deps.bus, deps.bus.rooms()), deps.connectors()),
  });
  // Browser pages on the origins that may open the WebSocket may upload and read media too (CORS,
  // src/http/cors.ts): one allow-list, websocket.allowedOrigins.
  deps.mounts.route(config.media.urls.basePath, (req, res) => {
    if (media.routes(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"error":"not found"}');
  }, { cors: mediaCorsRule(config.websocket.allowedOrigins) });
  return media;
}

/** The streams' references, then each connector's own (a connector that cannot tell makes the whole read fail: nothing is swept). */
async function* allReferences(streams: AsyncIterable<string>, connectors: readonly Connector[]): AsyncGenerator<string> {
  yield* streams;
  for (const connector of connectors) if (connector.mediaReferences !== undefined) yield* connector.mediaReferences();
}
