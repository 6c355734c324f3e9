import type { WebSocket } from 'ws';
import { decodeStamp, encodeStamp, type BenchLink, type LinkSpec } from './link.ts';
import { openSocket } from './ws-client.ts';

/** Connects the sender and receiver a LinkSpec describes; both are ready (joined) when this resolves. */
export async function openLink(spec: LinkSpec): Promise<BenchLink> {
  if (spec.kind === 'mtproto') {
    // Loaded only here: gramjs is big, and the other links do not need it.
    const { openMtprotoLink } = await import('./mtproto-link.ts');
    return openMtprotoLink(spec);
  }
  if (spec.kind === 'naive') {
    // ws emits the server's 'connection' right after writing the 101, so once the client sees
    // 'open' the relay already knows the socket: no message can go out before the receiver is known.
    return naiveLink(await openSocket(spec.url), await openSocket(spec.url));
  }
  const sender = await joinedClient(spec.url, spec.tokens[0], spec.room);
  const receiver = await joinedClient(spec.url, spec.tokens[1], spec.room);
  return switchboardLink(sender, receiver, spec.room, spec.txn === true);
}

/** What both links share: failure on an unexpected close, and closing both sockets. */
function pair(sender: WebSocket, receiver: WebSocket) {
  let closing = false;
  return {
    watch(handler: (err: Error) => void): void {
      for (const [socket, who] of [[sender, 'sender'], [receiver, 'receiver']] as const) {
        socket.once('close', (code, reason) => {
          if (!closing) handler(new Error(`the relay closed the ${who} (${code} ${reason.toString()})`));
        });
      }
    },
    async close(): Promise<void> {
      closing = true;
      sender.close();
      receiver.close();
    },
  };
}

/** The naive relay's clients: a JSON object with the text, relayed as is. */
function naiveLink(sender: WebSocket, receiver: WebSocket): BenchLink {
  const sockets = pair(sender, receiver);
  return {
    send(seq, sentAt) {
      sender.send(JSON.stringify({ text: encodeStamp(seq, sentAt) }));
    },
    onReceive(handler) {
      receiver.on('message', (data) => {
        const { text } = JSON.parse(String(data)) as { text: string };
        const { seq, sentAt } = decodeStamp(text);
        handler(seq, sentAt);
      });
    },
    onFailure: sockets.watch,
    close: sockets.close,
  };
}

interface Frame {
  readonly type?: string;
  readonly ref?: string;
  readonly event?: { readonly kind?: string; readonly text?: string };
}

/** Connects with a token, waits for hello, joins the room and waits for joined (protocol v1). */
export async function joinedClient(url: string, token: string, room: string): Promise<WebSocket> {
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  const collect = (data: unknown): void => { frames.push(JSON.parse(String(data)) as Frame); wake?.(); };
  const socket = await openSocket(url, { headers: { authorization: `Bearer ${token}` } }, collect);
  const waitFor = async (pred: (f: Frame) => boolean, what: string): Promise<Frame> => {
    const until = Date.now() + 5_000;
    for (;;) {
      const found = frames.find(pred);
      if (found) return found;
      if (Date.now() > until) throw new Error(`switchboard client: no ${what} in 5 s (got ${JSON.stringify(frames)})`);
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50); });
    }
  };
  try {
    await waitFor((f) => f.type === 'hello', 'hello');
    socket.send(JSON.stringify({ type: 'join', ref: 'join', room }));
    const reply = await waitFor((f) => f.ref === 'join', 'reply to join');
    if (reply.type !== 'joined') throw new Error(`switchboard client: join refused: ${JSON.stringify(reply)}`);
  } finally {
    socket.off('message', collect);
  }
  return socket;
}

/** Switchboard's clients: protocol v1 `send` frames in (each with a `txn` when asked), pushed `event` frames out. */
function switchboardLink(sender: WebSocket, receiver: WebSocket, room: string, txn: boolean): BenchLink {
  const run = Math.random().toString(36).slice(2);
  const sockets = pair(sender, receiver);
  return {
    send(seq, sentAt) {
      sender.send(JSON.stringify({ type: 'send', ref: String(seq), room, ...(txn ? { txn: `${run}-${seq}` } : {}), event: { kind: 'message', text: encodeStamp(seq, sentAt) } }));
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
      // The sender only ever gets acks; an error frame means a message was refused.
      sender.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Frame;
        if (frame.type === 'error') handler(new Error(`switchboard refused a send: ${JSON.stringify(frame)}`));
      });
      sockets.watch(handler);
    },
    close: sockets.close,
  };
}
