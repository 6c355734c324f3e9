import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpMounts, RequestHandler, RouteOptions, UpgradeHandler } from '../core/http.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { applyCors } from './cors.ts';
import type { HealthReport } from './health.ts';

export type { UpgradeHandler } from '../core/http.ts';

/**
 * The paths parts of the app mounted (see HttpMounts). Mounting happens while the app starts,
 * possibly after the server listens: a request for a path not mounted yet is a 404.
 */
export class MountTable implements HttpMounts {
  readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly routes = new Map<string, { readonly handler: RequestHandler; readonly options: RouteOptions }>();
  private static readonly RESERVED = ['/healthz', '/metrics'];

  upgrade(path: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(path)) throw new Error(`HTTP upgrade path ${path} is mounted twice`);
    this.upgrades.set(path, handler);
  }

  route(prefix: string, handler: RequestHandler, options: RouteOptions = {}): void {
    if (!prefix.startsWith('/') || prefix.endsWith('/')) throw new Error(`HTTP route prefix ${prefix} must start and must not end with /`);
    if (this.routes.has(prefix) || MountTable.RESERVED.includes(prefix)) throw new Error(`HTTP route ${prefix} is mounted twice`);
    this.routes.set(prefix, { handler, options });
  }

  /** The handler (and its options) of the longest mounted prefix of `path`. */
  routeFor(path: string): { readonly handler: RequestHandler; readonly options: RouteOptions } | undefined {
    for (let p = path; p.length > 0; p = p.slice(0, p.lastIndexOf('/'))) {
      const mounted = this.routes.get(p);
      if (mounted) return mounted;
    }
    return undefined;
  }
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly health: () => Promise<HealthReport>;
  /** Serves /metrics from this registry; omitted = no /metrics. */
  readonly metrics?: Registry;
  /** Upgrade paths and routes; may be added to after the server listens. */
  readonly mounts: MountTable;
}

export interface HttpServer {
  readonly port: number;
  /** Stops listening (existing connections, including upgraded sockets, stay until their owners close them). */
  stopAccepting(): void;
  /** Stops listening and ends every remaining connection. */
  close(): Promise<void>;
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Refuses an upgrade on the raw socket: there is no ServerResponse for an upgrade request. */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/**
 * The one HTTP server of an instance: /healthz, /metrics, and what the connectors and the media
 * store mount (routes by path prefix, WebSocket upgrades by path; CORS for routes mounted with a
 * rule, src/http/cors.ts). Everything else is 404.
 * Listens before it resolves.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { logger } = options;

  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const mounted = options.mounts.routeFor(path);
    if (mounted) {
      // CORS only where a route asked for it (the media routes); /healthz and /metrics never.
      if (mounted.options.cors && applyCors(mounted.options.cors, req, res) === 'answered') return;
      await mounted.handler(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (path === '/healthz' || (path === '/metrics' && options.metrics)) {
        res.setHeader('allow', 'GET, HEAD');
        sendJson(res, 405, { error: 'method not allowed' });
        return;
      }
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    if (path === '/healthz') {
      const report = await options.health();
      sendJson(res, report.status === 'ok' ? 200 : 503, report);
      return;
    }
    if (path === '/metrics' && options.metrics) {
      const text = await options.metrics.metrics();
      res.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  };

  const server: Server = createServer((req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const handler = options.mounts.upgrades.get(pathOf(req));
    if (!handler) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    try {
      handler(req, socket, head);
    } catch (err) {
      logger.error({ err, url: req.url }, 'upgrade handler failed');
      refuseUpgrade(socket, 500, 'Internal Server Error');
    }
  });
  server.on('clientError', (_err, socket: Duplex) => refuseUpgrade(socket, 400, 'Bad Request'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  let closed: Promise<void> | undefined;
  const stopListening = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    return closed;
  };

  return {
    port,
    stopAccepting: () => { void stopListening(); },
    close: async () => {
      const done = stopListening();
      server.closeAllConnections();
      await done;
    },
  };
}
