import WebSocket from 'ws';

/**
 * A WebSocket test client for Switchboard's protocol v1 (docs/websocket-protocol.md).
 * It records every frame the server sends, so a test can wait for a reply by `ref`, for the next
 * frame matching a predicate, or for the next n pushed events, each with a deadline.
 */

/** A frame as received from the server: JSON object with a `type`. */
export interface ServerFrame {
  readonly type: string;
  readonly ref?: string;
  readonly [field: string]: unknown;
}

/** A pushed `event` frame. */
export interface EventFrame extends ServerFrame {
  readonly type: 'event';
  readonly room: string;
  readonly cursor: string;
  readonly event: { readonly id: string; readonly kind: string; readonly [field: string]: unknown };
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

export interface ConnectOptions {
  /** Sends the token as `?access_token=` instead of the Authorization header (the browser way). */
  readonly tokenInQuery?: boolean;
  /** An Origin header, as a browser would send. */
  readonly origin?: string;
  /** Wait this long for the upgrade and the hello frame, in ms. */
  readonly timeoutMs?: number;
}

/** The upgrade was refused with an HTTP status (401, 403, 503): `status` and the JSON `body`. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`upgrade refused with HTTP ${status}: ${body}`);
    this.name = 'UpgradeRefused';
  }
}

export interface TestClient {
  readonly ws: WebSocket;
  /** The server's hello frame. */
  readonly hello: ServerFrame;
  /** Every frame received, in order. */
  readonly frames: readonly ServerFrame[];
  /** Every `event` frame received, in order. */
  readonly events: readonly EventFrame[];
  /** Sends a frame: an object is JSON-encoded, a string or Buffer goes as is (Buffer as a binary frame). */
  send(frame: object | string | Buffer): void;
  /** Sends a frame with a fresh `ref` (unless it has one) and waits for the server's frame carrying that ref. */
  request(frame: Record<string, unknown>, timeoutMs?: number): Promise<ServerFrame>;
  /** The next not-yet-taken frame that matches (any frame when no predicate), waiting up to timeoutMs. */
  next(predicate?: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  /** The next n `event` frames not yet taken by collectEvents, waiting up to timeoutMs for all of them. */
  collectEvents(n: number, timeoutMs?: number): Promise<EventFrame[]>;
  /** Stops reading from the socket (the server's output piles up), and starts again. */
  pause(): void;
  resume(): void;
  /** Closes (1000) and waits until closed. */
  close(code?: number, reason?: string): Promise<CloseInfo>;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<CloseInfo>;
}

const DEFAULT_TIMEOUT_MS = 5_000;
let refCounter = 0;

/** Connects with a bearer token and resolves once the server's hello arrived. Rejects with UpgradeRefused on an HTTP refusal. */
export async function connectClient(url: string, token: string | undefined, opts: ConnectOptions = {}): Promise<TestClient> {
  const target = new URL(url);
  const headers: Record<string, string> = {};
  if (token !== undefined) {
    if (opts.tokenInQuery) target.searchParams.set('access_token', token);
    else headers['authorization'] = `Bearer ${token}`;
  }
  const ws = new WebSocket(target, { headers, ...(opts.origin !== undefined ? { origin: opts.origin } : {}) });

  const frames: ServerFrame[] = [];
  const events: EventFrame[] = [];
  const inbox: ServerFrame[] = [];
  let eventsTaken = 0;
  const waiters = new Set<() => void>();
  const wakeAll = () => { for (const w of [...waiters]) w(); };

  let closeInfo: CloseInfo | undefined;
  const closed = new Promise<CloseInfo>((resolve) => {
    ws.once('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      resolve(closeInfo);
      wakeAll();
    });
  });
  ws.on('error', () => { /* surfaced through `closed` or the connect promise */ });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const frame = JSON.parse(data.toString()) as ServerFrame;
    frames.push(frame);
    inbox.push(frame);
    if (frame.type === 'event') events.push(frame as EventFrame);
    wakeAll();
  });

  /** Polls `take` on every received frame until it returns a value, the deadline passes or the socket closes. */
  function waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = take();
        if (value !== undefined) { done(); resolve(value); return true; }
        if (closeInfo) { done(); reject(new Error(`closed (${closeInfo.code} ${closeInfo.reason}) while waiting for ${what}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const waiter = () => { check(); };
      const done = () => { clearTimeout(timer); waiters.delete(waiter); };
      if (!check()) waiters.add(waiter);
    });
  }

  function next(predicate: (frame: ServerFrame) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerFrame> {
    return waitFor(() => {
      const i = inbox.findIndex(predicate);
      return i < 0 ? undefined : inbox.splice(i, 1)[0];
    }, timeoutMs, 'a matching frame');
  }

  const opened = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('timed out connecting')); }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    ws.once('open', () => { clearTimeout(timer); resolve(); });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => { clearTimeout(timer); reject(new UpgradeRefused(res.statusCode ?? 0, body)); });
      res.on('error', () => { clearTimeout(timer); reject(new UpgradeRefused(res.statusCode ?? 0, body)); });
    });
    ws.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
  await opened;
  const hello = await next((f) => f.type === 'hello', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  return {
    ws, hello, frames, events, closed, next,
    send(frame) {
      if (Buffer.isBuffer(frame)) ws.send(frame, { binary: true });
      else ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    async request(frame, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const ref = typeof frame['ref'] === 'string' ? frame['ref'] : `r${++refCounter}`;
      ws.send(JSON.stringify({ ...frame, ref }));
      return await next((f) => f.ref === ref, timeoutMs);
    },
    collectEvents(n, timeoutMs = DEFAULT_TIMEOUT_MS) {
      return waitFor(() => {
        if (events.length - eventsTaken < n) return undefined;
        const taken = events.slice(eventsTaken, eventsTaken + n);
        eventsTaken += n;
        return taken;
      }, timeoutMs, `${n} events (have ${events.length - eventsTaken})`);
    },
    pause() { ws.pause(); },
    resume() { ws.resume(); },
    async close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      const timer = setTimeout(() => ws.terminate(), 2_000);
      try { return await closed; } finally { clearTimeout(timer); }
    },
  };
}
