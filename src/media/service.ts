import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { AddressPolicy } from './address-policy.ts';
import type { MediaConfig } from './config.ts';
import { RemoteFetcher, type MediaFetcher } from './fetch-remote.ts';
import { sanitizeFileName } from './file-name.ts';
import { MediaGarbageCollector } from './gc.ts';
import { openConfiguredStore } from './store-driver.ts';
import { createMediaMetrics } from './metrics.ts';
import { OwnUrlFetcher } from './own-url-fetcher.ts';
import { createMediaRoutes, type RouteHandler } from './routes.ts';
import { createSignedLinks, type SignedLinks } from './signed-links.ts';
import type { MediaRef, MediaStore } from './store.ts';
import type { UploadedAttachment, UploadForbidden, UploadPrincipal } from './upload-route.ts';
import { UrlSigner } from './url-signer.ts';

export interface MediaServiceDeps<P extends UploadPrincipal> {
  readonly config: MediaConfig;
  /** Relative `dir` is resolved against this (the config file's folder). */
  readonly baseDir: string;
  /**
   * The HTTP listener's URL, used when config.urls.publicBaseUrl is unset; a function when it is
   * known only once the server listens (the media routes must be handed to the server before).
   */
  readonly httpUrl: string | (() => string);
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Who may upload; without it the upload route is off. */
  readonly authorize?: (req: IncomingMessage) => P | UploadForbidden | undefined | Promise<P | UploadForbidden | undefined>;
  /** Clock of URL expiry and GC (tests). */
  readonly now?: () => number;
  /** Media ids referenced by retained events; without it GC does not run. */
  readonly liveReferences?: () => AsyncIterable<string> | Iterable<string>;
}

export interface MediaService {
  /** The configured driver's store (media.store.driver: local or s3). */
  readonly store: MediaStore;
  readonly signer: UrlSigner;
  /**
   * Stores the file at a URL and gives its reference: our own signed links (expired or not) from
   * the store, anything else through the SSRF-safe RemoteFetcher.
   */
  readonly fetcher: MediaFetcher;
  /** For the app's HTTP server: true when it took the request. */
  readonly routes: RouteHandler;
  readonly gc: MediaGarbageCollector | undefined;
  /** A canonical Attachment for stored content, with a fresh signed URL. */
  attachmentFor(ref: MediaRef, name: string | undefined): UploadedAttachment;
  /**
   * Fresh signed URLs per delivery. `urlFor` is the mapper's MediaLinks seam (attachments whose
   * URL we signed); `freshUrl` does the same for a bare URL (a sender's stored avatar). Any other
   * URL unchanged.
   */
  readonly links: SignedLinks;
  close(): Promise<void>;
}

/** Builds the media layer from its config section: store, signer, routes, fetcher, GC. */
export async function startMediaService<P extends UploadPrincipal>(deps: MediaServiceDeps<P>): Promise<MediaService> {
  const { config, logger } = deps;
  const log = logger.child({ component: 'media' });
  const metrics = deps.registry ? createMediaMetrics(deps.registry) : undefined;
  // Everything that can refuse the config is checked before anything is created on disk.
  const policy = new AddressPolicy({ allow: config.fetch.allow });
  const dir = isAbsolute(config.dir) ? config.dir : resolve(deps.baseDir, config.dir);
  const { store, close: closeStore } = await openConfiguredStore(config, dir);
  if (config.store?.driver === 's3') log.info({ endpoint: config.s3?.endpoint, bucket: config.s3?.bucket, prefix: config.s3?.prefix }, 'media store: S3-compatible bucket');
  if (config.urls.secret === undefined) {
    log.warn('media.urls.secret is not set: signed media links stop working after a restart and on other instances');
  }
  const signer = new UrlSigner(config.urls.secret ?? randomBytes(32), deps.now);
  const { httpUrl } = deps;
  const publicBaseUrl = (): string => (config.urls.publicBaseUrl ?? (typeof httpUrl === 'function' ? httpUrl() : httpUrl)).replace(/\/+$/, '');
  const basePath = config.urls.basePath;
  const routes = createMediaRoutes({ store, signer, basePath, logger: log, ...(metrics ? { metrics } : {}) },
    config.upload.enabled && deps.authorize ? {
      authorize: deps.authorize,
      publicBaseUrl,
      urlTtlSeconds: config.urls.ttlSeconds,
      maxConcurrentPerPrincipal: config.upload.maxConcurrentPerPrincipal,
      maxConcurrent: config.upload.maxConcurrent,
    } : undefined);
  const remote = new RemoteFetcher({
    store,
    policy,
    maxRedirects: config.fetch.maxRedirects,
    totalTimeoutMs: config.fetch.totalTimeoutMs,
    idleTimeoutMs: config.fetch.idleTimeoutMs,
    maxConcurrent: config.fetch.maxConcurrent,
    logger: log,
    ...(config.fetch.maxBytes !== undefined ? { maxBytes: config.fetch.maxBytes } : {}),
    ...(metrics ? { metrics } : {}),
  });
  // Our own links resolve from the store: over HTTP they would point at our own (loopback,
  // private) port, which the address policy refuses, and an old one has expired anyway.
  const fetcher = new OwnUrlFetcher({ store, remote, signer, basePath, publicBaseUrl, logger: log, maxBytes: remote.maxBytes });
  const gc = config.gc.enabled && deps.liveReferences
    ? new MediaGarbageCollector({
      store,
      liveReferences: deps.liveReferences,
      graceMs: config.gc.graceSeconds * 1000,
      debrisAgeMs: config.gc.debrisSeconds * 1000,
      intervalMs: config.gc.intervalSeconds * 1000,
      ...(deps.now ? { now: deps.now } : {}),
      logger: log,
      ...(metrics ? { metrics } : {}),
    }).start()
    : undefined;
  return {
    store, signer, fetcher, routes, gc,
    links: createSignedLinks({ signer, basePath, publicBaseUrl, ttlSeconds: config.urls.ttlSeconds }),
    attachmentFor: (ref, name) => {
      const clean = sanitizeFileName(name);
      const { path } = signer.signedPath(basePath, ref.id, clean, config.urls.ttlSeconds);
      return { id: ref.id, name: clean, mime: ref.mime, size: ref.size, sha256: ref.sha256, url: `${publicBaseUrl()}${path}` };
    },
    close: async () => {
      await gc?.close();
      closeStore();
    },
  };
}
