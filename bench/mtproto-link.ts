import { Worker } from 'node:worker_threads';
import type { WebSocket } from 'ws';
import { joinedClient } from './clients.ts';
import { decodeStamp, encodeStamp, type BenchLink, type MtprotoLinkSpec } from './link.ts';
import { startGramjsSender, type GramjsSender } from './mtproto-sender.ts';
import type { SenderIn, SenderOut } from './mtproto-sender-worker.ts';

/**
 * The MTProto side of the chat bench: a stock gramjs 2.26 TelegramClient sends to the MTProto chat
 * (bench/mtproto-sender.ts); a WebSocket client of protocol v1 joined to the linked WS room
 * receives, in this thread, where the stamps are taken and read.
 *
 * The sender runs in a thread of its own by default (`senderThread: 'own'`): gramjs spends ~0.4 ms
 * of CPU per message (big-integer arithmetic, GC), and in the receiver's thread its work and
 * pauses delayed the receiver's reading of messages that had already arrived, which counted as
 * the bridge's latency (pacer lags of 12–22 ms where the WS sender's are 3–5). Real senders and
 * receivers do not share an event loop. The post to the sender's thread is inside the measured
 * time. `senderThread: 'shared'` keeps the earlier layout, to compare.
 */
const WORKER_BOOT = `
import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./mtproto-sender-worker.ts', import.meta.url).href)}); });
`;
const START_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

interface Frame {
  readonly type?: string;
  readonly event?: { readonly kind?: string; readonly text?: string };
}

/** The gramjs sender in its own worker thread, behind the same interface. */
async function senderInOwnThread(spec: MtprotoLinkSpec, onError: (err: Error) => void): Promise<GramjsSender> {
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: spec });
  const post = (m: SenderIn): void => worker.postMessage(m);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the gramjs sender did not log in in time')), START_TIMEOUT_MS);
      worker.once('message', (m: SenderOut) => {
        clearTimeout(timer);
        if ('ready' in m) resolve();
        else reject(new Error(`the gramjs sender did not start: ${'error' in m ? m.error : 'closed'}`));
      });
      worker.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.on('message', (m: SenderOut) => { if ('error' in m) onError(new Error(m.error)); });
  worker.on('error', (err) => onError(err));
  return {
    send(text) { post({ text }); },
    async close() {
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
          worker.on('message', (m: SenderOut) => { if ('closed' in m) { clearTimeout(timer); resolve(); } });
          post({ close: true });
        });
      } finally {
        await worker.terminate();
      }
    },
  };
}

export async function openMtprotoLink(spec: MtprotoLinkSpec): Promise<BenchLink> {
  let failure: ((err: Error) => void) | undefined;
  let closing = false;
  const fail = (err: Error): void => { if (!closing) failure?.(err); };
  const sender = spec.senderThread === 'shared' ? await startGramjsSender(spec) : await senderInOwnThread(spec, fail);
  let receiver: WebSocket;
  try {
    receiver = await joinedClient(spec.wsUrl, spec.wsToken, spec.room);
  } catch (err) {
    await sender.close();
    throw err;
  }
  return {
    send(seq, sentAt) {
      sender.send(encodeStamp(seq, sentAt), (err) => fail(new Error(`sendMessage ${seq} failed: ${String(err)}`)));
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
      await sender.close();
    },
  };
}
