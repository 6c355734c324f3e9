/** The media layer's public surface (what the app and the connectors import). */
export type { MediaConfig } from './config.ts';
export { startMediaService, type MediaService, type MediaServiceDeps } from './service.ts';
export type { MediaStore, MediaRef, StoredMedia, PutOptions, ByteRange, DeleteOptions } from './store.ts';
export { LocalMediaStore, type LocalMediaStoreOptions } from './local-store.ts';
export { S3MediaStore, type S3MediaStoreOptions } from './s3-store.ts';
export { isMediaId, mediaIdOf, type MediaId } from './media-id.ts';
export { MediaError, MediaErrorCode, isMediaError } from './errors.ts';
export { UrlSigner } from './url-signer.ts';
export { createSignedLinks, type LinkableAttachment, type SignedLinksOptions } from './signed-links.ts';
export { createMediaRoutes, type RouteHandler } from './routes.ts';
export { createMediaDownloadHandler, type MediaDownloadOptions } from './download-route.ts';
export { createMediaUploadHandler, type MediaUploadOptions, type UploadPrincipal, type UploadedAttachment } from './upload-route.ts';
export { RemoteFetcher, type RemoteFetcherOptions, type FetchedMedia } from './fetch-remote.ts';
export { AddressPolicy, type AddressPolicyOptions } from './address-policy.ts';
export { collectGarbage, MediaGarbageCollector, type GarbageCollectorOptions, type GcReport } from './gc.ts';
export { mediaIdsOfEvent, mediaReferencesInStreams, type RoomStreamReader } from './live-references.ts';
export { createMediaMetrics, type MediaMetrics } from './metrics.ts';
export { sanitizeFileName } from './file-name.ts';
