import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Logger } from '../../core/logger.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { CanonicalEvent } from '../../core/event.ts';
import type { TokenConfig } from '../../config/schema.ts';
import type { StreamSubscription } from '../../bus/types.ts';
import type { Cursor } from '../../core/endpoint.ts';
import type { ServerFrame } from './frames.ts';
import type { WsMetrics } from './metrics.ts';
import { TokenBucket } from '../../core/token-bucket.ts';

/** One WS room this session joined: where it stands in the room's stream, and what waits while it replays. */
export interface Membership {
  readonly wsRoom: string;
  /** The canonical room the WS room is linked to. */
  readonly room: string;
  /** The newest cursor sent on this membership: anything at or before it is a duplicate. */
  lastCursor: Cursor | undefined;
  /** While true, live deliveries wait in `backlog` so they cannot overtake the replay. */
  replaying: boolean;
  /** Live deliveries may have been lost (fan-out from another instance): read the stream from lastCursor before going live again. */
  stale: boolean;
  backlog: { cursor: Cursor; event: CanonicalEvent }[];
}

/** A bot's subscription to a canonical room's stream. */
export interface Subscription {
  readonly room: string;
  lastCursor: Cursor | undefined;
  stream: StreamSubscription | undefined;
}

export interface SessionLimits {
  readonly maxBufferedBytes: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  /** How long a paced sender (replay, subscription) waits for the socket to drain before giving up on it. */
  readonly drainTimeoutMs: number;
}

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
  TooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;

/** Inbound frames a session may have waiting before the server stops reading its socket (TCP pushes back). */
const MAX_QUEUED_FRAMES = 32;
/** Publishes of one session awaiting the bus at once; past this its next frame waits for the oldest answer. */
const MAX_IN_FLIGHT = 64;

/** Per-connection state: who it is, what it joined or subscribed, its rate limit, its inbound queue. */
export class Session {
  readonly id = `s_${randomBytes(12).toString('base64url')}`;
  readonly memberships = new Map<string, Membership>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly bucket: TokenBucket;
  /** Heartbeat: set by each pong, cleared by each ping round. */
  alive = true;
  /** Frames dropped by the rate limit since the bucket was last full (the client last paused). */
  rateDrops = 0;
  /** A publish of this session failed: it publishes nothing more (see publishFromClient). */
  publishFailed = false;
  /** Direct-chat events that arrived before this session's hello went out: delivered right after it (Outbound.releaseDirect). */
  directHeld: { wsRoom: string; room: string; cursor: Cursor; event: CanonicalEvent }[] | undefined;
  private closingReason: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Set at shutdown: the inbound queue must not resume reading once it drains. */
  private readingStopped = false;
  /** Answers to frames whose work is still in flight (acks awaiting the bus), chained in frame order. */
  private answers: Promise<void> = Promise.resolve();
  private inFlight = 0;

  private corked = false;
  /**
   * The largest frame queued on this socket so far, in bytes (at least). One frame larger than
   * maxBufferedBytes would otherwise cut off even a reader that keeps up, as the limit counts a
   * frame the moment it is queued: the limit is never below it (overLimit).
   */
  private largestFrame = 0;

  constructor(
    readonly ws: WebSocket,
    /** Replaced when a reload changes the token's entry (same name and hash): its rooms, scope, moderator flag. */
    public token: TokenConfig,
    private readonly limits: SessionLimits,
    private readonly metrics: WsMetrics,
    private readonly logger: Logger,
    /** Called once when the session starts closing, to take it out of every room at once. */
    private readonly onClosing: (session: Session) => void,
    /** The connection under `ws`: frames sent in one turn of the event loop leave in one write (see send). */
    private readonly socket?: Duplex,
  ) {
    this.bucket = new TokenBucket(limits.ratePerSecond, limits.rateBurst);
  }

  get closing(): boolean {
    return this.closingReason !== undefined || this.ws.readyState !== WebSocket.OPEN;
  }

  /**
   * Queues one frame on the socket; false when the socket is gone or closing. It never waits and
   * never closes: right after a burst of sends the unsent output is high even for a fast reader
   * (the kernel takes it on the next turn of the event loop), so the slow-consumer decision is
   * the caller's, after I/O had its turn: Outbound.settle for live delivery, drain() for paced senders.
   */
  send(frame: ServerFrame): boolean {
    if (this.closing) return false;
    this.corkUntilNextTick();
    const text = JSON.stringify(frame);
    // text.length is the byte count for ASCII and a lower bound otherwise: measured exactly only where it could matter.
    if (text.length > this.largestFrame) this.largestFrame = text.length * 3 > this.limits.maxBufferedBytes ? Buffer.byteLength(text) : text.length;
    this.ws.send(text);
    this.metrics.framesOut.inc({ type: frame.type });
    if (frame.type === 'error') this.metrics.errors.inc({ code: frame.code });
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.metrics.peak.bufferedBytes) {
      this.metrics.peak.bufferedBytes = buffered;
      this.metrics.bufferedPeak.set(buffered);
    }
    return true;
  }

  /**
   * Frames sent in one turn (the acks of one bus write, the events of one delivery batch) leave in
   * one write instead of one system call each; they still leave before any I/O of the next turn.
   */
  private corkUntilNextTick(): void {
    const socket = this.socket;
    if (this.corked || !socket || socket.destroyed) return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  /** Whether the socket's unsent output is past maxBufferedBytes (or past the largest frame it was given, when that one alone is larger). */
  overLimit(): boolean {
    return this.ws.bufferedAmount > Math.max(this.limits.maxBufferedBytes, this.largestFrame);
  }

  /** The slow-consumer verdict: 1008, nothing more is sent; the client can resume from its cursor. */
  closeSlow(): void {
    this.close(CloseCode.PolicyViolation, 'slow consumer', { buffered: this.ws.bufferedAmount });
  }

  sendError(ref: string | undefined, code: ErrorCode, message: string, room?: string): void {
    this.send({ type: 'error', ...(ref !== undefined ? { ref } : {}), code, message, ...(room !== undefined ? { room } : {}) });
  }

  /**
   * For senders that can wait (replay, bot subscriptions): resolves true once the socket's output
   * is back under half the limit, false when the session closed or did not drain in time (then it
   * is closed as a slow consumer; it can resume from its cursor).
   */
  async drain(): Promise<boolean> {
    const resumeAt = this.limits.maxBufferedBytes / 2;
    if (this.closing || this.ws.bufferedAmount <= resumeAt) return !this.closing;
    const deadline = Date.now() + this.limits.drainTimeoutMs;
    while (!this.closing && this.ws.bufferedAmount > resumeAt) {
      if (Date.now() > deadline) {
        this.closeSlow();
        return false;
      }
      await sleep(5);
    }
    return !this.closing;
  }

  /**
   * Runs inbound work one frame at a time, in arrival order (so a send after a join sees the join,
   * and acks come back in order). When too much waits, stops reading the socket until it drains.
   */
  enqueue(task: () => Promise<void>): void {
    this.queued++;
    if (this.queued >= MAX_QUEUED_FRAMES) this.ws.pause();
    this.queue = this.queue.then(task).catch((err: unknown) => {
      this.logger.error({ err, session: this.id }, 'websocket frame handler failed');
    }).finally(() => {
      this.queued--;
      if (this.queued < MAX_QUEUED_FRAMES / 2 && !this.closing && !this.readingStopped) this.ws.resume();
    });
  }

  /** Stops reading new frames for good (shutdown); frames already received are still handled. */
  stopReading(): void {
    this.readingStopped = true;
    this.ws.pause();
  }

  /**
   * Lets a frame's work run in the background while its answer keeps its place: `answer` runs with
   * the outcome of `work` after every earlier answer. So consecutive sends can be in flight on the
   * bus together while acks still come back in frame order. Resolves at once unless MAX_IN_FLIGHT
   * answers wait, then when the oldest is out (which holds up this session's inbound queue).
   */
  async answerInOrder<T>(work: Promise<T>, answer: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => void): Promise<void> {
    // Settled into a value right away, so a failure is never an unhandled rejection while it waits its turn.
    const outcome = work.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
    this.inFlight++;
    this.answers = this.answers.then(async () => {
      try {
        answer(await outcome);
      } catch (err) {
        this.logger.error({ err, session: this.id }, 'websocket answer failed');
      } finally {
        this.inFlight--;
      }
    });
    if (this.inFlight >= MAX_IN_FLIGHT) await this.answers;
  }

  /** Resolves when every answer in flight has been sent: frames other than send wait for it, so all answers keep frame order. */
  answered(): Promise<void> {
    return this.answers;
  }

  /** Resolves when the frames already received are handled and answered (their acks sent). */
  async idle(): Promise<void> {
    await this.queue;
    await this.answers;
  }

  /** Closes with a code and reason the client can act on; idempotent. */
  close(code: number, reason: string, details: Record<string, unknown> = {}): void {
    if (this.closingReason !== undefined) return;
    this.closingReason = reason;
    this.metrics.closes.inc({ reason });
    this.logger.info({ session: this.id, user: this.token.name, code, reason, ...details }, 'websocket closed by server');
    this.onClosing(this);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }

  /** The socket closed (either side): take the session out of every room. */
  gone(): void {
    if (this.closingReason === undefined) {
      this.closingReason = 'closed';
      this.onClosing(this);
    }
  }
}
