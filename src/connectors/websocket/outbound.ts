import { FreshLinks, type AttachmentLinks } from './fresh-links.ts';
import type { Logger } from '../../core/logger.ts';
import type { CanonicalEvent } from '../../core/event.ts';
import { ErrorCode } from '../../core/errors.ts';
import type { Bus, Delivery } from '../../bus/types.ts';
import { compareCursors, START_CURSOR, type Cursor } from '../../core/endpoint.ts';
import type { Direction, RoutingView } from '../../core/endpoint.ts';
import { isDirectRoom } from '../../core/direct.ts';
import { type Membership, type Session, type Subscription } from './session.ts';
import { CONNECTOR } from './inbound.ts';
import { addressFor, isDirectAddress } from './direct.ts';

/** Stream entries read per page while replaying. */
const REPLAY_PAGE = 256;
/** Live deliveries one membership may hold while its replay runs; past this the client is too far behind. */
const MAX_BACKLOG = 10_000;
/**
 * Event-loop turns a congested socket gets to hand its output to the kernel before it is judged
 * slow. Turns, not time: the loop keeps serving every other socket meanwhile, and nothing more is
 * queued on any socket until the verdict, so a socket's output stays under the limit plus one frame.
 */
const SETTLE_TURNS = 16;
/**
 * Direct chats one session keeps a cursor for at most (each opened by its first event): past this
 * the least recently opened is forgotten, which costs at most a repeated event if it is
 * re-delivered later (a takeover, a resync).
 */
const MAX_DIRECT_MEMBERSHIPS = 1_024;

/**
 * Canonical events -> `event` frames. Knows which sessions joined which WS room, and keeps each
 * membership's stream gap-free and duplicate-free: live deliveries wait while a replay runs, and
 * anything at or before the membership's last cursor is dropped (that also absorbs re-deliveries
 * after a restart of the bus consumer).
 */
export class Outbound {
  private readonly members = new Map<string, Set<Session>>();
  /** Sessions by token name: a direct chat reaches every session of its token, joined or not. */
  private readonly users = new Map<string, Set<Session>>();

  private readonly fresh: FreshLinks;

  constructor(private readonly bus: Bus, private readonly router: RoutingView, private readonly logger: Logger, links?: AttachmentLinks) {
    this.fresh = new FreshLinks(links);
  }

  /** The event as a client gets it now: media links the store signed are renewed (fresh-links.ts). */
  withFreshLinks(event: CanonicalEvent): CanonicalEvent {
    return this.fresh.of(event);
  }

  /** The egress handler of 'websocket'. Never waits for a socket and never throws: one slow client must not hold up the others. */
  readonly deliver = async (deliveries: readonly Delivery[]): Promise<void> => {
    const congested = new Set<Session>();
    for (const { event, target, cursor } of deliveries) {
      if (target.connector !== CONNECTOR) continue;
      if (isDirectRoom(event.room)) {
        this.deliverDirect(event, target.address, cursor, congested);
        if (congested.size > 0) await settle(congested);
        continue;
      }
      const sessions = this.members.get(target.address);
      if (!sessions) continue;
      for (const session of sessions) {
        if (isOwnEvent(session, event)) continue; // it got an ack instead
        const membership = session.memberships.get(target.address);
        if (!membership) continue;
        this.offer(session, membership, cursor, event);
        if (session.overLimit()) congested.add(session);
      }
      if (congested.size > 0) await settle(congested);
    }
  };

  /**
   * A direct-chat delivery to token `user`: to every session of that token, under the WS room
   * named after the other party. Each session gets a membership for the chat on its first event
   * (no join needed), which then keeps it gap- and duplicate-free like a joined room.
   */
  private deliverDirect(event: CanonicalEvent, user: string, cursor: Cursor, congested: Set<Session>): void {
    const sessions = this.users.get(user);
    const wsRoom = addressFor(user, event.room);
    if (!sessions || wsRoom === undefined) return;
    for (const session of sessions) {
      if (isOwnEvent(session, event)) continue; // it got an ack instead
      if (session.directHeld) {
        session.directHeld.push({ wsRoom, room: event.room, cursor, event });
        if (session.directHeld.length > MAX_BACKLOG) session.closeSlow();
        continue;
      }
      const membership = session.memberships.get(wsRoom) ?? this.openDirect(session, wsRoom, event.room);
      this.offer(session, membership, cursor, event);
      if (session.overLimit()) congested.add(session);
    }
  }

  private openDirect(session: Session, wsRoom: string, room: string): Membership {
    const membership: Membership = { wsRoom, room, lastCursor: undefined, replaying: false, stale: false, backlog: [] };
    let direct = 0;
    let oldest: string | undefined;
    for (const [name, m] of session.memberships) {
      if (!isDirectAddress(name)) continue;
      direct++;
      if (oldest === undefined && !m.replaying) oldest = name;
    }
    if (direct >= MAX_DIRECT_MEMBERSHIPS && oldest !== undefined) session.memberships.delete(oldest);
    session.memberships.set(wsRoom, membership);
    return membership;
  }

  /**
   * A new session of a token: it receives the token's direct chats from now on. What arrives
   * before its hello went out waits (`session.directHeld`) until releaseDirect, so no event
   * frame precedes the hello and nothing falls between the hello's list and live delivery.
   */
  addUser(session: Session): void {
    session.directHeld = [];
    let sessions = this.users.get(session.token.name);
    if (!sessions) this.users.set(session.token.name, sessions = new Set());
    sessions.add(session);
  }

  /** The session's hello is out: what waited goes out now, in order. */
  releaseDirect(session: Session): void {
    const held = session.directHeld ?? [];
    session.directHeld = undefined;
    for (const { wsRoom, room, cursor, event } of held) {
      const membership = session.memberships.get(wsRoom) ?? this.openDirect(session, wsRoom, room);
      this.offer(session, membership, cursor, event);
    }
    if (session.overLimit()) void settle(new Set([session]));
  }

  /**
   * Joins a session to a WS room: answers `joined`, then (with `since`) replays what it missed and
   * switches to live without a gap or a duplicate. Without `since` it starts at the room's newest cursor.
   * A direct chat (`@<network>:<id>`) is joined the same way to resume it; its live events reach
   * the session whether it joined or not.
   */
  async join(session: Session, ref: string | undefined, wsRoom: string, room: string, since: Cursor | undefined, about: { topic?: CanonicalEvent; direction?: Direction } = {}): Promise<void> {
    const membership: Membership = { wsRoom, room, lastCursor: since, replaying: true, stale: false, backlog: [] };
    const shown = {
      ...(about.topic !== undefined ? { topic: this.fresh.of(about.topic) } : {}),
      ...(about.direction !== undefined && about.direction !== 'both' ? { direction: about.direction } : {}),
    };
    // Register before reading the stream: whatever is appended from now on is either read or delivered.
    this.leave(session, wsRoom);
    session.memberships.set(wsRoom, membership);
    if (!isDirectAddress(wsRoom)) {
      let sessions = this.members.get(wsRoom);
      if (!sessions) this.members.set(wsRoom, sessions = new Set());
      sessions.add(session);
    }

    if (since === undefined) {
      membership.lastCursor = await this.bus.latestCursor(room);
      if (!this.isCurrent(session, membership)) return;
      session.send({ type: 'joined', ...(ref !== undefined ? { ref } : {}), room: wsRoom, cursor: membership.lastCursor ?? null, ...shown });
    } else {
      session.send({ type: 'joined', ...(ref !== undefined ? { ref } : {}), room: wsRoom, cursor: since === START_CURSOR ? null : since, ...shown });
    }
    // The catch-up runs on its own: the session's next frames (a send, a ping) need not wait for a long replay.
    this.startCatchUp(session, membership, since, ref);
  }

  /**
   * Live deliveries to this instance may have been lost (the fan-out from the instance consuming
   * egress was interrupted): every membership here reads its room's stream from its last cursor,
   * as a `join` with `since` would, then goes live again. Nothing is answered; duplicates are dropped.
   */
  resyncAll(): void {
    for (const [wsRoom, sessions] of this.members) {
      for (const session of sessions) {
        const membership = session.memberships.get(wsRoom);
        if (membership) this.resync(session, membership);
      }
    }
    // Direct chats a session already has. One whose very first event was lost here is not known
    // to the session: it learns of it with the chat's next event (docs/websocket-protocol.md).
    for (const sessions of this.users.values()) {
      for (const session of sessions) {
        for (const membership of session.memberships.values()) if (isDirectAddress(membership.wsRoom)) this.resync(session, membership);
      }
    }
  }

  private resync(session: Session, membership: Membership): void {
    membership.stale = true;
    if (membership.replaying) return; // the catch-up in progress reads the stream again before going live
    membership.replaying = true;
    this.startCatchUp(session, membership, undefined, undefined);
  }

  private startCatchUp(session: Session, membership: Membership, since: Cursor | undefined, ref: string | undefined): void {
    void this.catchUp(session, membership, since, ref).catch((err: unknown) => {
      // A half-joined room would hold deliveries forever: leave it and say so, the client re-joins from its cursor.
      this.logger.warn({ err, session: session.id, room: membership.wsRoom }, 'replay failed');
      if (session.memberships.get(membership.wsRoom) !== membership) return;
      this.leave(session, membership.wsRoom);
      session.sendError(ref, ErrorCode.Unavailable, 'reading the room\'s stream failed; you are no longer joined: join again with your last cursor', membership.wsRoom);
    });
  }

  /**
   * Replays from `since` (if any), then hands over to live: what arrived meanwhile goes out first,
   * paced like the replay. A membership marked stale meanwhile reads the stream again first: the
   * backlog may lack what was lost, and pushing a newer backlog entry first would skip it for good.
   */
  private async catchUp(session: Session, membership: Membership, since: Cursor | undefined, ref: string | undefined): Promise<void> {
    if (since !== undefined) await this.replay(session, membership, since, ref);
    // Deliveries keep joining the backlog until it is empty, so nothing overtakes.
    for (;;) {
      if (!this.isCurrent(session, membership)) return;
      if (membership.stale) {
        membership.stale = false;
        await this.replay(session, membership, membership.lastCursor, undefined);
        continue;
      }
      const entry = membership.backlog.shift();
      if (!entry) break;
      if (!this.push(session, membership, entry.cursor, entry.event) || !(await session.drain())) return;
    }
    membership.replaying = false;
  }

  /** Leaves a WS room; returns whether the session was in it. */
  leave(session: Session, wsRoom: string): boolean {
    const had = session.memberships.delete(wsRoom);
    const sessions = this.members.get(wsRoom);
    sessions?.delete(session);
    if (sessions?.size === 0) this.members.delete(wsRoom);
    return had;
  }

  /** Bot scope: follows a canonical room's stream from `since` (or from now), as `event` frames. */
  async subscribe(session: Session, ref: string | undefined, room: string, since: Cursor | undefined, topic?: CanonicalEvent): Promise<void> {
    await this.unsubscribe(session, room);
    const start = since ?? await this.bus.latestCursor(room);
    // Answered like join: `subscribed` first, then (non-fatal) cursor_expired, then the events.
    const expired = since !== undefined && (await this.bus.readStream(room, since, 1)).truncated;
    if (session.closing) return;
    const subscription: Subscription = { room, lastCursor: start, stream: undefined };
    session.subscriptions.set(room, subscription);
    session.send({ type: 'subscribed', ...(ref !== undefined ? { ref } : {}), room, cursor: start === undefined || start === START_CURSOR ? null : start,
      ...(topic !== undefined ? { topic: this.fresh.of(topic) } : {}) });
    if (expired) session.sendError(ref, ErrorCode.CursorExpired, 'events after this cursor are no longer retained; continuing from the oldest retained one', room);
    subscription.stream = this.bus.subscribeStream(room, start, async (entries) => {
      for (const { cursor, event } of entries) {
        if (session.subscriptions.get(room) !== subscription) return;
        if (subscription.lastCursor !== undefined && compareCursors(cursor, subscription.lastCursor) <= 0) continue;
        subscription.lastCursor = cursor;
        if (!session.send({ type: 'event', room, cursor, event: this.fresh.of(event) })) return;
        if (!(await session.drain())) return;
      }
    });
  }

  async unsubscribe(session: Session, room: string): Promise<boolean> {
    const subscription = session.subscriptions.get(room);
    if (!subscription) return false;
    session.subscriptions.delete(room);
    await subscription.stream?.close();
    return true;
  }

  /** Takes a closing session out of everything at once, so nothing more is sent to it. */
  forget(session: Session): void {
    const sessions = this.users.get(session.token.name);
    sessions?.delete(session);
    if (sessions?.size === 0) this.users.delete(session.token.name);
    for (const wsRoom of [...session.memberships.keys()]) this.leave(session, wsRoom);
    for (const room of [...session.subscriptions.keys()]) {
      void this.unsubscribe(session, room).catch((err: unknown) => this.logger.warn({ err, room }, 'closing a stream subscription failed'));
    }
  }

  /** WS rooms with at least one session here (for tests and stats). */
  get activeRooms(): number {
    return this.members.size;
  }

  private offer(session: Session, membership: Membership, cursor: Cursor, event: CanonicalEvent): void {
    if (!membership.replaying) {
      this.push(session, membership, cursor, event);
      return;
    }
    membership.backlog.push({ cursor, event });
    if (membership.backlog.length > MAX_BACKLOG) session.closeSlow();
  }

  /** Sends one event unless the membership already has it. */
  private push(session: Session, membership: Membership, cursor: Cursor, event: CanonicalEvent): boolean {
    if (membership.lastCursor !== undefined && compareCursors(cursor, membership.lastCursor) <= 0) return true;
    membership.lastCursor = cursor;
    return session.send({ type: 'event', room: membership.wsRoom, cursor, event: this.fresh.of(event) });
  }

  /** Sends what the membership missed after `since` (undefined: from the oldest retained), paced by the socket, page by page up to the stream's end. */
  private async replay(session: Session, membership: Membership, since: Cursor | undefined, ref: string | undefined): Promise<void> {
    let position = since;
    let first = true;
    for (;;) {
      const read = await this.bus.readStream(membership.room, position, REPLAY_PAGE);
      if (!this.isCurrent(session, membership)) return;
      if (first && read.truncated) {
        session.sendError(ref, ErrorCode.CursorExpired, 'events after this cursor are no longer retained; continuing from the oldest retained one', membership.wsRoom);
      }
      first = false;
      if (read.entries.length === 0) return;
      for (const { cursor, event } of read.entries) {
        position = cursor;
        if (isOwnEvent(session, event) || !this.reaches(event, session, membership.wsRoom)) continue;
        if (!this.push(session, membership, cursor, event)) return;
        if (!(await session.drain()) || !this.isCurrent(session, membership)) return;
      }
    }
  }

  /**
   * Whether live delivery sends this event to this WS room (for a direct chat: to the token): what
   * a replay and a history page send too.
   */
  reaches(event: CanonicalEvent, session: Session, wsRoom: string): boolean {
    const address = isDirectAddress(wsRoom) ? session.token.name : wsRoom;
    return this.router.route(event).some((ep) => ep.connector === CONNECTOR && ep.address === address);
  }

  private isCurrent(session: Session, membership: Membership): boolean {
    return !session.closing && session.memberships.get(membership.wsRoom) === membership;
  }
}

/** Gives congested sockets a few turns of the event loop to flush, then cuts off those still over the limit. */
async function settle(congested: Set<Session>): Promise<void> {
  const stillOver = () => [...congested].some((s) => !s.closing && s.overLimit());
  for (let turn = 0; turn < SETTLE_TURNS && stillOver(); turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  for (const session of congested) if (!session.closing && session.overLimit()) session.closeSlow();
  congested.clear();
}

function isOwnEvent(session: Session, event: CanonicalEvent): boolean {
  return event.origin.connector === CONNECTOR && event.origin.session === session.id;
}
