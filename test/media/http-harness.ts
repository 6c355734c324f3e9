import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteHandler } from '../../src/media/routes.ts';

/** A real HTTP server on a free 127.0.0.1 port that hands requests to `handler` (404 otherwise). */
export async function startRouteServer(handler: RouteHandler): Promise<{ readonly url: string; readonly server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * One request with node:http (full control over headers and how the body is sent). `body` may be
 * an async iterable, written with backpressure; a server that answers early is fine: the answer
 * is what resolves, a write error after it is ignored.
 */
export async function httpRequest(url: string, options: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string | AsyncIterable<Buffer> } = {}): Promise<RawResponse> {
  return await new Promise<RawResponse>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = options.body;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    // Headers go out now, as a streaming client sends them: node would hold them until the first
    // chunk, and a body that is slow to come (or never comes) would keep the server from seeing
    // the request at all.
    req.flushHeaders();
    (async () => {
      for await (const chunk of body) {
        if (req.destroyed || req.writableEnded) return;
        if (!req.write(chunk)) {
          await new Promise<void>((r) => {
            const done = () => { req.off('drain', done); req.off('close', done); r(); };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (!req.destroyed) req.end();
    })().catch(() => undefined);
  });
}

export function json(r: RawResponse): Record<string, unknown> {
  return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
}
