import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../../core/errors.ts';
import { originAllowed } from '../../core/origin.ts';
import type { Config, TokenConfig } from '../../config/schema.ts';
import { findToken } from './tokens.ts';

export type UpgradeDecision =
  | { ok: true; token: TokenConfig }
  | { ok: false; status: 401 | 403 | 503; code: ErrorCode; message: string };

/**
 * Decides, from the HTTP request alone, whether a WebSocket upgrade may proceed: a known token
 * (Authorization: Bearer, or ?access_token= for browsers, which cannot set headers on a WebSocket),
 * then the Origin allow-list. Requests without an Origin header are not from a browser and pass.
 */
export function authorizeUpgrade(req: IncomingMessage, tokens: readonly TokenConfig[], allowedOrigins: Config['websocket']['allowedOrigins']): UpgradeDecision {
  const presented = bearerToken(req) ?? queryToken(req);
  const token = findToken(tokens, presented);
  if (!token) {
    return { ok: false, status: 401, code: ErrorCode.Unauthorized, message: presented === undefined ? 'missing access token' : 'unknown access token' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(allowedOrigins, origin)) {
    return { ok: false, status: 403, code: ErrorCode.ForbiddenOrigin, message: `origin ${origin.slice(0, 200)} is not allowed` };
  }
  return { ok: true, token };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function queryToken(req: IncomingMessage): string | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('access_token') ?? undefined;
}

/** Answers a refused upgrade with a plain HTTP response and a JSON error body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Close once the answer is flushed; a request body (or a stalled peer) is not waited for.
  socket.end([
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="switchboard"'] : []),
    '',
    body,
  ].join('\r\n'), () => socket.destroy());
}
