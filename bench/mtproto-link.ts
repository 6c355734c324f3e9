import { createRequire } from 'node:module';
import type { WebSocket } from 'ws';
import { joinedClient } from './clients.ts';
import { openSocket } from './ws-client.ts';
import { decodeStamp, encodeStamp, type BenchLink, type MtprotoLinkSpec } from './link.ts';

/**
 * The MTProto side of the chat bench: a stock gramjs 2.26 TelegramClient (only a Connection
 * subclass for host and port, the pinned server key, a MemorySession) logged in as a bot, sending
 * each stamp with messages.sendMessage without waiting for the answer (like a busy client: gramjs
 * packs what is queued into containers); a WebSocket client of protocol v1 receives the events.
 */
const require = createRequire(import.meta.url);

interface GramClient {
  start(params: Record<string, unknown>): Promise<void>;
  connect(): Promise<boolean>;
  invoke(request: unknown): Promise<unknown>;
  getDialogs(params?: Record<string, unknown>): Promise<unknown>;
  destroy(): Promise<void>;
  floodSleepThreshold: number;
}

interface Frame {
  readonly type?: string;
  readonly event?: { readonly kind?: string; readonly text?: string };
}

export async function openMtprotoLink(spec: MtprotoLinkSpec): Promise<BenchLink> {
  const bigInt = require('big-integer') as (v: string | number) => unknown;
  const rsa = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: unknown; e: number }> };
  rsa._serverKeys.set(spec.serverKey.fingerprint, { n: bigInt(spec.serverKey.n), e: Number(spec.serverKey.e) });
  const { TelegramClient } = require('telegram') as { TelegramClient: new (session: unknown, apiId: number, apiHash: string, opts: Record<string, unknown>) => GramClient };
  const { MemorySession } = require('telegram/sessions') as { MemorySession: new () => { setDC(dc: number, ip: string, port: number): void } };
  const { ConnectionTCPFull } = require('telegram/network') as { ConnectionTCPFull: new (p: Record<string, unknown>) => object };
  const { Logger, LogLevel } = require('telegram/extensions/Logger') as { Logger: new (level: string) => unknown; LogLevel: { NONE: string } };
  const { Api } = require('telegram/tl') as { Api: { messages: { SendMessage: new (a: Record<string, unknown>) => unknown }; InputPeerChat: new (a: Record<string, unknown>) => unknown } };
  class Local extends ConnectionTCPFull {
    constructor(p: Record<string, unknown>) {
      super({ ...p, ip: '127.0.0.1', port: spec.port });
    }
  }
  const session = new MemorySession();
  session.setDC(2, '127.0.0.1', spec.port);
  const client = new TelegramClient(session, 1, 'bench', { connection: Local, connectionRetries: 5, autoReconnect: false, requestRetries: 1, baseLogger: new Logger(LogLevel.NONE) });
  client.floodSleepThreshold = 0;
  let receiver: WebSocket;
  if (spec.floor !== undefined) {
    await client.connect();
    receiver = spec.floor === 'plain' ? await openSocket(spec.wsUrl) : await joinedClient(spec.wsUrl, spec.wsToken, spec.room);
  } else {
    await client.start({ botAuthToken: spec.botToken, onError: (err: unknown) => { throw err; } });
    await client.getDialogs();
    receiver = await joinedClient(spec.wsUrl, spec.wsToken, spec.room);
  }
  const peer = new Api.InputPeerChat({ chatId: bigInt(spec.chatId) });
  let failure: ((err: Error) => void) | undefined;
  let closing = false;
  let randomId = Math.floor(Math.random() * 1e12);
  return {
    send(seq, sentAt) {
      client.invoke(new Api.messages.SendMessage({ peer, message: encodeStamp(seq, sentAt), randomId: bigInt(randomId++) }))
        .catch((err: unknown) => { if (!closing) failure?.(new Error(`sendMessage ${seq} failed: ${String(err)}`)); });
    },
    onReceive(handler) {
      receiver.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        if (frame.type !== 'event' || frame.event?.kind !== 'message' || typeof frame.event.text !== 'string') return;
        const { seq, sentAt } = decodeStamp(frame.event.text);
        handler(seq, sentAt);
      });
    },
    onFailure(handler) {
      failure = handler;
      receiver.once('close', (code, reason) => { if (!closing) handler(new Error(`the relay closed the receiver (${code} ${reason.toString()})`)); });
    },
    async close() {
      closing = true;
      receiver.close();
      const timers = (client as unknown as { _exportedSenderReleaseTimeouts?: Map<number, NodeJS.Timeout> })._exportedSenderReleaseTimeouts;
      for (const t of timers?.values() ?? []) clearTimeout(t);
      await client.destroy();
    },
  };
}
