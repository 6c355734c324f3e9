import type { Logger } from '../../core/logger.ts';
import type { TlCodec, TlObject } from './tl/codec.ts';
import type { ServerRsaKey } from './crypto/rsa.ts';
import type { AuthKeyStore } from './store/auth-key-store.ts';
import { authKeyIdHex } from './store/auth-key-store.ts';
import type { MtprotoMetrics } from './metrics.ts';
import { Handshake, HandshakeFailure, type HandshakeFailReason } from './auth/handshake.ts';
import { buildUnencrypted, isUnencrypted, parseUnencrypted } from './auth/unencrypted.ts';
import { EncryptedLayer, type LayerDeps } from './session/encrypted-layer.ts';
import { TokenBucket, type TokenBuckets } from '../../core/token-bucket.ts';
import { addressBudgetKey } from './peer-address.ts';

/** The framing layer (transport/): the server side of abridged, intermediate, padded, full, obfuscated2. */
export interface FramingTransport {
  feed(chunk: Uint8Array): void;
  send(payload: Uint8Array): void;
  sendTransportError(code: number): void;
  /** Quick ack of a client message whose frame asked for one (no-op where the framing has none). */
  sendQuickAck(token: number): void;
  /** Detected framing ('padded' for padded intermediate), once the first bytes arrived. */
  readonly kind?: string | undefined;
}

export interface FramingOptions {
  mode: 'tcp' | 'websocket';
  maxFrameBytes: number;
  write(bytes: Uint8Array): void;
  onPayload(data: Uint8Array, quickAck: boolean): void;
  onError(reason: string): void;
}

export type TransportFactory = (opts: FramingOptions) => FramingTransport;

/** The byte pipe under one MTProto connection: a TCP socket or a WebSocket. */
export interface RawSocket {
  /** The peer's address (the proxy's, behind one): handshakes are limited per address. */
  readonly peer: string;
  write(bytes: Uint8Array): void;
  /** Graceful close after pending writes. */
  end(): void;
  /** Stop reading (the peer's bytes wait in the kernel, then in the peer): frames are queued faster than they are handled. */
  pause(): void;
  resume(): void;
}

/** Frames read but not handled yet, past which the socket stops reading until half of them are. */
export const MAX_QUEUED_FRAMES = 32;

export interface ConnectionLimits {
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  framesPerSecond: number;
  frameBurst: number;
  /** Handshakes in progress across the server; past it a new req_pq is refused. */
  maxPendingHandshakes: number;
}

export interface ConnectionDeps extends LayerDeps {
  rsaKey: ServerRsaKey;
  keyStore: AuthKeyStore;
  codec: TlCodec;
  logger: Logger;
  metrics: MtprotoMetrics;
  limits: ConnectionLimits;
  pendingHandshakes: { count: number };
  /** Per remote address: the auth keys it may start making (a token per req_DH_params). */
  handshakeBuckets: TokenBuckets;
  createTransport: TransportFactory;
}

/** Transport error codes (core.telegram.org/mtproto/mtproto-transports#transport-errors). */
export const TRANSPORT_AUTH_KEY_NOT_FOUND = -404;
export const TRANSPORT_FLOOD = -429;

/**
 * One client connection: framing (ServerTransport), then the handshake for unencrypted
 * messages and the encrypted layer for the rest. Frames are processed strictly in order and
 * every error ends in an answer or a close of this connection only, never a thrown error.
 */
export class MtprotoConnection {
  readonly #deps: ConnectionDeps;
  readonly #socket: RawSocket;
  readonly #log: Logger;
  readonly #transport: FramingTransport;
  readonly #layer: EncryptedLayer;
  readonly #bucket: TokenBucket;
  #handshake: Handshake | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #handshakeStarted = 0;
  #countedPending = false;
  #disconnectTimer: NodeJS.Timeout | undefined;
  #lastPlainMsgId = 0n;
  #chain: Promise<void> = Promise.resolve();
  /** Frames on #chain not handled yet; #paused: reading stopped for them (MAX_QUEUED_FRAMES). */
  #queued = 0;
  #paused = false;
  #closed = false;
  readonly #onClose: () => void;
  readonly #closeListeners: (() => void)[] = [];

  constructor(deps: ConnectionDeps, socket: RawSocket, mode: 'tcp' | 'websocket', log: Logger, onClose: () => void) {
    this.#deps = deps;
    this.#socket = socket;
    this.#log = log;
    this.#onClose = onClose;
    this.#bucket = new TokenBucket(deps.limits.framesPerSecond, deps.limits.frameBurst);
    this.#transport = deps.createTransport({
      mode,
      maxFrameBytes: deps.limits.maxFrameBytes,
      write: (bytes: Uint8Array) => { if (!this.#closed) this.#socket.write(bytes); },
      onPayload: (data: Uint8Array, quickAck: boolean) => this.#onPayload(data, quickAck),
      onError: (reason: string) => {
        deps.metrics.transportErrors.inc({ reason: `frame:${reason}` });
        this.#log.debug({ reason }, 'mtproto bad frame');
        this.close(`frame:${reason}`);
      },
    });
    this.#layer = new EncryptedLayer(deps, {
      sendFrame: (payload) => this.#send(payload),
      transportError: (code, reason) => this.#transportError(code, reason),
      close: (reason) => {
        deps.metrics.transportErrors.inc({ reason });
        this.#log.debug({ reason }, 'mtproto closing connection');
        this.close(reason);
      },
      armDisconnect: (seconds) => this.#armDisconnect(seconds),
      quickAck: (token) => { if (!this.#closed) this.#transport.sendQuickAck(token); },
      authenticated: () => this.#legitimate(),
      isOpen: () => !this.#closed,
      onClose: (listener) => {
        if (this.#closed) listener();
        else this.#closeListeners.push(listener);
      },
    });
    // Until it does something legitimate (completes a handshake or sends a frame that
    // authenticates), a connection gets handshakeTimeoutMs: a silent socket, or one that sends
    // half a frame, must not hold a connection slot forever.
    this.#armHandshakeTimer();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes from the socket; never throws. */
  feed(chunk: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#transport.feed(chunk);
    } catch (err) {
      this.#log.warn({ err }, 'mtproto transport threw');
      this.close('transport-exception');
    }
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearHandshake();
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    this.#log.debug({ reason }, 'mtproto connection closed');
    try { this.#socket.end(); } catch { /* socket already gone */ }
    this.#onClose();
    for (const listener of this.#closeListeners.splice(0)) {
      try { listener(); } catch (err) { this.#log.warn({ err }, 'mtproto close listener failed'); }
    }
  }

  #onPayload(data: Uint8Array, quickAck: boolean): void {
    if (this.#closed) return;
    if (!this.#bucket.tryTake()) {
      this.#transportError(TRANSPORT_FLOOD, 'rate-limit');
      return;
    }
    // Copy: the transport may reuse its buffer once onPayload returns.
    const payload = new Uint8Array(data);
    // Backpressure: a peer that sends faster than its frames are handled (within the frame rate)
    // is not read from until the queue is half empty, so its frames wait in TCP, not in memory.
    if (++this.#queued >= MAX_QUEUED_FRAMES && !this.#paused) {
      this.#paused = true;
      this.#deps.metrics.readsPaused.inc();
      this.#socket.pause();
    }
    this.#chain = this.#chain.then(() => this.#process(payload, quickAck)).catch((err: unknown) => {
      this.#log.warn({ err }, 'mtproto frame handling failed');
      this.close('internal-error');
    }).finally(() => {
      if (--this.#queued <= MAX_QUEUED_FRAMES / 2 && this.#paused && !this.#closed) {
        this.#paused = false;
        this.#socket.resume();
      }
    });
  }

  async #process(payload: Uint8Array, quickAck: boolean): Promise<void> {
    if (this.#closed) return;
    const padded = this.#transport.kind === 'padded';
    if (isUnencrypted(payload)) {
      await this.#plain(payload, padded);
    } else {
      // Padded intermediate appends 0..15 random bytes; the cipher text is whole 16-byte blocks.
      const body = padded && payload.length > 24 ? payload.subarray(0, 24 + Math.floor((payload.length - 24) / 16) * 16) : payload;
      await this.#layer.handle(body, quickAck);
    }
  }

  async #plain(payload: Uint8Array, padded: boolean): Promise<void> {
    const d = this.#deps;
    try {
      const msg = parseUnencrypted(payload, padded ? 15 : 0);
      // Client msg_ids are 0 mod 4 and increase; time is not enforced before a key exists
      // (a client learns server time only from server_DH_inner_data).
      if (msg === null || (msg.msgId & 3n) !== 0n || msg.msgId <= this.#lastPlainMsgId) throw new HandshakeFailure('malformed');
      this.#lastPlainMsgId = msg.msgId;
      let request: TlObject;
      try {
        request = d.codec.decode(msg.body);
      } catch {
        throw new HandshakeFailure('malformed');
      }
      if (request._ === 'req_pq_multi' || request._ === 'req_pq') this.#startHandshakeClock();
      // The RSA step is the expensive one, and each handshake stores a key: one address may not
      // start making keys faster than its budget (a stock client makes one per install).
      if (request._ === 'req_DH_params' && !d.handshakeBuckets.of(addressBudgetKey(this.#socket.peer)).tryTake()) {
        d.metrics.handshakesFailed.inc({ reason: 'flood' });
        this.#log.warn({ peer: this.#socket.peer }, 'mtproto: too many auth keys started from one address; -429');
        this.#transportError(TRANSPORT_FLOOD, 'handshake-flood');
        return;
      }
      this.#handshake ??= new Handshake({ codec: d.codec, rsaKey: d.rsaKey, keyStore: d.keyStore });
      const step = await this.#handshake.step(request);
      if (this.#closed) return;
      this.#send(buildUnencrypted(d.msgIds.next('response'), d.codec.encode(step.reply)));
      if (step.created) {
        const c = step.created;
        d.salts.rememberInitial(authKeyIdHex(c.authKeyId), c.serverSalt);
        d.metrics.handshakesOk.inc({ scheme: c.scheme, inner: c.innerType });
        d.metrics.handshakeSeconds.observe((Date.now() - this.#handshakeStarted) / 1000);
        this.#log.info({ authKeyId: authKeyIdHex(c.authKeyId), scheme: c.scheme, inner: c.innerType }, 'mtproto auth key created');
        this.#clearHandshake();
      }
    } catch (err) {
      if (err instanceof HandshakeFailure) {
        this.#failHandshake(err.reason);
        return;
      }
      // Field errors and anything unexpected from decoding peer data: same uniform answer.
      this.#log.debug({ err }, 'mtproto handshake input rejected');
      this.#failHandshake('malformed');
    }
  }

  #startHandshakeClock(): void {
    const d = this.#deps;
    if (!this.#countedPending) {
      if (d.pendingHandshakes.count >= d.limits.maxPendingHandshakes) throw new HandshakeFailure('too-many-handshakes');
      d.pendingHandshakes.count++;
      this.#countedPending = true;
    }
    this.#handshakeStarted = Date.now();
    this.#armHandshakeTimer();
  }

  #armHandshakeTimer(): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = setTimeout(() => this.#failHandshake('timeout'), this.#deps.limits.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
  }

  /** An encrypted frame authenticated: the connection deadline no longer applies (a handshake in progress keeps its own). */
  #legitimate(): void {
    if (this.#countedPending || this.#handshakeTimer === undefined) return;
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
  }

  #clearHandshake(): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    if (this.#countedPending) {
      this.#deps.pendingHandshakes.count--;
      this.#countedPending = false;
    }
  }

  /** One answer for every handshake failure (-404, then close); the reason goes to logs/metrics only. */
  #failHandshake(reason: HandshakeFailReason | 'timeout'): void {
    if (this.#closed) return;
    this.#deps.metrics.handshakesFailed.inc({ reason });
    this.#log.info({ reason }, 'mtproto handshake failed');
    this.#transportError(TRANSPORT_AUTH_KEY_NOT_FOUND, `handshake:${reason}`);
  }

  #send(payload: Uint8Array): void {
    if (this.#closed) return;
    this.#transport.send(payload);
  }

  #transportError(code: number, reason: string): void {
    if (this.#closed) return;
    this.#deps.metrics.transportErrors.inc({ reason });
    try {
      this.#transport.sendTransportError(code);
    } catch { /* transport not yet known: nothing to frame with */ }
    this.close(reason);
  }

  #armDisconnect(seconds: number): void {
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    const ms = Math.max(0, Math.min(seconds, 24 * 3600)) * 1000;
    this.#disconnectTimer = setTimeout(() => this.close('ping-delay-disconnect'), ms);
    this.#disconnectTimer.unref();
  }
}
