import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_MEDIA_BASE_PATH, type RouteHandler } from './download-route.ts';
import { isMediaError, MediaErrorCode } from './errors.ts';
import { sanitizeFileName } from './file-name.ts';
import { pathOf, queryOf, RETRY_AFTER_SECONDS, sendJson, sendJsonError } from './http-reply.ts';
import type { MediaMetrics } from './metrics.ts';
import type { MediaRef, MediaStore } from './store.ts';
import type { UrlSigner } from './url-signer.ts';

/** Who is uploading, as the authorize hook says: `id` keys the per-uploader limits. */
export interface UploadPrincipal {
  readonly id: string;
}

/** An authorize hook's refusal of a known uploader (403). */
export interface UploadForbidden {
  readonly forbidden: { readonly code: string; readonly message: string };
}

/** What an upload answers: the shape of a canonical Attachment (src/core/event.ts). */
export interface UploadedAttachment {
  readonly id: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly sha256: string;
  readonly url: string;
}

export interface MediaUploadOptions<P extends UploadPrincipal> {
  readonly store: MediaStore;
  readonly signer: UrlSigner;
  /**
   * Who may upload: the WebSocket connector's token check plugs in here. undefined = 401 (no or an
   * unknown token); an UploadForbidden = 403 with its code and message (a good token from an
   * origin that may not use it).
   */
  readonly authorize: (req: IncomingMessage) => P | UploadForbidden | undefined | Promise<P | UploadForbidden | undefined>;
  /**
   * Absolute base of the URLs handed out (scheme://host[:port]), as clients reach this server;
   * a function when it is known only once the server listens (port 0).
   */
  readonly publicBaseUrl: string | (() => string);
  /** How long a handed-out URL stays valid, in seconds. */
  readonly urlTtlSeconds: number;
  readonly basePath?: string;
  /** Uploads one principal may run at once (429 beyond). Default 4. */
  readonly maxConcurrentPerPrincipal?: number;
  /** Uploads the whole instance runs at once (503 beyond). Default 64. */
  readonly maxConcurrent?: number;
  /** After a successful put (logging, audit). */
  readonly onStored?: (ref: MediaRef, principal: P) => void;
  readonly logger?: Logger;
  readonly metrics?: MediaMetrics;
}

/**
 * After an early refusal (401, 413, ...) the unread rest of the body is not worth reading: the
 * answer goes out with `Connection: close`, and the socket is cut this long after it, so a
 * client that keeps sending cannot hold it open.
 */
const LINGER_AFTER_REFUSAL_MS = 2_000;

const STATUS_OF: Partial<Record<string, number>> = {
  [MediaErrorCode.TooLarge]: 413,
  [MediaErrorCode.UnsupportedType]: 415,
  [MediaErrorCode.SizeMismatch]: 400,
  [MediaErrorCode.BadRequest]: 400,
};

/**
 * POST or PUT `/media?name=<file name>` with the raw file as the body (Content-Type: its type;
 * Content-Length when known, chunked otherwise): authorizes the request, streams the body into
 * the store under its limits, and answers 201 with the attachment reference and a signed URL.
 */
export function createMediaUploadHandler<P extends UploadPrincipal>(options: MediaUploadOptions<P>): RouteHandler {
  const basePath = options.basePath ?? DEFAULT_MEDIA_BASE_PATH;
  const perPrincipal = options.maxConcurrentPerPrincipal ?? 4;
  const maxConcurrent = options.maxConcurrent ?? 64;
  const publicBase = (): string => (typeof options.publicBaseUrl === 'function' ? options.publicBaseUrl() : options.publicBaseUrl).replace(/\/+$/, '');
  if (typeof options.publicBaseUrl === 'string') new URL(publicBase()); // a malformed base fails here, not at the first upload
  const { store, signer, logger, metrics } = options;
  const running = new Map<string, number>();
  let total = 0;

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, error: string, message: string, headers: OutgoingHttpHeaders = {}) => {
    metrics?.responses.inc({ route: 'upload', status: String(status) });
    metrics?.refusals.inc({ source: 'upload', reason: error });
    const bodyUnread = !req.readableEnded;
    sendJsonError(res, status, error, message, bodyUnread ? { ...headers, connection: 'close' } : headers);
    if (bodyUnread) {
      res.once('finish', () => setTimeout(() => req.socket.destroy(), LINGER_AFTER_REFUSAL_MS).unref());
    }
  };

  const upload = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const decision = await options.authorize(req);
    if (decision === undefined) {
      refuse(req, res, 401, 'unauthorized', 'a valid token is required to upload', { 'www-authenticate': 'Bearer' });
      return;
    }
    if ('forbidden' in decision) {
      refuse(req, res, 403, decision.forbidden.code, decision.forbidden.message);
      return;
    }
    const principal = decision;
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader !== undefined && !/^\d{1,15}$/.test(lengthHeader)) {
      refuse(req, res, 400, 'bad_request', 'Content-Length must be a decimal number');
      return;
    }
    const declaredSize = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if (declaredSize !== undefined && declaredSize > store.maxBytes) {
      refuse(req, res, 413, MediaErrorCode.TooLarge, `larger than the limit of ${store.maxBytes} bytes`);
      return;
    }
    const mine = running.get(principal.id) ?? 0;
    if (mine >= perPrincipal) {
      refuse(req, res, 429, 'rate_limited', `at most ${perPrincipal} uploads at once`, { 'retry-after': '1' });
      return;
    }
    if (total >= maxConcurrent) {
      refuse(req, res, 503, 'unavailable', 'too many uploads in progress; try again shortly', { 'retry-after': '1' });
      return;
    }
    running.set(principal.id, mine + 1);
    total++;
    const name = sanitizeFileName(queryOf(req).get('name') ?? undefined);
    try {
      const ref = await store.put(req, { mime: req.headers['content-type'], ...(declaredSize !== undefined ? { declaredSize } : {}) });
      const signed = signer.signedPath(basePath, ref.id, name, options.urlTtlSeconds);
      const attachment: UploadedAttachment = { id: ref.id, name, mime: ref.mime, size: ref.size, sha256: ref.sha256, url: `${publicBase()}${signed.path}` };
      metrics?.responses.inc({ route: 'upload', status: '201' });
      metrics?.bytesIn.inc({ source: 'upload' }, ref.size);
      options.onStored?.(ref, principal);
      sendJson(res, 201, attachment, { location: attachment.url });
    } catch (err) {
      if (isMediaError(err, MediaErrorCode.Aborted)) {
        metrics?.refusals.inc({ source: 'upload', reason: err.code });
        logger?.debug({ principal: principal.id }, 'upload aborted by the client');
        res.destroy();
        return;
      }
      if (isMediaError(err, MediaErrorCode.StoreUnavailable)) {
        // The storage behind the store is away (its detail goes to the log, not to the client):
        // nothing was stored, and the same upload may work later.
        metrics?.refusals.inc({ source: 'upload', reason: err.code });
        logger?.warn({ principal: principal.id, err }, 'upload failed: the media store is unavailable');
        refuse(req, res, 503, err.code, 'the media store is unavailable; try again later', { 'retry-after': String(RETRY_AFTER_SECONDS) });
        return;
      }
      const status = isMediaError(err) ? STATUS_OF[err.code] : undefined;
      if (isMediaError(err) && status !== undefined) {
        logger?.info({ principal: principal.id, reason: err.code, message: err.message }, 'upload refused');
        refuse(req, res, status, err.code, err.message);
        return;
      }
      throw err;
    } finally {
      const left = (running.get(principal.id) ?? 1) - 1;
      if (left > 0) running.set(principal.id, left);
      else running.delete(principal.id);
      total--;
    }
  };

  return (req, res) => {
    if (pathOf(req) !== basePath) return false;
    if (req.method !== 'POST' && req.method !== 'PUT') {
      refuse(req, res, 405, 'method_not_allowed', 'upload with POST or PUT', { allow: 'POST, PUT' });
      return true;
    }
    upload(req, res).catch((err: unknown) => {
      logger?.error({ err }, 'media upload failed');
      refuse(req, res, 500, 'internal', 'the upload could not be stored');
    });
    return true;
  };
}
