import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type RawData, type ServerOptions, type WebSocket } from 'ws';
import type { Config, TokenConfig } from '../../config/schema.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { Logger } from '../../core/logger.ts';
import { ErrorCode } from '../../core/errors.ts';
import type { Capabilities } from '../../core/capabilities.ts';
import { LIMITS, PRESENCE_STATES, SPAN_TYPES } from '../../core/event.ts';
import type { Bus, Stoppable } from '../../bus/types.ts';
import { compareCursors, isCursor, START_CURSOR, type Cursor, type RoutingView } from '../../core/endpoint.ts';
import { directReach } from '../../core/direct.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorListing, EndpointChange } from '../connector.ts';
import { parseClientFrame, PROTOCOL_VERSION, type ClientFrame, type HelloFrame, type LeftFrame, type UnsubscribedFrame } from './frames.ts';
import { buildEvent, CONNECTOR, publishFromClient } from './inbound.ts';
import { Outbound } from './outbound.ts';
import { FanoutDelivery } from './fanout.ts';
import { CloseCode, Session, type SessionLimits } from './session.ts';
import { authorizeUpgrade, refuseUpgrade } from './upgrade.ts';
import { isDirectAddress, resolveDirect, type DirectChat } from './direct.ts';
import { DirectIndex } from './direct-index.ts';
import { RoomTopics } from '../room-topics.ts';
import { wsMetrics, type WsMetrics } from './metrics.ts';
import { HISTORY_DEFAULT_EVENTS, HISTORY_MAX_BYTES, readHistory } from './history.ts';

/** How long a closing handshake may take before the socket is destroyed (ws defaults to 30 s). */
const CLOSE_TIMEOUT_MS = 5_000;
/** At shutdown: how long frames already received may take to be answered (their acks) before clients are told to go. */
const SHUTDOWN_IDLE_MS = 2_000;

/** What the WebSocket protocol can carry: everything of the canonical event, as it is. */
export const WEBSOCKET_CAPABILITIES: Capabilities = {
  edits: true,
  retractions: true,
  reactions: 'any',
  replies: true,
  threads: true,
  presence: PRESENCE_STATES,
  typing: true,
  receipts: ['delivered', 'displayed'],
  attachments: { delivery: 'reference', maxBytes: Number.MAX_SAFE_INTEGER },
  formatting: SPAN_TYPES,
  maxTextLength: LIMITS.textChars,
  directChats: true,
  topics: true,
};

/** Everything start() builds from the context; absent before start. */
interface Running {
  readonly bus: Bus;
  readonly router: RoutingView;
  readonly logger: Logger;
  readonly metrics: WsMetrics;
  readonly outbound: Outbound;
  readonly delivery: FanoutDelivery;
  readonly directIndex: DirectIndex;
  readonly topics: RoomTopics;
  readonly egress: Stoppable;
  readonly heartbeat: NodeJS.Timeout;
}

/**
 * The WebSocket connector: protocol v1 of docs/websocket-protocol.md over `ws` in noServer mode.
 * The app owns the HTTP server and hands us upgrades on config.path; we authenticate them, run
 * one Session per socket, publish what clients send (inbound.ts) and push what the bus routes to
 * WS rooms (outbound.ts) to clients on every instance (fanout.ts). 'websocket' is a hosted
 * connector: one WS room is one endpoint shared by many sessions.
 */
export class WebSocketConnector implements Connector {
  readonly network = CONNECTOR;
  readonly capabilities = WEBSOCKET_CAPABILITIES;
  readonly hostsSessions = true;
  readonly delivers = true;

  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly limits: SessionLimits;
  private pendingUpgrades = 0;
  private accepting = true;
  private running: Running | undefined;
  private wsUrl = '';
  private closing: Promise<void> | undefined;
  /** The tokens in force: config.yaml's at start, then each reload's (settingsChanged). */
  private tokens: readonly TokenConfig[];

  constructor(private readonly config: Config['websocket']) {
    this.tokens = config.tokens;
    this.limits = {
      maxBufferedBytes: this.config.maxBufferedBytes,
      ratePerSecond: this.config.rateLimit.perSecond,
      rateBurst: this.config.rateLimit.burst,
      drainTimeoutMs: this.config.heartbeatMs,
    };
    // closeTimeout is a ws 8 option its type definitions do not list yet.
    const options: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: this.config.maxPayloadBytes,
      perMessageDeflate: false, // compression costs CPU and memory per socket and invites zip bombs
      clientTracking: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
      // Protocol v1 defines no subprotocol. ws's default agrees to the first one a client offers,
      // telling it the server speaks whatever it named (a token passed that way came back in the
      // answer's headers); selecting none is the RFC 6455 answer for "none of these".
      handleProtocols: () => false,
    };
    this.wss = new WebSocketServer(options);
  }

  get connections(): number {
    return this.sessions.size;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    if (this.running) throw new Error('websocket connector already started');
    const { bus, routing: router } = ctx;
    const logger = ctx.logger;
    const metrics = wsMetrics(ctx.registry);
    // Media links (attachments, stored sender avatars) signed afresh as events go out (media store on): a replay gets working links.
    const outbound = new Outbound(bus, router, logger, ctx.media?.links);
    const delivery = new FanoutDelivery(bus.fanout, outbound, metrics, logger);
    // Follow the other instances' batches; the subscription's first resync covers whatever came before it.
    delivery.start();
    const directIndex = new DirectIndex(bus.state(CONNECTOR), logger);
    const topics = RoomTopics.of(bus, logger);
    // Delivering is queueing frames on sockets (bounded; slow clients are cut off): quick enough for the router to call directly.
    // The direct chats of each token are noted on this path only (one consumer in the cluster), without waiting.
    const egress = bus.consumeEgress(CONNECTOR, (deliveries) => {
      directIndex.record(deliveries);
      return delivery.deliver(deliveries);
    }, { direct: true });
    const heartbeat = setInterval(() => this.beat(), this.config.heartbeatMs);
    heartbeat.unref();
    this.running = { bus, router, logger, metrics, outbound, delivery, directIndex, topics, egress, heartbeat };
    ctx.http.upgrade(this.config.path, (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.wsUrl = `${ctx.httpUrl.replace(/^http/, 'ws')}${this.config.path}`;
    logger.info({ path: this.config.path, tokens: this.config.tokens.length }, 'websocket connector started');
  }

  /**
   * bridges/ reloaded: joins and sends already look the room up in the new table; what is open is
   * made to agree. A session joined to a WS room that is unlinked, or now belongs to another
   * canonical room, is taken out of it and told (`left` with a reason: the cursor it holds points
   * into the old room's stream); a bot subscribed to a canonical room that no bridge declares any
   * more is unsubscribed and told. Runs at every reload that changed anything (the app calls every
   * connector), so rooms without a WS endpoint are followed too.
   */
  endpointsChanged(change: EndpointChange): void {
    if (!this.running) return;
    const { router, logger } = this.running;
    // A redirected room is left so that joining again says how it is linked now (`joined.direction`);
    // one also moved is told `moved` (its cursor is of no use).
    const reasons = new Map<string, NonNullable<LeftFrame['reason']>>([
      ...change.redirected.map((r): [string, 'redirected'] => [r.endpoint.address, 'redirected']),
      ...change.removed.map((e): [string, 'unlinked'] => [e.address, 'unlinked']),
      ...change.moved.map((m): [string, 'moved'] => [m.endpoint.address, 'moved']),
    ]);
    const rooms = new Set(router.rooms);
    let left = 0;
    let unsubscribed = 0;
    for (const session of this.sessions) {
      if (session.closing) continue;
      for (const wsRoom of [...session.memberships.keys()]) {
        const reason = reasons.get(wsRoom);
        if (reason !== undefined && this.evict(session, wsRoom, reason)) left++;
      }
      for (const room of [...session.subscriptions.keys()]) {
        if (rooms.has(room)) continue;
        unsubscribed++;
        this.unfollow(session, room, 'unlinked');
      }
    }
    logger.info({ added: change.added.length, removed: change.removed.length, moved: change.moved.length, redirected: change.redirected.length, left, unsubscribed }, 'websocket rooms follow the reloaded bridges/');
  }

  /**
   * config.yaml reloaded: its `websocket.tokens` are in force at once. New tokens connect; a
   * removed token (or one whose hash changed: rotated) can no longer connect or upload, and its
   * open sessions are closed (1008 `token revoked`). A token still there with other rooms, scope
   * or moderator flag applies to its open sessions too: they leave what it may no longer use
   * (`left` / `unsubscribed` with `reason` `forbidden`). The other settings of the section need a
   * restart: not applied (the app says so).
   */
  settingsChanged(loaded: LoadedConfig): readonly string[] {
    const next = loaded.config.websocket.tokens;
    if (JSON.stringify(next) === JSON.stringify(this.tokens)) return [];
    this.tokens = next;
    if (!this.running) return ['websocket.tokens'];
    const { logger } = this.running;
    const byName = new Map(next.map((t) => [t.name, t]));
    let revoked = 0;
    let narrowed = 0;
    for (const session of this.sessions) {
      if (session.closing) continue;
      const token = byName.get(session.token.name);
      if (token === undefined || token.hash !== session.token.hash) {
        revoked++;
        session.close(CloseCode.PolicyViolation, 'token revoked');
        continue;
      }
      session.token = token;
      for (const [wsRoom, membership] of [...session.memberships]) {
        if (!isDirectAddress(wsRoom) && !mayUse(token, membership.room) && this.evict(session, wsRoom, 'forbidden')) narrowed++;
      }
      for (const room of [...session.subscriptions.keys()]) {
        if (token.scope === 'bot' && mayUse(token, room)) continue;
        narrowed++;
        this.unfollow(session, room, 'forbidden');
      }
    }
    logger.info({ tokens: next.length, revoked, narrowed }, 'websocket tokens reloaded');
    return ['websocket.tokens'];
  }

  /** Takes a session out of a WS room it may no longer be in, and tells it why (`left` without `ref`). False: it was not joined. */
  private evict(session: Session, wsRoom: string, reason: NonNullable<LeftFrame['reason']>): boolean {
    if (!this.live.outbound.leave(session, wsRoom)) return false;
    session.send({ type: 'left', room: wsRoom, reason });
    return true;
  }

  /** Ends a stream subscription the session may no longer have, and tells it why (`unsubscribed` without `ref`). */
  private unfollow(session: Session, room: string, reason: NonNullable<UnsubscribedFrame['reason']>): void {
    void this.live.outbound.unsubscribe(session, room).then(
      () => { if (!session.closing) session.send({ type: 'unsubscribed', room, reason }); },
      (err: unknown) => this.live.logger.warn({ err, room }, 'closing a stream subscription failed'),
    );
  }

  health(): ConnectorHealth {
    return { status: this.running ? 'ok' : 'down', detail: { connections: this.sessions.size } };
  }

  describe(): readonly ConnectorListing[] {
    return this.running ? [{ label: 'WebSocket', value: this.wsUrl }] : [];
  }

  private get live(): Running {
    if (!this.running) throw new Error('websocket connector is not started');
    return this.running;
  }

  /** For requests on config.path: authenticates, then completes the upgrade or answers 401/403/503 with a JSON body. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.live.logger.debug({ err }, 'upgrade socket error'));
    if (!this.accepting) return this.refuse(socket, 503, ErrorCode.Unavailable, 'server is shutting down');
    const decision = authorizeUpgrade(req, this.tokens, this.config.allowedOrigins);
    if (!decision.ok) return this.refuse(socket, decision.status, decision.code, decision.message);
    if (this.sessions.size + this.pendingUpgrades >= this.config.maxConnections) {
      return this.refuse(socket, 503, ErrorCode.Unavailable, 'too many connections');
    }
    // Counted from here, so a burst of upgrades cannot pass maxConnections; released even if ws aborts the handshake.
    this.pendingUpgrades++;
    let pending = true;
    const settle = () => { if (pending) { pending = false; this.pendingUpgrades--; } };
    socket.once('close', settle);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      settle();
      this.onConnection(ws, decision.token, req, socket);
    });
  }

  /** New upgrades get 503 from now on (shutdown); open connections are untouched. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /**
   * Shutdown: no new upgrades; the egress batch in hand is finished and consumption stops (the
   * rest stays on the bus for the next consumer); frames already received get their answers; then
   * every client is told 1001 'going away' and may reconnect elsewhere with its cursors.
   */
  close(deadline = Date.now() + 10_000): Promise<void> {
    return (this.closing ??= this.shutdown(deadline));
  }

  private async shutdown(deadline: number): Promise<void> {
    this.stopAccepting();
    const running = this.running;
    if (!running) return;
    clearInterval(running.heartbeat);
    // The delivery batch in hand is finished and the frames already received are answered (their
    // acks) before clients hear 1001 - but only for so long: with the bus stalled (Redis hanging)
    // the clients must still hear 1001 before the app's deadline, with time for the handshake.
    const sessions = [...this.sessions];
    for (const s of sessions) s.stopReading();
    const graceMs = Math.max(0, Math.min(SHUTDOWN_IDLE_MS, (deadline - Date.now()) / 2));
    const finished = Promise.all([running.egress.close(), running.delivery.close(), running.directIndex.idle(), running.topics.idle(), ...sessions.map((s) => s.idle())]);
    await Promise.race([finished, sleep(graceMs, undefined, { ref: false })]);
    const closed = sessions.map((s) => new Promise<void>((resolve) => {
      if (s.ws.readyState === s.ws.CLOSED) resolve();
      else s.ws.once('close', () => resolve());
    }));
    for (const s of sessions) {
      s.close(CloseCode.GoingAway, 'going away');
      s.ws.resume(); // read again, or the client's answering close frame is never seen
    }
    const handshakeMs = Math.max(0, Math.min(CLOSE_TIMEOUT_MS, deadline - Date.now()));
    await Promise.race([Promise.all(closed), sleep(handshakeMs, undefined, { ref: false })]);
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
    running.metrics.connections.set(0);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    running.logger.info('websocket connector closed');
  }

  private refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
    this.live.metrics.upgradesRefused.inc({ code });
    this.live.logger.info({ status, code, reason: message }, 'websocket upgrade refused');
    refuseUpgrade(socket, status, code, message);
  }

  // Called back synchronously by handleUpgrade (no verifyClient): no reload comes between the
  // token check and this, so the token is the one in force.
  private onConnection(ws: WebSocket, token: TokenConfig, req: IncomingMessage, socket: Duplex): void {
    const session = new Session(ws, token, this.limits, this.live.metrics, this.live.logger, (s) => this.live.outbound.forget(s), socket);
    this.sessions.add(session);
    this.live.metrics.connections.set(this.sessions.size);
    this.live.logger.info({ session: session.id, user: token.name, scope: token.scope, remote: req.socket.remoteAddress }, 'websocket connected');

    ws.on('pong', () => { session.alive = true; });
    ws.on('message', (data, isBinary) => this.onFrame(session, data, isBinary));
    ws.on('error', (err) => this.live.logger.info({ session: session.id, err: err.message }, 'websocket protocol error'));
    ws.on('close', (code, reason) => {
      session.gone();
      this.sessions.delete(session);
      this.live.metrics.connections.set(this.sessions.size);
      this.live.logger.info({ session: session.id, user: token.name, code, reason: reason.toString() }, 'websocket disconnected');
    });
    if (!this.config.directMessages) {
      session.send(this.hello(session, []));
      return;
    }
    // The session receives its token's direct chats (no join needed) from now on; they wait until
    // the hello, which lists the chats the token has, is out. Frames the client sends meanwhile
    // queue behind it.
    const live = this.live;
    live.outbound.addUser(session);
    session.enqueue(async () => {
      const directChats = await live.directIndex.list(token.name);
      session.send(this.hello(session, directChats));
      live.outbound.releaseDirect(session);
    });
  }

  private hello(session: Session, directChats: string[]): HelloFrame {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      session: session.id,
      user: session.token.name,
      scope: session.token.scope,
      moderator: session.token.moderator,
      ...this.roomsOf(session),
      directMessages: this.config.directMessages,
      directChats,
      limits: {
        maxPayloadBytes: this.config.maxPayloadBytes,
        ratePerSecond: this.config.rateLimit.perSecond,
        rateBurst: this.config.rateLimit.burst,
        heartbeatMs: this.config.heartbeatMs,
        maxBufferedBytes: this.config.maxBufferedBytes,
      },
    };
  }

  /** The WS rooms the session's token may join, the streams it may follow and the rooms of those bridged one way: from the tables in force. */
  private roomsOf(session: Session): Pick<HelloFrame, 'rooms' | 'streams' | 'directions'> {
    const { router } = this.live;
    const allowed = router.rooms.filter((room) => mayUse(session.token, room));
    const rooms = allowed.flatMap((room) => router.endpointsOf(room).filter((ep) => ep.connector === CONNECTOR).map((ep) => ep.address));
    const directions: HelloFrame['directions'] = {};
    for (const address of rooms) {
      const direction = router.directionOf({ connector: CONNECTOR, address });
      if (direction !== 'both') directions[address] = direction;
    }
    return { rooms, streams: session.token.scope === 'bot' ? allowed : [], directions };
  }

  private onFrame(session: Session, data: RawData, isBinary: boolean): void {
    if (session.closing) return;
    const taken = session.bucket.take();
    if (taken === 'empty') {
      this.live.metrics.framesIn.inc({ type: 'rate_limited' });
      // A client that keeps sending through a whole burst's worth of rate_limited errors without
      // ever pausing (the count only resets once the bucket has refilled completely) is not
      // listening: cut it off. Sustained overflow reaches this too, not only a solid wall of drops.
      if (++session.rateDrops > this.config.rateLimit.burst) {
        session.close(CloseCode.PolicyViolation, 'rate limit exceeded');
        return;
      }
      // A dropped frame is not parsed: its ref is looked up in its first bytes only (bounded work).
      session.sendError(refOf(data, isBinary), ErrorCode.RateLimited, `more than ${this.config.rateLimit.perSecond} frames per second; frame dropped`);
      return;
    }
    if (taken === 'taken-full') session.rateDrops = 0;
    const text = isBinary ? undefined : rawText(data);
    if (text === undefined) {
      this.live.metrics.framesIn.inc({ type: 'binary' });
      session.sendError(undefined, ErrorCode.BadFrame, 'binary frames are not supported: send JSON text frames');
      return;
    }
    const parsed = parseClientFrame(text);
    this.live.metrics.framesIn.inc({ type: parsed.ok ? parsed.frame.type : 'invalid' });
    if (!parsed.ok) {
      this.live.logger.debug({ session: session.id, code: parsed.code, reason: parsed.message }, 'bad client frame');
      session.sendError(parsed.ref, parsed.code, parsed.message);
      return;
    }
    session.enqueue(async () => {
      try {
        // Only sends overlap (see publishFromClient); anything else first lets earlier answers out.
        if (parsed.frame.type !== 'send') await session.answered();
        await this.dispatch(session, parsed.frame);
      } catch (err) {
        if (this.live?.bus.isUnavailable?.(err) === true) {
          // The bus is out of reach (Redis away): the frame did nothing, and the same frame may work later.
          this.live.logger.warn({ err, session: session.id, type: parsed.frame.type }, 'websocket frame not handled: the bus is unavailable');
          session.sendError(parsed.frame.ref, ErrorCode.Unavailable, 'the bus is unavailable; try again later');
        } else {
          this.live?.logger.error({ err, session: session.id, type: parsed.frame.type }, 'websocket frame handler failed');
          session.sendError(parsed.frame.ref, ErrorCode.Internal, 'internal error; the frame may not have been handled');
        }
      }
      // Answers count against the buffer too: a client that sends but never reads waits here (its
      // socket stops being read once its queue is full) and is cut off if it never drains.
      await session.drain();
    });
  }

  private async dispatch(session: Session, frame: ClientFrame): Promise<void> {
    if (session.closing) return;
    const ref = frame.ref;
    const fail = async (code: ErrorCode, message: string, room?: string): Promise<void> => {
      this.live.logger.debug({ session: session.id, type: frame.type, code, reason: message }, 'client frame refused');
      await session.answered(); // after the acks of earlier sends still in flight
      session.sendError(ref, code, message, room);
    };
    switch (frame.type) {
      case 'ping':
        session.send({ type: 'pong', ...(ref !== undefined ? { ref } : {}) });
        return;
      case 'history': {
        // A bot may page a canonical room's stream (`stream: true`), as it follows one with subscribe.
        const place = frame.stream === true ? this.followedStream(frame.room, session, 'history of a stream')
          : isDirectAddress(frame.room) ? this.directChat(frame.room, session) : this.bridgedRoom(frame.room, session);
        if (!place.ok) return fail(place.code, place.message, frame.room);
        if (frame.before !== undefined && !isCursor(frame.before)) return fail(ErrorCode.BadCursor, 'before: must be a cursor as received in an event, joined or history frame', frame.room);
        const { outbound } = this.live;
        const page = await readHistory(this.live.bus, place.room, frame.before, {
          limit: frame.limit ?? HISTORY_DEFAULT_EVENTS,
          // Half the slow-consumer limit: one answer never gets its own reader cut off.
          maxBytes: Math.min(HISTORY_MAX_BYTES, this.config.maxBufferedBytes / 2),
          // A stream shows everything that entered it; a WS room what live delivery showed it.
          shown: frame.stream === true ? () => true : ({ event }) => outbound.reaches(event, session, place.wsRoom),
          sizeOf: ({ event }) => JSON.stringify(outbound.withFreshLinks(event)).length,
        });
        session.send({ type: 'history', ...(ref !== undefined ? { ref } : {}), room: place.wsRoom,
          events: page.entries.map(({ cursor, event }) => ({ cursor, event: outbound.withFreshLinks(event) })), before: page.before });
        return;
      }
      case 'rooms':
        session.send({ type: 'rooms', ...(ref !== undefined ? { ref } : {}), ...this.roomsOf(session) });
        return;
      case 'join': {
        if (isDirectAddress(frame.room)) {
          const chat = this.directChat(frame.room, session);
          if (!chat.ok) return fail(chat.code, chat.message, frame.room);
          const since = await this.checkSince(frame.since, chat.room);
          if (!since.ok) return fail(since.code, since.message, frame.room);
          // Joined under the canonical spelling: the name the chat's events and hello.directChats use.
          await this.live.outbound.join(session, ref, chat.wsRoom, chat.room, since.cursor);
          return;
        }
        const bridged = this.bridgedRoom(frame.room, session);
        if (!bridged.ok) return fail(bridged.code, bridged.message, frame.room);
        const { room } = bridged;
        const since = await this.checkSince(frame.since, room);
        if (!since.ok) return fail(since.code, since.message, frame.room);
        const topic = await this.live.topics.of(room);
        // bridges/ may have been reloaded during the awaits: a room unlinked or moved meanwhile is
        // not joined (its `left` went out to those joined before).
        if (this.live.router.roomOf({ connector: CONNECTOR, address: frame.room }) !== room) return fail(ErrorCode.UnknownRoom, `the WS room "${frame.room}" was unlinked or moved while joining: join again`, frame.room);
        const place = { connector: CONNECTOR, address: frame.room };
        // A send-only room shows only what is said in it: another network's topic is not shown either.
        const shownTopic = topic !== undefined && this.live.outbound.reaches(topic, session, frame.room) ? { topic } : {};
        await this.live.outbound.join(session, ref, frame.room, room, since.cursor, { ...shownTopic, direction: this.live.router.directionOf(place) });
        return;
      }
      case 'leave': {
        // A direct chat is left under any spelling of its address (it was joined under the canonical one).
        const chat = isDirectAddress(frame.room) ? this.directChat(frame.room, session) : undefined;
        const wsRoom = chat?.ok === true ? chat.wsRoom : frame.room;
        if (!this.live.outbound.leave(session, wsRoom)) return fail(ErrorCode.NotJoined, `not joined to "${frame.room}"`, frame.room);
        session.send({ type: 'left', ...(ref !== undefined ? { ref } : {}), room: wsRoom });
        return;
      }
      case 'send': {
        if (isDirectAddress(frame.room)) {
          const chat = this.directChat(frame.room, session);
          if (!chat.ok) return fail(chat.code, chat.message, frame.room);
          // The token's own name is its party: the event can only ever speak for this token.
          const built = buildEvent(frame.event, session, session.token.name, chat.room);
          if (!built.ok) return fail(ErrorCode.InvalidEvent, built.message, frame.room);
          // Published only if it reaches the person: a network that does not run (or not deliver) here would never see it.
          const reach = directReach(this.live.router, built.event, chat.peer);
          // config.yaml's `ignore:` names this token: said plainly, as it is the operator's own client (a CI bot, say).
          if (reach === 'ignored') return fail(ErrorCode.Forbidden, `what this token sends stays on WebSocket (config.yaml ignore: senders): no direct chat with "${frame.room.slice(0, 80)}"`, frame.room);
          if (reach === 'unreachable') return fail(ErrorCode.UnknownRoom, `no direct chat with "${frame.room.slice(0, 80)}": network "${chat.peer.network}" takes no direct chats here`, frame.room);
          await publishFromClient(this.live.bus, session, built.event, frame.txn, ref, chat.wsRoom, this.live.metrics, this.live.logger);
          return;
        }
        const room = this.live.router.roomOf({ connector: CONNECTOR, address: frame.room });
        if (room === undefined) return fail(ErrorCode.UnknownRoom, `no bridge links the WS room "${frame.room}"`, frame.room);
        if (!session.memberships.has(frame.room)) return fail(ErrorCode.NotJoined, `join "${frame.room}" before sending to it`, frame.room);
        // Nothing said in a receive-only room enters the stream (bridges/ direction): refused whole, edits and reactions too.
        if (this.live.router.directionOf({ connector: CONNECTOR, address: frame.room }) === 'receive-only') {
          return fail(ErrorCode.Forbidden, `the WS room "${frame.room}" is receive-only: it shows what the room's other endpoints say and takes no posts`, frame.room);
        }
        const built = buildEvent(frame.event, session, frame.room, room, Date.now(), { mayModerate: session.token.moderator });
        if (!built.ok) return fail(ErrorCode.InvalidEvent, built.message, frame.room);
        // A topic the bus took is the room's current one (../room-topics.ts).
        await publishFromClient(this.live.bus, session, built.event, frame.txn, ref, frame.room, this.live.metrics, this.live.logger,
          (event) => { if (event.kind === 'topic') this.live.topics.record(event); });
        return;
      }
      case 'subscribe': {
        const stream = this.followedStream(frame.room, session, 'subscribe');
        if (!stream.ok) return fail(stream.code, stream.message, frame.room);
        const since = await this.checkSince(frame.since, frame.room);
        if (!since.ok) return fail(since.code, since.message, frame.room);
        const topic = await this.live.topics.of(frame.room);
        if (!this.live.router.rooms.includes(frame.room)) return fail(ErrorCode.UnknownRoom, `the room "${frame.room}" was unlinked while subscribing`, frame.room);
        await this.live.outbound.subscribe(session, ref, frame.room, since.cursor, topic);
        return;
      }
      case 'unsubscribe':
        if (!(await this.live.outbound.unsubscribe(session, frame.room))) return fail(ErrorCode.NotJoined, `not subscribed to "${frame.room}"`, frame.room);
        session.send({ type: 'unsubscribed', ...(ref !== undefined ? { ref } : {}), room: frame.room });
        return;
    }
  }

  /** A canonical room whose stream this connection's token may follow (a bot's, as for subscribe), or why not. */
  private followedStream(room: string, session: Session, what: string): { ok: true; wsRoom: string; room: string } | { ok: false; code: ErrorCode; message: string } {
    if (session.token.scope !== 'bot') return { ok: false, code: ErrorCode.Forbidden, message: `${what} needs a token with scope bot` };
    if (!this.live.router.rooms.includes(room)) return { ok: false, code: ErrorCode.UnknownRoom, message: `no canonical room "${room}"` };
    if (!mayUse(session.token, room)) return { ok: false, code: ErrorCode.Forbidden, message: `this token may not use room "${room}"` };
    return { ok: true, wsRoom: room, room };
  }

  /** A bridged WS room this connection's token may use, with its canonical room, or why not. */
  private bridgedRoom(wsRoom: string, session: Session): { ok: true; wsRoom: string; room: string } | { ok: false; code: ErrorCode; message: string } {
    const room = this.live.router.roomOf({ connector: CONNECTOR, address: wsRoom });
    if (room === undefined) return { ok: false, code: ErrorCode.UnknownRoom, message: `no bridge links the WS room "${wsRoom}"` };
    if (!mayUse(session.token, room)) return { ok: false, code: ErrorCode.Forbidden, message: `this token may not use room "${wsRoom}"` };
    return { ok: true, wsRoom, room };
  }

  /** A direct chat's WS room (`@<network>:<id>`) for this connection's token, or why there is none. */
  private directChat(wsRoom: string, session: Session): (DirectChat & { ok: true }) | { ok: false; code: ErrorCode; message: string } {
    if (!this.config.directMessages) return { ok: false, code: ErrorCode.Forbidden, message: 'direct chats are off on this server (websocket.directMessages: false)' };
    const chat = resolveDirect(session.token.name, wsRoom);
    return chat.ok ? chat : { ok: false, code: ErrorCode.UnknownRoom, message: chat.message };
  }

  /**
   * A `since` as the outbound side takes it: undefined (from now), START_CURSOR for null (no
   * cursor yet: everything retained), or a cursor of the room's stream. A cursor after the
   * stream's newest event (the stream was reset, or the cursor is another deployment's) would
   * silently wait for events that may never come after it: refused with cursor_ahead, unless the
   * bus says what came after it is gone (a memory bus restarted since that cursor): then it is
   * taken, and the replay answers cursor_expired.
   */
  private async checkSince(since: string | null | undefined, room: string): Promise<{ ok: true; cursor: Cursor | undefined } | { ok: false; code: ErrorCode; message: string }> {
    if (since === undefined) return { ok: true, cursor: undefined };
    if (since === null) return { ok: true, cursor: START_CURSOR };
    if (!isCursor(since)) return { ok: false, code: ErrorCode.BadCursor, message: 'since: must be a cursor as received in an event, joined or subscribed frame, or null' };
    const latest = await this.live.bus.latestCursor(room);
    if ((latest === undefined || compareCursors(since, latest) > 0) && !(await this.live.bus.readStream(room, since, 1)).truncated) {
      return { ok: false, code: ErrorCode.CursorAhead, message: 'since: is after the newest event of the room (the stream was reset, or the cursor is from elsewhere): join without since, or with since null for everything retained' };
    }
    return { ok: true, cursor: since };
  }

  /** Heartbeat: a socket that did not answer the previous ping is dead (half-open TCP): drop it. */
  private beat(): void {
    for (const session of this.sessions) {
      if (!session.alive) {
        this.live.metrics.closes.inc({ reason: 'heartbeat timeout' });
        this.live.logger.info({ session: session.id }, 'websocket heartbeat timed out');
        session.gone();
        session.ws.terminate();
        continue;
      }
      session.alive = false;
      session.ws.ping();
    }
  }
}

function mayUse(token: TokenConfig, room: string): boolean {
  return token.rooms.includes('*') || token.rooms.includes(room);
}

const REF_IN_PREFIX = /"ref"\s*:\s*"([^"\\]{0,64})"/;

/** The `ref` of a frame from its first 256 bytes, without parsing it (for frames dropped unread). */
function refOf(data: RawData, isBinary: boolean): string | undefined {
  if (isBinary) return undefined;
  const bytes = Array.isArray(data) ? data[0] : data instanceof ArrayBuffer ? Buffer.from(data) : data;
  if (!bytes) return undefined;
  return REF_IN_PREFIX.exec(bytes.subarray(0, 256).toString('utf8'))?.[1];
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
}
