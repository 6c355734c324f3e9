import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** The path of a request without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The query of a request (parsed against a dummy origin: only the path and query are ours). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  try {
    return new URL(req.url ?? '/', 'http://localhost').searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/** A JSON error body `{ error, message }`; never cached. */
/** What a 503 of the media routes asks a client to wait before trying again (the storage behind the store was away). */
export const RETRY_AFTER_SECONDS = 5;

export function sendJsonError(res: ServerResponse, status: number, error: string, message: string, headers: OutgoingHttpHeaders = {}): void {
  sendJson(res, status, { error, message }, headers);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
