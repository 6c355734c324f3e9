import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over an upgrade request (a WebSocket handshake) for one path. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers an HTTP request under a mounted path prefix. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Which browser pages on other origins may call a route (CORS, applied by src/http/cors.ts before
 * the route's handler runs). Only routes a browser client needs get one; /healthz, /metrics and
 * routes mounted without it answer no preflight and carry no Access-Control-* header.
 */
export interface CorsRule {
  /** Origins (scheme://host[:port]) allowed, compared as the WebSocket Origin check compares them (core/origin.ts). */
  readonly allowedOrigins: readonly string[];
  /** Methods a preflight allows (Access-Control-Allow-Methods). */
  readonly methods: readonly string[];
  /** Request headers a preflight allows (Access-Control-Allow-Headers), lowercase. */
  readonly allowHeaders: readonly string[];
  /** Response headers a page may read besides the safelisted ones (Access-Control-Expose-Headers). */
  readonly exposeHeaders: readonly string[];
}

export interface RouteOptions {
  /** CORS for browser pages on the allowed origins; none = same-origin only (no CORS headers). */
  readonly cors?: CorsRule;
}

/**
 * Where parts of the app put their HTTP endpoints on the instance's one HTTP server (health,
 * metrics, WebSocket upgrades, media). A path is mounted once; a second mount of it is an error
 * at start, naming both owners.
 */
export interface HttpMounts {
  /** Upgrade requests whose path (without query) is exactly `path`. */
  upgrade(path: string, handler: UpgradeHandler): void;
  /** Requests whose path is `prefix` or starts with `prefix` + '/'. */
  route(prefix: string, handler: RequestHandler, options?: RouteOptions): void;
}
