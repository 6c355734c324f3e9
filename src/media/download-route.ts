import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../core/logger.ts';
import { isMediaError, MediaErrorCode } from './errors.ts';
import { contentDisposition } from './file-name.ts';
import { pathOf, queryOf, RETRY_AFTER_SECONDS, sendJsonError } from './http-reply.ts';
import { isMediaId } from './media-id.ts';
import type { MediaMetrics } from './metrics.ts';
import { isInlineSafe } from './mime-type.ts';
import { parseRange } from './range.ts';
import type { MediaStore } from './store.ts';
import type { UrlSigner } from './url-signer.ts';

export const DEFAULT_MEDIA_BASE_PATH = '/media';

/** The handler shape the app's HTTP server calls: true when it took the request. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface MediaDownloadOptions {
  readonly store: MediaStore;
  readonly signer: UrlSigner;
  /** Where media URLs live; default /media. */
  readonly basePath?: string;
  readonly logger?: Logger;
  readonly metrics?: MediaMetrics;
}

/**
 * Nothing served from here may run in our origin: no script, no plugin, no framing of other
 * resources. `style-src 'unsafe-inline'` only lets a browser's built-in image and media viewers
 * style themselves; `sandbox` gives any document that still renders an opaque origin.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/**
 * GET and HEAD of `/media/<id>/<name>?exp=&sig=`: checks the signature (403) and the expiry
 * (410) before it looks the id up, so a caller without a valid URL learns nothing about which ids
 * exist; then serves the stored bytes with their stored type, byte ranges (206/416), a strong
 * ETag (the content hash: the bytes of an id never change) and 304 for it, and the headers that
 * keep a browser from running the file (nosniff, CSP sandbox, attachment unless safe inline).
 * Bytes are piped from the store to the socket with backpressure, never gathered in memory.
 */
export function createMediaDownloadHandler(options: MediaDownloadOptions): RouteHandler {
  const basePath = options.basePath ?? DEFAULT_MEDIA_BASE_PATH;
  const prefix = `${basePath}/`;
  const { store, signer, logger, metrics } = options;

  const reply = (res: ServerResponse, status: number, error: string, message: string, headers?: OutgoingHttpHeaders) => {
    metrics?.responses.inc({ route: 'download', status: String(status) });
    sendJsonError(res, status, error, message, headers);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const parts = path.slice(prefix.length).split('/');
    const query = queryOf(req);
    let name: string | undefined;
    try {
      name = parts.length === 2 ? decodeURIComponent(parts[1] ?? '') : undefined;
    } catch {
      name = undefined;
    }
    const id = parts[0] ?? '';
    const verdict = name === undefined || !isMediaId(id)
      ? { ok: false as const, reason: 'bad_signature' as const }
      : signer.verify(id, name, query.get('exp'), query.get('sig'));
    if (!verdict.ok) {
      if (verdict.reason === 'expired') reply(res, 410, 'expired', 'this media link has expired; ask for a new one');
      else reply(res, 403, 'forbidden', 'this media link is not valid');
      return;
    }
    const stored = await store.stat(id as never);
    if (!stored || name === undefined) {
      reply(res, 404, 'not_found', 'this media is no longer available');
      return;
    }
    const etag = `"${stored.sha256}"`;
    const headers: OutgoingHttpHeaders = {
      'etag': etag,
      'cache-control': `private, max-age=${signer.secondsLeft(Number(query.get('exp')))}, immutable`,
      'accept-ranges': 'bytes',
      'content-type': stored.mime,
      'content-disposition': contentDisposition(isInlineSafe(stored.mime) ? 'inline' : 'attachment', name),
      'x-content-type-options': 'nosniff',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'referrer-policy': 'no-referrer',
    };
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) {
      metrics?.responses.inc({ route: 'download', status: '304' });
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const ifRange = req.headers['if-range'];
    const wanted = typeof ifRange === 'string' && ifRange.trim() !== etag ? { kind: 'full' as const } : parseRange(req.headers.range, stored.size);
    if (wanted.kind === 'unsatisfiable') {
      reply(res, 416, 'range_not_satisfiable', 'the requested range is outside the file', { 'content-range': `bytes */${stored.size}` });
      return;
    }
    const range = wanted.kind === 'partial' ? wanted.range : undefined;
    const length = range ? range.end - range.start + 1 : stored.size;
    const status = range ? 206 : 200;
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${stored.size}`;
    headers['content-length'] = length;
    if (req.method === 'HEAD' || length === 0) {
      metrics?.responses.inc({ route: 'download', status: String(status) });
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const body = await store.open(stored.id, range);
    if (!body) {
      reply(res, 404, 'not_found', 'this media is no longer available');
      return;
    }
    metrics?.responses.inc({ route: 'download', status: String(status) });
    metrics?.bytesOut.inc(length);
    res.writeHead(status, headers);
    try {
      await pipeline(body, res);
    } catch (err) {
      // The client went away, or the disk failed mid-file: the status is sent, so the only honest
      // signal left is a cut connection (the client sees fewer bytes than Content-Length).
      logger?.debug({ err, id }, 'media download ended early');
      res.destroy();
    }
  };

  return (req, res) => {
    const path = pathOf(req);
    if (!path.startsWith(prefix)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, 'method_not_allowed', 'media links answer GET and HEAD', { allow: 'GET, HEAD' });
      return true;
    }
    serve(req, res, path).catch((err: unknown) => {
      const unavailable = isMediaError(err, MediaErrorCode.StoreUnavailable);
      logger?.[unavailable ? 'warn' : 'error']({ err, url: req.url?.split('?')[0] }, 'media download failed');
      if (res.headersSent) res.destroy();
      // The storage behind the store (an S3 endpoint) is away: a retry may work, the link is fine.
      else if (unavailable) reply(res, 503, MediaErrorCode.StoreUnavailable, 'the media store is unavailable; try again later', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      else reply(res, 500, 'internal', 'the media could not be read');
    });
    return true;
  };
}
