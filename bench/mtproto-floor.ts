import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { LocalState } from '../src/bus/memory/state-store.ts';
import { silentLogger } from '../src/core/logger.ts';
import { createRegistry } from '../src/core/metrics.ts';
import { generateServerRsaKey, loadServerRsaKey } from '../src/connectors/mtproto/crypto/rsa.ts';
import { createMtprotoServer, type MtprotoServer } from '../src/connectors/mtproto/server.ts';
import { KeyRing } from '../src/connectors/mtproto/store/key-ring.ts';
import { StateAuthKeyStore } from '../src/connectors/mtproto/store/state-auth-key-store.ts';
import type { MtprotoLinkSpec } from './link.ts';

/**
 * The floor of the MTProto chat bench: what a stock gramjs client costs on this machine when the
 * bridge behind it costs nothing. The MTProto server is Switchboard's own (transport, auth key,
 * session layer, API dispatcher: what any MTProto endpoint must do), but messages.sendMessage
 * is a stub that sends the text to every connected plain WebSocket at once and answers
 * updateShortSentMessage, no login needed. No bus, no Redis, no canonical event, no chat log.
 * Beside WS -> WS it says how far a bridge-free path gets: the chat bench's ratios cannot be
 * better than this one's.
 */
export class MtprotoFloor {
  private constructor(
    private readonly server: MtprotoServer,
    private readonly port: number,
    private readonly key: MtprotoLinkSpec['serverKey'],
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly wsUrl: string,
  ) {}

  static async start(): Promise<MtprotoFloor> {
    const rsa = loadServerRsaKey(generateServerRsaKey().privateKeyPem);
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const receivers = new Set<WebSocket>();
    wss.on('connection', (socket) => {
      receivers.add(socket);
      socket.on('close', () => receivers.delete(socket));
    });
    let id = 0;
    const server = createMtprotoServer({
      host: '127.0.0.1', port: 0, rsaKey: rsa, logger: silentLogger, registry: createRegistry(false),
      keyStore: new StateAuthKeyStore(new LocalState().store('mtproto'), KeyRing.plaintext(), { logger: silentLogger }),
      framesPerSecond: 100_000, frameBurst: 1_000_000, handshakesPerMinute: 1e9, handshakeBurst: 1e9,
      api: {
        extend: (methods) => methods.register('messages.sendMessage', {
          auth: 'none',
          handle: (call, ctx) => {
            const text = typeof call['message'] === 'string' ? call['message'] : '';
            const frame = JSON.stringify({ type: 'event', event: { kind: 'message', text } });
            for (const socket of receivers) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
            id++;
            return { _: 'updateShortSentMessage', out: true, id, pts: id, pts_count: 1, date: ctx.now };
          },
        }),
      },
    });
    const { port } = await server.start();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const wsPort = (http.address() as AddressInfo).port;
    return new MtprotoFloor(server, port, { n: rsa.n.toString(), e: rsa.e.toString(), fingerprint: BigInt.asIntN(64, rsa.fingerprint).toString() }, http, wss, `ws://127.0.0.1:${wsPort}/`);
  }

  link(chatId: number): MtprotoLinkSpec {
    return { kind: 'mtproto', port: this.port, floor: true, botToken: '', chatId, serverKey: this.key, wsUrl: this.wsUrl, wsToken: '', room: '' };
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.server.stop();
  }
}
