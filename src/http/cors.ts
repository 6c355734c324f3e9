import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsRule } from '../core/http.ts';
import { originAllowed } from '../core/origin.ts';

/**
 * CORS for the routes a browser client on another origin uses (the media upload and signed
 * downloads): a web chat at https://chat.example.org talking to the bridge at
 * https://bridge.example.org. Its WebSocket needs no CORS (the upgrade checks Origin itself), but
 * `fetch(POST /media, { headers: { Authorization } })` is not a "simple" request: the browser first
 * sends a preflight (OPTIONS with Access-Control-Request-Method), and only lets the page send the
 * upload, and read any answer, when the bridge names the page's origin in
 * Access-Control-Allow-Origin. Without this, a browser page on another origin could connect the
 * WebSocket but never upload a file.
 *
 * The origins are the rule's allow-list (the app passes `websocket.allowedOrigins`), compared as
 * the WebSocket Origin check compares them (core/origin.ts): one list, one comparison.
 *
 * - A preflight from an allowed origin: 204 with the origin echoed (never `*`), the methods, the
 *   request headers, Max-Age and Vary: Origin. From any other origin: 403 forbidden_origin with no
 *   Access-Control-* header, so the browser refuses the request and the handler never runs.
 * - Every other request on the route: Vary: Origin always (the answer differs by origin, and a
 *   cache must not serve one origin's answer to another), plus Allow-Origin and Expose-Headers
 *   when the origin is allowed, set before the handler writes, so errors (401, 413, 503...) are
 *   readable by the page too, not only successes. A request from a disallowed origin still reaches
 *   the handler (the upload route refuses it with 403 forbidden_origin); the browser hides its
 *   answer from the page.
 * - No Access-Control-Allow-Credentials: the bridge uses no cookies; a page sends its token in
 *   Authorization, which needs no credentials mode.
 */

/** How long a browser may cache a preflight's answer (Chrome caps it at 7200). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** 'answered': a preflight, answered here (the handler must not run); 'continue': the handler answers. */
export type CorsOutcome = 'answered' | 'continue';

function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** Applies `rule` to a request of its route: answers a preflight, or sets the headers of the real answer. */
export function applyCors(rule: CorsRule, req: IncomingMessage, res: ServerResponse): CorsOutcome {
  res.setHeader('vary', 'Origin');
  const origin = req.headers.origin;
  // No Origin: not a cross-origin browser request (a bot, curl, a same-origin GET): nothing to add.
  if (origin === undefined) return 'continue';
  const allowed = originAllowed(rule.allowedOrigins, origin);
  if (isPreflight(req)) {
    if (!allowed) {
      const body = JSON.stringify({ error: 'forbidden_origin', message: `origin ${origin.slice(0, 200)} is not allowed` });
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return 'answered';
    }
    res.writeHead(204, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': rule.methods.join(', '),
      'access-control-allow-headers': rule.allowHeaders.join(', '),
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
    });
    res.end();
    return 'answered';
  }
  if (allowed) {
    res.setHeader('access-control-allow-origin', origin);
    if (rule.exposeHeaders.length > 0) res.setHeader('access-control-expose-headers', rule.exposeHeaders.join(', '));
  }
  return 'continue';
}
