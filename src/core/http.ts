import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over an upgrade request (a WebSocket handshake) for one path. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers an HTTP request under a mounted path prefix. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Where parts of the app put their HTTP endpoints on the instance's one HTTP server (health,
 * metrics, WebSocket upgrades, media). A path is mounted once; a second mount of it is an error
 * at start, naming both owners.
 */
export interface HttpMounts {
  /** Upgrade requests whose path (without query) is exactly `path`. */
  upgrade(path: string, handler: UpgradeHandler): void;
  /** Requests whose path is `prefix` or starts with `prefix` + '/'. */
  route(prefix: string, handler: RequestHandler): void;
}
