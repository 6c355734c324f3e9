import { WebSocket, type ClientOptions, type RawData } from 'ws';

/**
 * Opens a client socket and resolves once it is open (rejects on error or after timeoutMs).
 * `onMessage` is attached before the upgrade: a server's first frame can arrive in the same read
 * as its 101 response, before an `await` on this function could attach a listener.
 */
export async function openSocket(url: string, options: ClientOptions = {}, onMessage?: (data: RawData) => void, timeoutMs = 5_000): Promise<WebSocket> {
  const socket = new WebSocket(url, options);
  if (onMessage) socket.on('message', onMessage);
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
