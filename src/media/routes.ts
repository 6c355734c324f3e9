import type { CorsRule } from '../core/http.ts';
import { createMediaDownloadHandler, type MediaDownloadOptions, type RouteHandler } from './download-route.ts';
import { createMediaUploadHandler, type MediaUploadOptions, type UploadPrincipal } from './upload-route.ts';

export type { RouteHandler };

/**
 * The media routes as one handler for the app's HTTP server: the upload route on `basePath`
 * itself (when an authorize hook is given), downloads below it. Returns false for every other
 * path, so the server goes on to its own routes.
 */
export function createMediaRoutes<P extends UploadPrincipal>(
  download: MediaDownloadOptions,
  upload?: Omit<MediaUploadOptions<P>, 'store' | 'signer' | 'basePath' | 'logger' | 'metrics'>,
): RouteHandler {
  const handlers: RouteHandler[] = [createMediaDownloadHandler(download)];
  if (upload) handlers.unshift(createMediaUploadHandler<P>({ ...download, ...upload }));
  return (req, res) => handlers.some((handle) => handle(req, res));
}

/**
 * CORS for the media routes (applied by the HTTP server, src/http/cors.ts), for browser pages on
 * `allowedOrigins` (the app passes websocket.allowedOrigins): what the routes read and answer.
 * Uploads send Authorization (the token) and Content-Type (the file's type; the name travels in
 * the query); downloads may send Range and the validators. A page may read Location (the
 * upload's signed URL, also in its body), Retry-After (429, 503), Content-Disposition (the file
 * name), Content-Range and ETag. Signed downloads follow the same allow-list as uploads
 * (docs/media.md, "Browser clients on another origin").
 */
export function mediaCorsRule(allowedOrigins: readonly string[]): CorsRule {
  return {
    allowedOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    allowHeaders: ['authorization', 'content-type', 'range', 'if-range', 'if-none-match'],
    exposeHeaders: ['location', 'retry-after', 'content-disposition', 'content-range', 'etag'],
  };
}
