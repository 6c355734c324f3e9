/**
 * The gramjs sender in a thread of its own (bench/mtproto-link.ts says why). Messages in:
 * `{ text }` to send, `{ close: true }` to log out and end. Messages out: `{ ready: true }` once
 * logged in, `{ error }` when starting or a send fails, `{ closed: true }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MtprotoLinkSpec } from './link.ts';
import { startGramjsSender } from './mtproto-sender.ts';

export type SenderIn = { readonly text: string } | { readonly close: true };
export type SenderOut = { readonly ready: true } | { readonly error: string } | { readonly closed: true };

const port = parentPort;
if (port === null) throw new Error('bench/mtproto-sender-worker.ts runs as a worker thread');
const post = (m: SenderOut): void => port.postMessage(m);

startGramjsSender(workerData as MtprotoLinkSpec).then((sender) => {
  let closing = false;
  port.on('message', (m: SenderIn) => {
    if ('text' in m) {
      sender.send(m.text, (err) => { if (!closing) post({ error: `sendMessage failed: ${String(err)}` }); });
      return;
    }
    closing = true;
    sender.close().then(() => post({ closed: true }), (err: unknown) => post({ error: `close: ${String(err)}` }));
  });
  post({ ready: true });
}, (err: unknown) => post({ error: (err as Error).stack ?? String(err) }));
