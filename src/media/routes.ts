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
