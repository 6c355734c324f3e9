import type { Logger } from '../../../core/logger.ts';
import { decryptPayload, encryptPayload, quickAckToken } from '../crypto/mtproto2.ts';
import { rawObject, type TlCodec, type TlObject } from '../tl/codec.ts';
import { TlDecodeError } from '../tl/errors.ts';
import { authKeyIdHex, type AuthKeyStore } from '../store/auth-key-store.ts';
import type { MtprotoMetrics } from '../metrics.ts';
import { packResult, packUpdate, worthPacking } from './gzip-results.ts';
import { frameGoesAhead, type AheadOfGuard } from './ahead-of-guard.ts';
import { buildContainer, constructorOf, CONTAINER_ID, GZIP_PACKED_ID, MAX_CONTAINER_MESSAGES, MSGS_ACK_ID, parseContainer, RPC_RESULT_ID, type RawMessage } from './container.ts';
import { buildEnvelope, parseEnvelope, splitEncrypted, type InnerEnvelope } from './envelope.ts';
import { checkClientMsgId, type ServerMsgIdGenerator, type ServerMsgKind } from './msg-id.ts';
import type { KeyCache } from './key-cache.ts';
import type { FailedMsgKeys } from './failed-msg-keys.ts';
import type { ReplayGuard } from './replay-guard.ts';
import type { RpcHandler, UpdateChannel } from './rpc.ts';
import { RpcError } from './rpc.ts';
import type { SaltSchedule } from './salts.ts';
import { CallSlots } from './call-slots.ts';
import { SessionRegistry, type SessionState } from './session-state.ts';
import { intOf, longOf, longsOf } from './tl-access.ts';
import { concat } from '../crypto/bytes.ts';

/** What the encrypted layer needs from its connection. */
export interface LayerLink {
  sendFrame(payload: Uint8Array): void;
  /** Sends a transport error (e.g. -404) and closes. */
  transportError(code: number, reason: string): void;
  /** Closes without an answer (undecryptable input: nothing trustworthy to answer to). */
  close(reason: string): void;
  /** ping_delay_disconnect: close after `seconds` unless re-armed. */
  armDisconnect(seconds: number): void;
  /** Sends a transport-level quick ack (the token of an accepted client message). */
  quickAck(token: number): void;
  /** A frame authenticated (right key, msg_key and padding): the peer is a legitimate client. */
  authenticated(): void;
  /** Whether the connection is still open. */
  isOpen(): boolean;
  /** Runs `listener` once when the connection closes (at once when it is closed already). */
  onClose(listener: () => void): void;
}

export interface LayerDeps {
  /** The server's service codec; it inflates gzip_packed (at any depth) up to the server's cap. */
  codec: TlCodec;
  keyStore: AuthKeyStore;
  /** Keys in use on this server, shared by its connections (cleared by destroy_auth_key). */
  keyCache: KeyCache;
  salts: SaltSchedule;
  sessions: SessionRegistry;
  msgIds: ServerMsgIdGenerator;
  rpc: RpcHandler;
  logger: Logger;
  metrics: MtprotoMetrics;
  /** Shared record of seen msg_ids (the bus's state with the redis driver); localReplayGuard otherwise. */
  replayGuard: ReplayGuard;
  /** Client msg_ids from before this (ms) are refused with 16: the restart floor (server option acceptMsgIdsFrom). */
  msgIdFloorMs: number;
  /** msg_keys that failed their check, never decrypted again (see failed-msg-keys.ts). */
  failedMsgKeys: FailedMsgKeys;
  /** API results and pushed updates of at least this many bytes go out as gzip_packed when smaller (gzip-results.ts); 0: never. */
  gzipResultsFrom: number;
  /** Calls a frame may process before the shared replay guard answers (ahead-of-guard.ts); undefined: every frame waits. */
  aheadOfGuard?: AheadOfGuard;
  now: () => number;
}

/** Frames of one connection whose API calls may be running at once. */
export const MAX_FRAMES_IN_FLIGHT = 64;
/** API calls of one connection running at once (call-slots.ts); a frame's later calls start as earlier ones end. */
export const MAX_CALLS_RUNNING = 256;
/** Frames of one connection opened and waiting for their turn (their replay-guard answer, the frames before them). */
export const MAX_FRAMES_WAITING = 16;

/** Client messages that are not content-related: their seqno must be even (code 34). */
const EVEN_SEQNO = new Set([CONTAINER_ID]);
/**
 * Messages that are not content-related but that clients send with either parity: the
 * informational service messages (gramjs sends them even), and msgs_ack, which mtcute 0.30
 * numbers as content-related (odd) and Telegram accepts so. Nothing in them is answered or has an
 * effect beyond the acknowledgement, so their parity changes nothing we do.
 */
const ANY_SEQNO = new Set([
  MSGS_ACK_ID,
  0x04deb57d, // msgs_state_info
  0x8cc0d131, // msgs_all_info
  0x276d3ec6, // msg_detailed_info
  0x809db6df, // msg_new_detailed_info
]);

interface OutItem {
  body: Uint8Array;
  kind: ServerMsgKind;
  contentRelated: boolean;
  /** Set for re-sent messages: they keep their original id and seqno. */
  msgId?: bigint;
  seqNo?: number;
}

/** Everything one incoming frame makes the server send back, flushed as one frame. */
class Outbox {
  readonly items: OutItem[] = [];
  readonly acks: bigint[] = [];
}


/**
 * The encrypted layer of one connection (core.telegram.org/mtproto/description and
 * /security_guidelines): authenticates and decrypts each frame, applies the salt, msg_id,
 * seqno and replay rules, answers service messages and hands everything else to the RpcHandler.
 * Frames of one connection are handled in order (see handle).
 */
export class EncryptedLayer {
  readonly #deps: LayerDeps;
  readonly #link: LayerLink;
  /** The update channel of each session seen on this connection (one per session, reused). */
  readonly #channels = new Map<string, UpdateChannel>();
  /** Frames whose API calls are still running (see #finish). */
  readonly #inFlight = new Set<Promise<void>>();
  /** The in-order part of the frames handled so far (see handle): the last one's. */
  #inOrder: Promise<void> = Promise.resolve();
  /** Frames whose in-order part has not run yet. */
  readonly #waiting = new Set<Promise<void>>();
  /** The calls of this connection that run now. */
  readonly #slots = new CallSlots(MAX_CALLS_RUNNING);

  constructor(deps: LayerDeps, link: LayerLink) {
    this.#deps = deps;
    this.#link = link;
  }

  /**
   * One encrypted frame; `quickAck`: the frame asked for a transport quick ack. Frames are opened
   * (key, msg_key, decryption, the stateless time and salt checks) one at a time as they come, and
   * the shared replay guard is asked about each at once; everything that touches the session
   * (seqno, the local window, service messages, starting calls) then runs frame by frame, in
   * order, each frame once its own guard answer is in. So a frame does not wait for the round
   * trips of the frames before it (a round trip per frame in sequence capped a connection at one
   * frame per round trip of the shared store), and the order stays what it was.
   */
  async handle(payload: Uint8Array, quickAck = false): Promise<void> {
    const frame = await this.#open(payload, quickAck);
    if (frame === undefined) return;
    const d = this.#deps;
    const verdict = checkClientMsgId(frame.env.msgId, d.now(), d.msgIdFloorMs);
    const saltOk = verdict === 'ok' && d.salts.isValid(frame.keyHex, frame.env.salt);
    // After the time and salt checks: a frame refused there is not processed, so its ids must
    // stay unused (the client may re-send them with the new salt).
    const guard = verdict === 'ok' && saltOk ? this.#sharedReplays(frame) : undefined;
    const step = this.#inOrder.then(() => this.#process(frame, verdict, saltOk, guard));
    this.#inOrder = step;
    this.#waiting.add(step);
    void step.then(() => this.#waiting.delete(step));
    // Bounded: frames waiting for their turn, and frames whose calls run, hold the next frame back.
    while (this.#waiting.size >= MAX_FRAMES_WAITING || this.#inFlight.size >= MAX_FRAMES_IN_FLIGHT) {
      await Promise.race([...this.#waiting, ...this.#inFlight]);
    }
  }

  /** Authenticates and decrypts a frame; undefined when it was refused (the link is closed then). */
  async #open(payload: Uint8Array, quickAck: boolean): Promise<OpenedFrame | undefined> {
    const d = this.#deps;
    const parts = splitEncrypted(payload);
    if (parts === null) {
      d.metrics.dropped.inc({ reason: 'bad-length' });
      this.#link.close('bad-length');
      return undefined;
    }
    const keyHex = authKeyIdHex(parts.authKeyId);
    const record = await d.keyCache.get(keyHex, () => d.keyStore.get(parts.authKeyId));
    if (record === undefined) {
      // The client's key is unknown here (never made, destroyed, or a temporary key that
      // expired): -404 tells it to create a new one.
      this.#link.transportError(-404, 'unknown-auth-key');
      return undefined;
    }
    const authKey = record.key;
    if (d.failedMsgKeys.has(keyHex, parts.msgKey)) {
      // A msg_key that already failed: no second decryption under that message's AES key.
      d.metrics.dropped.inc({ reason: 'repeated-failed-msg-key' });
      this.#link.close('repeated-failed-msg-key');
      return undefined;
    }
    const plain = decryptPayload(authKey, parts.msgKey, parts.cipher, 0);
    if (plain === null) {
      d.failedMsgKeys.add(keyHex, parts.msgKey);
      d.metrics.dropped.inc({ reason: 'msg-key-mismatch' });
      this.#link.close('msg-key-mismatch');
      return undefined;
    }
    const env = parseEnvelope(plain);
    if (env === null) {
      d.metrics.dropped.inc({ reason: 'bad-padding-or-length' });
      this.#link.close('bad-padding-or-length');
      return undefined;
    }
    this.#link.authenticated();
    // Quick ack as soon as the frame is authenticated and well-formed: the client learns it
    // arrived before its answer is ready (its token is the start of msg_key_large).
    if (quickAck) this.#link.quickAck(quickAckToken(authKey, plain));
    // A container's members are read once, here, for the replay guard, the fast path and processing.
    const members = constructorOf(env.body) === CONTAINER_ID ? parseContainer(env.body) : undefined;
    return { keyHex, authKey, authKeyId: new Uint8Array(parts.authKeyId), env, members };
  }

  /** The in-order part of a frame (see handle). Never rejects: a failure closes the connection. */
  async #process(frame: OpenedFrame, verdict: ReturnType<typeof checkClientMsgId>, saltOk: boolean, guard: Promise<GuardAnswer | null> | undefined): Promise<void> {
    const d = this.#deps;
    const { env } = frame;
    if (!this.#link.isOpen()) {
      // Closed while the frame waited: it is not processed, so its ids are not kept as seen.
      if (guard !== undefined) this.#unrecord(frame, await guard);
      return;
    }
    const session = d.sessions.getOrCreate(frame.keyHex, env.sessionId, d.now());
    const ctx: Ctx = { calls: [], session, authKey: frame.authKey, authKeyId: frame.authKeyId, keyHex: frame.keyHex, out: new Outbox(), replayed: new Set(), members: frame.members };
    try {
      if (verdict !== 'ok') {
        this.#badMsg(ctx, env.msgId, env.seqNo, verdict === 'bad-parity' ? 18 : verdict === 'too-old' ? 16 : 17);
        return;
      }
      if (!saltOk) {
        // Not processed and not recorded as seen: the client re-sends with the salt we give.
        const salt = d.salts.current(frame.keyHex);
        d.metrics.badMsg.inc({ code: '48' });
        this.#push(ctx, this.#encode({ _: 'bad_server_salt', bad_msg_id: env.msgId, bad_msg_seqno: env.seqNo, error_code: 48, new_server_salt: salt }), 'response', true);
        return;
      }
      // A frame of transaction-idempotent sends goes ahead (ahead-of-guard.ts); the guard still
      // records its ids, and a replay it finds among them was the same send again.
      const ahead = d.aheadOfGuard !== undefined && frameGoesAhead(env.body, frame.members, d.aheadOfGuard);
      if (ahead) {
        d.metrics.aheadOfGuard.inc({ outcome: 'ahead' });
        void guard!.then((late) => { if (late !== null && late.replayed.size > 0) d.metrics.aheadOfGuard.inc({ outcome: 'replayed' }); });
      }
      const answer = ahead ? NOTHING_REPLAYED : await guard!;
      if (answer === null) return;
      if (!this.#link.isOpen()) {
        this.#unrecord(frame, answer);
        return;
      }
      ctx.replayed = answer.replayed;
      await this.#message(ctx, { msgId: env.msgId, seqNo: env.seqNo, body: env.body }, false);
    } catch (err) {
      d.logger.warn({ err }, 'mtproto frame handling failed');
      this.#link.close('internal-error');
    } finally {
      this.#finish(ctx);
    }
  }

  /**
   * Sends what the frame produced: at once when it started no API call; otherwise once its calls
   * are answered. The connection does not wait for that: the next frame is checked and its calls
   * start meanwhile (MTProto does not order the answers of one session; clients that need an
   * order use invokeAfterMsg). Everything up to the start of a call (msg_id, seqno and replay
   * checks, service messages) still happens frame by frame, in order.
   */
  #finish(ctx: Ctx): void {
    if (ctx.calls.length === 0) {
      this.#flush(ctx);
      return;
    }
    const done: Promise<void> = Promise.allSettled(ctx.calls).then(() => {
      this.#inFlight.delete(done);
      this.#flush(ctx);
    });
    this.#inFlight.add(done);
  }

  async #message(ctx: Ctx, m: RawMessage, inner: boolean): Promise<void> {
    const d = this.#deps;
    const s = ctx.session;
    const ctor = constructorOf(m.body);
    if (inner) {
      const verdict = checkClientMsgId(m.msgId, d.now(), d.msgIdFloorMs);
      if (verdict !== 'ok') {
        this.#badMsg(ctx, m.msgId, m.seqNo, verdict === 'bad-parity' ? 18 : verdict === 'too-old' ? 16 : 17);
        return;
      }
    }
    if (s.seen.get(m.msgId) !== undefined || ctx.replayed.has(m.msgId)) {
      if (ctor === CONTAINER_ID) {
        this.#badMsg(ctx, m.msgId, m.seqNo, 19);
      } else {
        // A replayed message is ignored: processing it again could repeat a side effect.
        d.metrics.dropped.inc({ reason: 'duplicate-msg-id' });
      }
      return;
    }
    if (s.seen.isBelowWindow(m.msgId)) {
      this.#badMsg(ctx, m.msgId, m.seqNo, 20);
      return;
    }
    const even = (m.seqNo & 1) === 0;
    const contentRelated = !EVEN_SEQNO.has(ctor) && !ANY_SEQNO.has(ctor);
    if (EVEN_SEQNO.has(ctor) && !even) { this.#badMsg(ctx, m.msgId, m.seqNo, 34); return; }
    if (contentRelated && even) { this.#badMsg(ctx, m.msgId, m.seqNo, 35); return; }
    if (m.msgId > s.highestMsgId) {
      if (m.seqNo < s.highestSeqNo) { this.#badMsg(ctx, m.msgId, m.seqNo, 32); return; }
      s.highestMsgId = m.msgId;
      s.highestSeqNo = m.seqNo;
    } else if (m.seqNo > s.highestSeqNo) {
      this.#badMsg(ctx, m.msgId, m.seqNo, 33);
      return;
    }
    s.seen.add(m.msgId, { contentRelated, answered: false });
    // The session is announced by its first message that passed every check (a refused or
    // replayed one gets no answer at all), before that message's own answer.
    if (!inner && !s.announced) {
      s.announced = true;
      this.#push(ctx, this.#encode({ _: 'new_session_created', first_msg_id: m.msgId, unique_id: s.uniqueId, server_salt: d.salts.current(ctx.keyHex) }), 'notification', true);
    }

    if (ctor === CONTAINER_ID) {
      const messages = inner ? null : ctx.members ?? null;
      if (messages === null) { this.#badMsg(ctx, m.msgId, m.seqNo, 64); return; }
      d.metrics.messagesIn.inc({ type: 'container' });
      for (const im of messages) await this.#message(ctx, im, true);
      return;
    }
    let obj: TlObject;
    try {
      // An API call (a constructor the service schema does not have) goes on raw without a
      // decode attempt: a thrown and caught error per call costs more than the call's own work.
      obj = ctor !== GZIP_PACKED_ID && !d.codec.schema.byId.has(ctor) ? rawObject(m.body) : d.codec.decode(m.body);
    } catch (err) {
      // gzip_packed that does not inflate (corrupt, or past the cap, at any depth), or whose
      // content does not decode: refused, never handed on. Other undecodable bodies are API
      // calls the service schema does not know: the RpcHandler gets them raw.
      const gzip = err instanceof TlDecodeError && (err.code === 'gzip-too-large' || err.code === 'gzip-invalid');
      if (gzip || ctor === GZIP_PACKED_ID) {
        this.#badMsg(ctx, m.msgId, m.seqNo, 64);
        return;
      }
      obj = rawObject(m.body);
    }
    // A container is only valid at the top level, not packed.
    if (ctor === GZIP_PACKED_ID && obj._ === 'msg_container') {
      this.#badMsg(ctx, m.msgId, m.seqNo, 64);
      return;
    }
    d.metrics.messagesIn.inc({ type: 'message' });
    const answered = await this.#dispatch(ctx, m.msgId, obj);
    if (contentRelated && !answered) ctx.out.acks.push(m.msgId);
  }

  /**
   * Asks the replay guard about the frame's ids (outer message and container members) in one
   * call: the ids some instance already saw, or null when the guard could not answer. Then the
   * frame is refused and the connection closed: accepting it could process a replay.
   */
  async #sharedReplays(frame: OpenedFrame): Promise<GuardAnswer | null> {
    const d = this.#deps;
    const { msgId, sessionId } = frame.env;
    const ids = new Set([msgId]);
    // Members failing the time check are never accepted, so they are not recorded either.
    for (const m of frame.members ?? []) if (checkClientMsgId(m.msgId, d.now(), d.msgIdFloorMs) === 'ok') ids.add(m.msgId);
    // Deduplicated: an id twice in one frame is the local window's business (first one wins).
    const asked = [...ids];
    let first: boolean[];
    try {
      first = await d.replayGuard.firstSeen(frame.keyHex, sessionId, asked);
    } catch (err) {
      d.logger.warn({ err, authKeyId: frame.keyHex }, 'mtproto replay guard unavailable: frame refused');
      d.metrics.dropped.inc({ reason: 'replay-guard-unavailable' });
      this.#link.close('replay-guard-unavailable');
      return null;
    }
    return {
      replayed: new Set(asked.filter((_, i) => first[i] !== true)),
      recorded: asked.filter((_, i) => first[i] === true),
    };
  }

  /**
   * A frame this server recorded in the replay guard but never processed (its connection closed
   * while it waited): its ids are forgotten again, so the client's re-send of it is not taken for
   * a replay. Processing stays at most once: this frame was processed nowhere.
   */
  #unrecord(frame: OpenedFrame, answer: GuardAnswer | null): void {
    const forget = this.#deps.replayGuard.forget;
    if (answer === null || answer.recorded.length === 0 || forget === undefined) return;
    forget.call(this.#deps.replayGuard, frame.keyHex, frame.env.sessionId, answer.recorded).catch((err: unknown) => {
      this.#deps.logger.warn({ err, authKeyId: frame.keyHex }, 'mtproto: ids of an unprocessed frame stay in the replay guard (a re-send with them is ignored until they expire)');
    });
  }

  /** Handles one decoded message; true when it produced a response (which acknowledges it). */
  async #dispatch(ctx: Ctx, msgId: bigint, obj: TlObject): Promise<boolean> {
    const d = this.#deps;
    switch (obj._) {
      case 'msgs_ack': {
        // The client has them: nothing to re-send, so their bodies need not be kept.
        for (const id of longsOf(obj, 'msg_ids')) ctx.session.sent.delete(id);
        return false;
      }
      case 'ping':
        this.#push(ctx, this.#encode({ _: 'pong', msg_id: msgId, ping_id: longOf(obj, 'ping_id') }), 'response', true);
        return true;
      case 'ping_delay_disconnect':
        this.#push(ctx, this.#encode({ _: 'pong', msg_id: msgId, ping_id: longOf(obj, 'ping_id') }), 'response', true);
        this.#link.armDisconnect(intOf(obj, 'disconnect_delay'));
        return true;
      case 'get_future_salts': {
        const salts = d.salts.future(ctx.keyHex, intOf(obj, 'num'));
        this.#push(ctx, this.#encode({
          _: 'future_salts', req_msg_id: msgId, now: Math.floor(d.now() / 1000),
          salts: salts.map((x) => ({ _: 'future_salt', valid_since: x.validSince, valid_until: x.validUntil, salt: x.salt })),
        }), 'response', true);
        return true;
      }
      case 'msgs_state_req': {
        const ids = longsOf(obj, 'msg_ids');
        const info = new Uint8Array(ids.map((id) => this.#msgState(ctx.session, id)));
        this.#push(ctx, this.#encode({ _: 'msgs_state_info', req_msg_id: msgId, info }), 'response', false);
        return true;
      }
      case 'msg_resend_req':
      case 'msg_resend_ans_req': {
        for (const id of longsOf(obj, 'msg_ids')) {
          const sent = ctx.session.sent.get(id);
          if (sent !== undefined) ctx.out.items.push({ body: sent.body, kind: 'response', contentRelated: true, msgId: id, seqNo: sent.seqNo });
        }
        return false;
      }
      case 'destroy_session': {
        const target = longOf(obj, 'session_id');
        const existed = target !== ctx.session.sessionId && d.sessions.delete(ctx.keyHex, target);
        this.#rpcResult(ctx, msgId, { _: existed ? 'destroy_session_ok' : 'destroy_session_none', session_id: target });
        return true;
      }
      case 'destroy_auth_key': {
        d.keyCache.delete(ctx.keyHex);
        await d.keyStore.delete(ctx.authKeyId);
        d.keyCache.delete(ctx.keyHex);
        d.sessions.deleteAuthKey(ctx.keyHex);
        this.#rpcResult(ctx, msgId, { _: 'destroy_auth_key_ok' });
        return true;
      }
      case 'rpc_drop_answer':
        // No answer is dropped: a call still running answers when it ends (and every answer is
        // kept for msg_resend_req). The spec allows rpc_answer_unknown here; for a running call
        // rpc_answer_dropped_running would be the more precise one (not tracked per call).
        this.#rpcResult(ctx, msgId, { _: 'rpc_answer_unknown' });
        return true;
      case 'http_wait':
      case 'msgs_state_info':
      case 'msgs_all_info':
      case 'msg_detailed_info':
      case 'msg_new_detailed_info':
        return false;
      default: {
        // In order: a call waits for a slot before the next message of the frame (or of a later
        // frame) is looked at, so calls still start in the order they came.
        const slot = this.#slots.acquire();
        if (slot !== undefined) await slot;
        ctx.calls.push(this.#rpc(ctx, msgId, obj).finally(() => this.#slots.release()));
        return true;
      }
    }
  }

  async #rpc(ctx: Ctx, msgId: bigint, call: TlObject): Promise<void> {
    const d = this.#deps;
    let result: TlObject;
    try {
      result = await d.rpc(call, { authKeyId: ctx.authKeyId, sessionId: ctx.session.sessionId, msgId, logger: d.logger, channel: this.#channelOf(ctx) });
    } catch (err) {
      if (err instanceof RpcError) {
        result = { _: 'rpc_error', error_code: err.code, error_message: err.errorMessage };
      } else {
        d.logger.error({ err, call: call._ }, 'mtproto rpc handler failed');
        result = { _: 'rpc_error', error_code: 500, error_message: 'INTERNAL' };
      }
    }
    let body: Uint8Array;
    try {
      body = this.#encode(result);
    } catch (err) {
      // A handler's result the codec cannot encode is the handler's bug: the client gets
      // rpc_error 500 like for a throwing handler, and the session goes on.
      d.logger.error({ err, call: call._, result: result._ }, 'mtproto rpc result does not encode');
      body = this.#encode({ _: 'rpc_error', error_code: 500, error_message: 'INTERNAL' });
    }
    if (worthPacking(body.length, d.gzipResultsFrom)) {
      // A large answer goes gzip_packed when that is smaller (gzip-results.ts); the frame's answers wait for it.
      const packed = await packResult(body);
      if (packed !== body) d.metrics.resultsGzipped.inc();
      body = packed;
    }
    this.#rpcResultBody(ctx, msgId, body);
  }

  /**
   * The session's channel on this connection: updates pushed through it go out at once, each in
   * a frame of its own, as content-related messages with server msg_ids ≡ 3 mod 4. A session the
   * registry no longer has (destroyed, swept, its key destroyed) gets nothing.
   */
  #channelOf(ctx: Ctx): UpdateChannel {
    const d = this.#deps;
    const { keyHex, authKey, authKeyId } = ctx;
    const sessionId = ctx.session.sessionId;
    const key = SessionRegistry.key(keyHex, sessionId);
    let channel = this.#channels.get(key);
    if (channel !== undefined) return channel;
    const link = this.#link;
    channel = {
      key, authKeyIdHex: keyHex, sessionId,
      get open() { return link.isOpen(); },
      push: (update: Uint8Array) => {
        const session = d.sessions.get(keyHex, sessionId);
        if (session === undefined || !link.isOpen()) return;
        // A large update goes gzip_packed when that is smaller, like a large result (gzip-results.ts).
        const body = worthPacking(update.length, d.gzipResultsFrom) ? packUpdate(update) : update;
        if (body !== update) d.metrics.updatesGzipped.inc();
        const msgId = d.msgIds.next('notification');
        const seqNo = session.nextSeqNo(true);
        session.rememberSent(msgId, seqNo, body);
        const plain = buildEnvelope({ salt: d.salts.current(keyHex), sessionId, msgId, seqNo, body });
        const { msgKey, cipher } = encryptPayload(authKey, plain, 8);
        link.sendFrame(concat(authKeyId, msgKey, cipher));
        d.metrics.messagesOut.inc({ type: 'update' });
      },
      onClose: (listener: () => void) => link.onClose(listener),
    };
    this.#channels.set(key, channel);
    return channel;
  }

  #rpcResult(ctx: Ctx, reqMsgId: bigint, result: TlObject): void {
    this.#rpcResultBody(ctx, reqMsgId, this.#encode(result));
  }

  /** rpc_result#f35c6d01 req_msg_id:long result:Object, built here so any encoded result fits. */
  #rpcResultBody(ctx: Ctx, reqMsgId: bigint, body: Uint8Array): void {
    const head = new Uint8Array(12);
    const view = new DataView(head.buffer);
    view.setUint32(0, RPC_RESULT_ID, true);
    view.setBigInt64(4, reqMsgId, true);
    this.#push(ctx, concat(head, body), 'response', true);
  }

  /** msgs_state_info byte per id (core.telegram.org/mtproto/service_messages_about_messages). */
  #msgState(s: SessionState, id: bigint): number {
    const seen = s.seen.get(id);
    if (seen !== undefined) return 4 | (seen.contentRelated ? 0 : 16);
    const verdict = checkClientMsgId(id, this.#deps.now(), this.#deps.msgIdFloorMs);
    if (s.seen.isBelowWindow(id) || verdict === 'too-old') return 1;
    if (verdict === 'too-new' || id > s.highestMsgId) return 3;
    return 2;
  }

  #badMsg(ctx: Ctx, badMsgId: bigint, badSeqNo: number, code: number): void {
    this.#deps.metrics.badMsg.inc({ code: String(code) });
    this.#push(ctx, this.#encode({ _: 'bad_msg_notification', bad_msg_id: badMsgId, bad_msg_seqno: badSeqNo, error_code: code }), 'response', true);
  }

  #encode(obj: TlObject): Uint8Array {
    return this.#deps.codec.encode(obj);
  }

  #push(ctx: Ctx, body: Uint8Array, kind: ServerMsgKind, contentRelated: boolean): void {
    ctx.out.items.push({ body, kind, contentRelated });
  }

  /** Sends what one frame produced: one message alone, several in a msg_container. */
  #flush(ctx: Ctx): void {
    const d = this.#deps;
    const { out, session } = ctx;
    if (out.acks.length > 0) {
      out.items.push({ body: this.#encode({ _: 'msgs_ack', msg_ids: out.acks.splice(0) }), kind: 'notification', contentRelated: false });
    }
    for (let i = 0; i < out.items.length; i += MAX_CONTAINER_MESSAGES) {
      const batch = out.items.slice(i, i + MAX_CONTAINER_MESSAGES);
      const messages: RawMessage[] = batch.map((it) => {
        const msgId = it.msgId ?? d.msgIds.next(it.kind);
        const seqNo = it.seqNo ?? session.nextSeqNo(it.contentRelated);
        if (it.contentRelated && it.msgId === undefined) session.rememberSent(msgId, seqNo, it.body);
        return { msgId, seqNo, body: it.body };
      });
      let top: RawMessage;
      if (messages.length === 1) {
        top = messages[0]!;
      } else {
        // The container's id comes last so it is greater than every id inside it.
        top = { msgId: d.msgIds.next('notification'), seqNo: session.nextSeqNo(false), body: buildContainer(messages) };
      }
      const plain = buildEnvelope({ salt: d.salts.current(ctx.keyHex), sessionId: session.sessionId, msgId: top.msgId, seqNo: top.seqNo, body: top.body });
      const { msgKey, cipher } = encryptPayload(ctx.authKey, plain, 8);
      this.#link.sendFrame(concat(ctx.authKeyId, msgKey, cipher));
      d.metrics.messagesOut.inc({ type: messages.length === 1 ? 'message' : 'container' });
    }
    out.items.length = 0;
  }
}

/** A frame that authenticated and decrypted (handle's first part). */
interface OpenedFrame {
  readonly keyHex: string;
  readonly authKey: Uint8Array;
  readonly authKeyId: Uint8Array;
  readonly env: InnerEnvelope;
  /** A container's members (null: a container that does not parse); undefined: no container. */
  readonly members: RawMessage[] | null | undefined;
}

/** The replay guard about one frame: the ids seen before, and the ids this server recorded now. */
interface GuardAnswer {
  readonly replayed: ReadonlySet<bigint>;
  readonly recorded: readonly bigint[];
}

/** What a frame that goes ahead of the guard assumes (the local window still refuses a replay here). */
const NOTHING_REPLAYED: GuardAnswer = { replayed: new Set(), recorded: [] };

interface Ctx {
  /** API calls of this frame still running: the frame's answers leave together once they are done. */
  calls: Promise<void>[];
  session: SessionState;
  authKey: Uint8Array;
  authKeyId: Uint8Array;
  keyHex: string;
  out: Outbox;
  /** Ids of this frame another instance (or an earlier frame) already recorded in the replay guard. */
  replayed: ReadonlySet<bigint>;
  /** The frame's container members, read when it was opened (OpenedFrame.members). */
  members: RawMessage[] | null | undefined;
}
