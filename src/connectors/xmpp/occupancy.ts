import { randomBytes } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import { NS } from './ns.ts';
import type { Logger } from '../../core/logger.ts';
import { parseJid } from './address.ts';
import { asciiNick } from './nick-prep.ts';
import { nickForAttempt } from './puppets.ts';
import { buildMucJoin, buildMucLeave, buildPresence, isSelfPresence, MucStatus, removalReason, type InboundPresence } from './stanza/presence.ts';
import type { CanonicalPresenceState } from './stanza/presence.ts';

/**
 * Our occupants in MUC rooms (the relay and the puppets): joining (XEP-0045 §7.2 with
 * maxstanzas=0), nick conflicts (409: the next nick, never fatal), nick changes by the room (210,
 * 303), removals (kick, affiliation, shutdown: the next send joins again) and the stream's loss
 * (everyone is out; joins happen again when needed). One join in flight per occupant: concurrent
 * sends wait for the same join.
 */

export interface OccupancyOptions {
  joinTimeoutMs: number;
  /** Nick attempts before a join is given up (the delivery is then retried by the bus). */
  maxNickAttempts: number;
}

type State = 'joining' | 'joined' | 'out';

/** The parts of an occupant's presence that later presences must repeat (a presence replaces the previous one whole). */
export interface Shown {
  readonly state?: Exclude<CanonicalPresenceState, 'offline'>;
  readonly status?: string;
  /** XEP-0153 photo hash. */
  readonly photo?: string;
}

interface Occupancy {
  room: string;
  realJid: string;
  baseNick: string;
  network: string;
  nick: string;
  attempt: number;
  /** The room refused the base nick as malformed, so the attempts go on with its plainest form (asciiNick). */
  plain: boolean;
  state: State;
  /** What our presence in the room says (show/status, XEP-0153 avatar hash): a join and every update carry all of it. */
  shown: Shown;
  /** What the last presence we sent for it carried (its join, or an update). */
  announced?: Shown;
  joined?: Promise<string>;
  settle?: { resolve: (nick: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout };
}

export class JoinError extends Error {
  constructor(readonly room: string, readonly condition: string) {
    super(`could not join ${room}: ${condition}`);
    this.name = 'JoinError';
  }
}

export class Occupancies {
  private readonly byKey = new Map<string, Occupancy>();
  /**
   * Leaves sent and not yet answered by the room (its unavailable self-presence). A join of the
   * same occupant waits for the answer: sent before it, the join's own answer could not be told
   * from the answers to the join and the leave before it (a link undone and done again at once).
   */
  private readonly leaving = new Map<string, { done: Promise<void>; finish: () => void }>();

  constructor(
    private readonly send: (el: Element) => Promise<void>,
    private readonly opts: OccupancyOptions,
    private readonly log: Logger,
    /** Told when one of ours was removed from a room (kick, shutdown...): the relay uses it to come back. */
    private readonly onRemoved: (room: string, realJid: string, reason: string) => void = () => {},
  ) {}

  private static key(room: string, realJid: string): string {
    return `${room}\n${realJid}`;
  }

  /** Joins `room` as `realJid` (if not joined) and resolves with the nick it has there. */
  ensureJoined(room: string, realJid: string, baseNick: string, network: string): Promise<string> {
    const key = Occupancies.key(room, realJid);
    const leaving = this.leaving.get(key);
    if (leaving) return leaving.done.then(() => this.ensureJoined(room, realJid, baseNick, network));
    let occ = this.byKey.get(key);
    if (occ?.state === 'joined') return Promise.resolve(occ.nick);
    if (occ?.state === 'joining' && occ.joined) return occ.joined;
    if (!occ) {
      occ = { room, realJid, baseNick, network, nick: baseNick, attempt: 0, plain: false, state: 'out', shown: {} };
      this.byKey.set(key, occ);
    }
    occ.baseNick = baseNick;
    occ.attempt = 0;
    occ.plain = false;
    return this.join(occ);
  }

  private join(occ: Occupancy): Promise<string> {
    occ.state = 'joining';
    occ.nick = nickForAttempt(occ.baseNick, occ.network, occ.attempt);
    occ.joined = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(occ, 'remote-server-timeout'), this.opts.joinTimeoutMs);
      occ.settle = { resolve, reject, timer };
    });
    occ.joined.catch(() => { /* the caller that asked for it sees the rejection */ });
    occ.announced = occ.shown;
    this.send(buildMucJoin(occ.realJid, `${occ.room}/${occ.nick}`, occ.shown)).catch((err: Error) => this.fail(occ, `send failed: ${err.message}`));
    return occ.joined;
  }

  private fail(occ: Occupancy, condition: string): void {
    const settle = occ.settle;
    occ.settle = undefined;
    occ.state = 'out';
    occ.joined = undefined;
    if (!settle) return;
    clearTimeout(settle.timer);
    settle.reject(new JoinError(occ.room, condition));
  }

  /**
   * Our join created the room (XEP-0045 201: it did not exist). The server keeps a new room locked
   * until its owner configures it (§10.1; Prosody: up to 300 s, and everyone else who tries to
   * join gets item-not-found meanwhile), so we accept its default configuration at once (an
   * instant room, §10.1.2), as a person's client would. Sent before anything else of ours on the
   * stream, so the room is open for the joins and messages that follow.
   */
  private unlockCreatedRoom(occ: Occupancy): void {
    this.log.warn({ room: occ.room }, 'the linked room did not exist: our join created it, with the server\'s default configuration (create and configure linked rooms beforehand to choose it)');
    const form = xml('iq', { type: 'set', from: occ.realJid, to: occ.room, id: `sb-instant-${randomBytes(6).toString('base64url')}` },
      xml('query', { xmlns: NS.mucOwner }, xml('x', { xmlns: NS.dataForms, type: 'submit' })));
    this.send(form).catch((err: Error) => this.log.warn({ room: occ.room, err: err.message }, 'the created room could not be unlocked; it stays locked until the server gives up on it'));
  }

  private succeed(occ: Occupancy, nick: string): void {
    occ.nick = nick;
    occ.state = 'joined';
    // What changed while the join was on its way (a presence, an avatar) was not in the join.
    if (occ.announced !== occ.shown) {
      this.announce(occ).catch((err: Error) => this.log.debug({ room: occ.room, err: err.message }, 'our occupant\'s changed presence was not sent after its join'));
    }
    const settle = occ.settle;
    occ.settle = undefined;
    if (!settle) return;
    clearTimeout(settle.timer);
    settle.resolve(nick);
  }

  /** Handles a presence from a room to one of ours. Returns false if it is not about our occupancy. */
  onPresence(p: InboundPresence): boolean {
    const from = parseJid(p.from);
    if (!from || !from.resource) return false;
    const room = from.bare().toString();
    const key = Occupancies.key(room, p.to);
    const occ = this.byKey.get(key);
    if (!occ) {
      // The room's answer to our leave: a join waiting for it may go now.
      const leaving = this.leaving.get(key);
      if (!leaving || p.type !== 'unavailable' || !isSelfPresence(p)) return false;
      leaving.finish();
      return true;
    }
    const nick = from.resource;
    if (p.type === 'error') {
      if (occ.state !== 'joining' || nick !== occ.nick) return true;
      if (p.errorCondition === 'conflict' && occ.attempt + 1 < this.opts.maxNickAttempts) {
        // XEP-0045 §7.2.9: the nick is taken. Try the next one; a settle in flight stays with the caller.
        occ.attempt++;
        const settle = occ.settle;
        occ.settle = undefined;
        if (settle) clearTimeout(settle.timer);
        this.log.info({ room, nick, next: nickForAttempt(occ.baseNick, occ.network, occ.attempt) }, 'nick taken in room; trying the next');
        this.join(occ).then((n) => settle?.resolve(n), (err: Error) => settle?.reject(err));
        return true;
      }
      if (p.errorCondition === 'jid-malformed' && !occ.plain) {
        // A server whose rules are stricter than those puppetNick keeps (nick-prep.ts): the plainest form of the nick.
        occ.plain = true;
        occ.baseNick = asciiNick(occ.baseNick) || occ.network;
        occ.attempt = 0;
        const settle = occ.settle;
        occ.settle = undefined;
        if (settle) clearTimeout(settle.timer);
        this.log.info({ room, nick, next: occ.baseNick }, 'room refused the nick as malformed; trying its plainest form');
        this.join(occ).then((n) => settle?.resolve(n), (err: Error) => settle?.reject(err));
        return true;
      }
      this.log.warn({ room, nick, condition: p.errorCondition }, 'room refused our join');
      this.fail(occ, p.errorCondition ?? 'undefined-condition');
      return true;
    }
    if (!isSelfPresence(p)) return true;
    if (p.type === 'available') {
      if (p.muc?.codes.includes(MucStatus.RoomCreated) && occ.state === 'joining') this.unlockCreatedRoom(occ);
      // 210: the room assigned or changed our nick; the self-presence's resource is authoritative.
      this.succeed(occ, nick);
      return true;
    }
    if (p.type === 'unavailable') {
      if (p.muc?.codes.includes(MucStatus.NickChanged) && p.muc.nick) { occ.nick = p.muc.nick; return true; }
      // leave() forgets an occupancy before its leave goes out, so an unavailable self-presence
      // that finds one joined here was not asked for: we were removed, whatever its codes say.
      // Prosody marks a kick 307; ejabberd removes an occupant it could not deliver to (it takes
      // the delivery error for an error the occupant sent) with 110 alone and the reason as text.
      // (While joining, it is the echo of an earlier leave: the join's own self-presence follows.
      // A destroyed room is left alone: joining it again would create it anew.)
      const reason = removalReason(p) ?? (occ.state === 'joined' && p.muc?.destroyed !== true ? 'removed' : 'left');
      occ.state = 'out';
      occ.joined = undefined;
      if (reason !== 'left') {
        this.log.warn({ room, nick, reason }, 'our occupant was removed from the room; it joins again before its next send');
        this.onRemoved(room, occ.realJid, reason);
      }
      return true;
    }
    return true;
  }

  /** Whether `nick` in `room` is one of ours (joined or joining): its messages are reflections, not news. */
  isOurs(room: string, nick: string): boolean {
    for (const occ of this.byKey.values()) {
      if (occ.room === room && occ.nick === nick && occ.state !== 'out') return true;
    }
    return false;
  }

  /** The nick `realJid` has in `room`, if joined. */
  nickOf(room: string, realJid: string): string | undefined {
    const occ = this.byKey.get(Occupancies.key(room, realJid));
    return occ?.state === 'joined' ? occ.nick : undefined;
  }

  /**
   * Changes what a joined occupant's presence shows (the rest stays as it was) and sends the new
   * presence when something changed. False when it is not joined: it is remembered while the
   * occupancy is known, and sent once a join under way completes (or carried by the next join).
   */
  async updatePresence(room: string, realJid: string, change: Shown): Promise<boolean> {
    const occ = this.byKey.get(Occupancies.key(room, realJid));
    if (!occ) return false;
    const next: Shown = { ...occ.shown, ...change };
    const same = next.state === occ.shown.state && next.status === occ.shown.status && next.photo === occ.shown.photo;
    if (!same) occ.shown = next;
    if (occ.state !== 'joined' || same) return occ.state === 'joined';
    await this.announce(occ);
    return true;
  }

  /** Sends the occupant's presence as it is now. */
  private announce(occ: Occupancy): Promise<void> {
    occ.announced = occ.shown;
    return this.send(buildPresence({ from: occ.realJid, to: `${occ.room}/${occ.nick}`, ...occ.shown }));
  }

  /** Leaves a room (a person went offline or left; the room was unlinked), with `status` as the leave's text when given. */
  async leave(room: string, realJid: string, status?: string): Promise<void> {
    const key = Occupancies.key(room, realJid);
    const occ = this.byKey.get(key);
    if (!occ || occ.state === 'out') return;
    this.byKey.delete(key);
    if (occ.settle) { clearTimeout(occ.settle.timer); occ.settle.reject(new JoinError(room, 'left')); }
    this.awaitLeft(key);
    await this.send(buildMucLeave(realJid, `${room}/${occ.nick}`, status)).catch((err: unknown) => {
      this.leaving.get(key)?.finish(); // not sent: nothing to wait for
      throw err;
    });
  }

  /** Resolves once no leave of `realJid` from `room` waits for the room's answer (at once when none does). */
  leftFrom(room: string, realJid: string): Promise<void> {
    return this.leaving.get(Occupancies.key(room, realJid))?.done ?? Promise.resolve();
  }

  /** Notes a leave on its way; the room's answer (or, from a room that does not answer, the join timeout) ends the wait. */
  private awaitLeft(key: string): void {
    if (this.leaving.has(key)) return;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => { finish = resolve; });
    const timer = setTimeout(() => finish(), this.opts.joinTimeoutMs);
    timer.unref();
    this.leaving.set(key, { done, finish });
    void done.then(() => { clearTimeout(timer); this.leaving.delete(key); });
  }

  /** Leaves every room we are in (closing): the rooms show the bridge's people leaving instead of ghosts. */
  async leaveAll(): Promise<void> {
    const joined = [...this.byKey.values()].filter((o) => o.state !== 'out');
    await Promise.allSettled(joined.map((o) => this.leave(o.room, o.realJid)));
  }

  /**
   * Everyone of ours leaves `room` (the relay and every puppet, joined or joining), with `status`
   * as the leave's text, and what is kept of their presence there goes: the room is not served any
   * more. `except` stays (the relay of a room that only sends to the bridge now: it still reads
   * the room). Resolves when the leaves are sent; a leave that could not be sent is counted in the result.
   */
  async leaveRoom(room: string, status: string, opts: { except?: string } = {}): Promise<{ left: number; failed: number }> {
    const here = [...this.byKey.values()].filter((o) => o.room === room && o.realJid !== opts.except);
    for (const o of here) if (o.state === 'out') this.byKey.delete(Occupancies.key(o.room, o.realJid));
    const sent = await Promise.allSettled(here.filter((o) => o.state !== 'out').map((o) => this.leave(o.room, o.realJid, status)));
    return { left: sent.filter((r) => r.status === 'fulfilled').length, failed: sent.filter((r) => r.status === 'rejected').length };
  }

  /** The stream is gone: every occupancy with it (the server removes them); pending joins fail. */
  reset(): void {
    for (const occ of this.byKey.values()) this.fail(occ, 'stream lost');
    this.byKey.clear();
    for (const leaving of [...this.leaving.values()]) leaving.finish();
  }
}
