import { WebSocket, type ClientOptions } from 'ws';

/** Opens a client socket and resolves once it is open (rejects on error or after timeoutMs). */
export async function openSocket(url: string, options: ClientOptions = {}, timeoutMs = 5_000): Promise<WebSocket> {
  const socket = new WebSocket(url, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.terminate(); reject(new Error(`no WebSocket open to ${url} in ${timeoutMs} ms`)); }, timeoutMs);
    socket.once('open', () => { clearTimeout(timer); resolve(); });
    socket.once('error', (err) => { clearTimeout(timer); reject(err); });
    socket.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket upgrade to ${url} refused: HTTP ${res.statusCode}`));
    });
  });
  return socket;
}
