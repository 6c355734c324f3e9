import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { HealthReport } from './health.ts';

/** Takes over an upgrade request (WebSocket handshake) for one path. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly health: () => Promise<HealthReport>;
  /** Serves /metrics from this registry; omitted = no /metrics. */
  readonly metrics?: Registry;
  /** Upgrade path (exact, without query) -> handler. */
  readonly upgrades: ReadonlyMap<string, UpgradeHandler>;
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
 * The one HTTP server of an instance: /healthz, /metrics, and WebSocket upgrades dispatched by
 * path to their connector. Everything else is 404. Listens before it resolves.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { logger } = options;

  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
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
    const handler = options.upgrades.get(pathOf(req));
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
