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
import type { Bus } from '../src/bus/types.ts';
import type { CanonicalEvent } from '../src/core/event.ts';
import { newEventId } from '../src/core/ids.ts';
import type { MtprotoLinkSpec } from './link.ts';

/**
 * The bus floor's way in: the bridge's own bus, and the room and MTProto chat its messages are
 * published from (an MTProto group linked in bridges/).
 */
export interface FloorBus {
  readonly bus: Bus;
  readonly room: string;
  readonly chatId: number;
  /** The account the messages are said by (its transaction scope). */
  readonly senderId: number;
  /** The bridge's WebSocket URL, token and room the receiver joins. */
  readonly ws: { readonly url: string; readonly token: string; readonly room: string };
}

/**
 * The floor of the MTProto chat bench: what a stock gramjs client costs on this machine when the
 * bridge behind it costs nothing. The MTProto server is Switchboard's own (transport, auth key,
 * session layer, API dispatcher: what any MTProto endpoint must do), but messages.sendMessage
 * is a stub that sends the text to every connected plain WebSocket at once and answers
 * updateShortSentMessage, no login needed. No bus, no Redis, no canonical event, no chat log.
 * Beside WS -> WS it says how far a bridge-free path gets: the chat bench's ratios cannot be
 * better than this one's.
 *
 * With a FloorBus, the **bus floor**: messages.sendMessage publishes each message into the bridge's
 * bus as the MTProto chat layer does (a canonical event from the linked chat, a transaction of its
 * random_id: Bus.publishOnce) and answers at once, as a WebSocket `send` is acknowledged once the
 * bus holds it; the receiver is a client of the bridge's WebSocket connector in the linked room.
 * The bridge routes, delivers and writes the event into the chat's log (its MTProto connector runs)
 * as for a real send, but no call waits for that, no login is checked, no message id is given out,
 * and seen msg_ids are kept in memory (no shared replay guard's Redis write per frame).
 * Beside WS -> WS it says how far any MTProto chat layer on this bus could get on this machine.
 */
export class MtprotoFloor {
  private constructor(
    private readonly server: MtprotoServer,
    private readonly port: number,
    private readonly key: MtprotoLinkSpec['serverKey'],
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly wsUrl: string,
    private readonly viaBus: FloorBus | undefined,
  ) {}

  static async start(viaBus?: FloorBus): Promise<MtprotoFloor> {
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
          handle: async (call, ctx) => {
            const text = typeof call['message'] === 'string' ? call['message'] : '';
            if (viaBus === undefined) {
              const frame = JSON.stringify({ type: 'event', event: { kind: 'message', text } });
              for (const socket of receivers) if (socket.readyState === WebSocket.OPEN) socket.send(frame);
            } else {
              const event: CanonicalEvent = {
                v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: viaBus.room, text,
                sender: { network: 'mtproto', id: String(viaBus.senderId), name: 'Bench Bot' },
                origin: { connector: 'mtproto', endpoint: String(viaBus.chatId), ...(ctx.channel !== undefined ? { session: ctx.channel.key } : {}) },
              };
              await viaBus.bus.publishOnce(event, { scope: `mtproto:${viaBus.senderId}`, id: String(call['random_id']) });
            }
            id++;
            return { _: 'updateShortSentMessage', out: true, id, pts: id, pts_count: 1, date: ctx.now };
          },
        }),
      },
    });
    const { port } = await server.start();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const wsPort = (http.address() as AddressInfo).port;
    return new MtprotoFloor(server, port, { n: rsa.n.toString(), e: rsa.e.toString(), fingerprint: BigInt.asIntN(64, rsa.fingerprint).toString() }, http, wss, `ws://127.0.0.1:${wsPort}/`, viaBus);
  }

  link(chatId: number): MtprotoLinkSpec {
    const common = { kind: 'mtproto', port: this.port, botToken: '', chatId, serverKey: this.key } as const;
    if (this.viaBus !== undefined) return { ...common, floor: 'bus', wsUrl: this.viaBus.ws.url, wsToken: this.viaBus.ws.token, room: this.viaBus.ws.room };
    return { ...common, floor: 'plain', wsUrl: this.wsUrl, wsToken: '', room: '' };
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.server.stop();
  }
}
