import { connect, type Socket } from 'node:net';

/** Raw WebSocket upgrades over plain TCP, for what a `ws` client would hide: status lines, silent peers. */

/** The bytes of an upgrade request on `path` (subprotocol `binary`), with a bearer token if given. */
export function upgradeRequest(path: string, auth?: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n`
    + `Sec-WebSocket-Protocol: binary\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}\r\n`;
}

/** The status line the server answers an upgrade on `path` with. */
export function upgradeStatus(port: number, path: string, auth?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(upgradeRequest(path, auth)));
    socket.setTimeout(5_000, () => { socket.destroy(); reject(new Error('no answer to upgrade')); });
    socket.once('data', (d: Buffer) => { resolve(d.toString().split('\r\n')[0] ?? ''); socket.destroy(); });
    socket.on('error', reject);
  });
}

/**
 * A WebSocket client that completes the handshake on /ws and then never answers anything, not even
 * the server's close frame: a server's drain has to wait for it (up to its close timeout).
 */
export function stubbornClient(port: number, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(upgradeRequest('/ws', token)));
    socket.setTimeout(5_000, () => { socket.destroy(); reject(new Error('no answer to upgrade')); });
    socket.once('data', (d: Buffer) => {
      socket.setTimeout(0);
      if (d.toString().startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(`upgrade refused: ${d.toString().split('\r\n')[0]}`));
    });
    socket.on('error', () => undefined);
  });
}
