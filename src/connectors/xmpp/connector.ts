import { PuppetAvatars } from './avatars.ts';
import type { Element } from '@xmpp/xml';
import type { Bus, Delivery, LeaseHandle, StateStore, Stoppable } from '../../bus/types.ts';
import type { Config } from '../../config/schema.ts';
import type { Capabilities } from '../../core/capabilities.ts';
import type { Endpoint, RoutingView } from '../../core/endpoint.ts';
import { LIMITS } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/metrics.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorListing, EndpointChange } from '../connector.ts';
import { bareJid, parseJid } from './address.ts';
import { ArchiveReader, roomHasArchive } from './archive.ts';
import { ArchiveCatchUp, type HeldArchive } from './catch-up.ts';
import { ComponentLink, type ComponentLinkError } from './component-link.ts';
import { CONNECTOR } from './inbound.ts';
import { InboundOrder } from './inbound-order.ts';
import { OccupantAvatars } from './occupant-avatars.ts';
import { PuppetProfiles } from './puppet-profiles.ts';
import { OccupantPresence } from './occupant-presence.ts';
import { DirectChats } from './direct-chats.ts';
import { RoomMessages } from './room-messages.ts';
import { RoomOccupants } from './room-occupants.ts';
import { xmppConnectorMetrics, xmppMetrics, type XmppConnectorMetrics } from './metrics.ts';
import { Occupancies } from './occupancy.ts';
import { OriginIds } from './origin-ids.ts';
import { TokenBucket, TokenBuckets } from '../../core/token-bucket.ts';
import { deliverToRoom, roomRefusal, RoomAnswerError, Reflections } from './outbound.ts';
import { RoomSubjects, setRoomSubject } from './topics.ts';
import { RoomTopics } from '../room-topics.ts';
import { roomJidProblem } from './room-jid.ts';
import { planRoomLinks, RoomLinks } from './room-links.ts';
import { relayStatusFor, takesDeliveries } from './directions.ts';
import { errorReply, mayBounce } from './stanza/errors.ts';
import { isDirectRoom } from '../../core/direct.ts';
import { Contacts } from './contacts.ts';
import { deliverToUser, SentOnStream } from './direct-outbound.ts';
import { NS } from './ns.ts';
import { parseMessage } from './stanza/message-in.ts';
import { isSelfPresence, parsePresence } from './stanza/presence.ts';
import { within } from '../../core/within.ts';

/** What XMPP (with the XEPs this connector speaks) can express. */
export const XMPP_CAPABILITIES: Capabilities = {
  edits: true,
  retractions: true,
  reactions: 'emoji',
  replies: true,
  threads: false,
  presence: ['available', 'away', 'dnd', 'xa', 'offline'],
  typing: true,
  // delivered: XEP-0184 receipts, in direct chats (rooms skip them); displayed: XEP-0333 markers.
  receipts: ['delivered', 'displayed'],
  attachments: { delivery: 'link', maxBytes: Number.MAX_SAFE_INTEGER },
  formatting: ['bold', 'italic', 'strike', 'code', 'pre', 'quote'],
  maxTextLength: LIMITS.textChars,
  directChats: true,
  avatars: true,
  // A linked room's subject (XEP-0045 §8.1), both ways: topics.ts.
  topics: true,
};

/** At close or lease loss: how long the delivery in hand may wait for its room's reflection. */
const CLOSE_GRACE_MS = 2_000;
/** The relay occupant's resource: the component domain itself sits in every linked room as the bridge's ear. */
const RELAY_RESOURCE = 'relay';
/** How long the relay waits for a room's answer to a request of its own (disco, moderation). */
const IQ_TIMEOUT_MS = 30_000;

interface Live {
  bus: Bus;
  routing: RoutingView;
  logger: Logger;
  metrics: XmppConnectorMetrics;
  lease: LeaseHandle;
  rooms: Map<string, Endpoint>;
  registry: Registry;
  state: StateStore;
  media: ConnectorContext['media'];
  /** Each canonical room's current topic, whichever network set it (../room-topics.ts). */
  roomTopics: RoomTopics;
  /** Inbound work per room (or user), in arrival order (inbound-order.ts). */
  order: InboundOrder;
  /** Puppets' names and avatars, and the answers to iqs (puppet-profiles.ts). */
  puppets: PuppetProfiles;
  /** The linked rooms' other occupants: who is behind each nick, as a canonical sender (room-occupants.ts). */
  occupants: RoomOccupants;
  /** Their presences, followed and bridged (occupant-presence.ts). */
  occupantPresence: OccupantPresence;
  /** What XMPP users send to puppets, and the puppets' presence to them (direct-chats.ts). */
  directChats: DirectChats;
  /** Each linked room's archive read after the relay's join, and its position (catch-up.ts). */
  catchUp: ArchiveCatchUp;
  /** What the linked rooms say: their messages and subjects, live or caught up (room-messages.ts). */
  roomMessages: RoomMessages;
  /** What a bridges/ reload does to the linked rooms (room-links.ts). */
  roomLinks: RoomLinks;
}

/** What is only there while this instance holds the component lease. */
interface Holding {
  link: ComponentLink;
  occupancies: Occupancies;
  reflections: Reflections;
  egress?: Stoppable;
  /** The consumer being closed (the stream went away): a new one starts only after it. */
  egressClosing?: Promise<void>;
  stopping?: boolean;
  /** The relay's join due per room (one at most: a reload, a reconnect and a retry do not stack). */
  relayJoins: Map<string, NodeJS.Timeout>;
  archive: ArchiveReader;
  /** Per linked room: whether it keeps an archive (asked once). */
  hasArchive: Map<string, Promise<boolean>>;
  /** Direct chats: subscriptions, chat marks and presences, read afresh by each holder. */
  contacts: Contacts;
  /** Direct-chat messages written on the current stream (a retried batch does not send them twice). */
  sentDirect: SentOnStream;
  /** Rooms' subjects known (bus state), and the relay's changes under way. */
  subjects: RoomSubjects;
  /**
   * Rooms the relay has just joined: the next subject message from there is the room's subject
   * as a join gets it (XEP-0045 §7.2.15, the join's last stanza), not a change.
   */
  joinSubjects: Set<string>;
}

/**
 * The XMPP connector: an XEP-0114 component of a real server. One instance of the cluster holds
 * the component stream at a time (a bus lease, taken over when its holder dies); that instance
 * consumes the deliveries to XMPP rooms and bridges what the rooms say. A relay occupant (the
 * component domain, nick = config name) sits in every linked room and is where room traffic is
 * read, once; puppets (one per remote person) join lazily to speak, and their copies of room
 * traffic and the reflections of their own messages are never bridged again.
 */
export class XmppConnector implements Connector {
  readonly network = CONNECTOR;
  readonly capabilities = XMPP_CAPABILITIES;
  readonly hostsSessions = false;
  readonly delivers = true;

  private live: Live | undefined;
  private holding: Holding | undefined;
  private fatal: ComponentLinkError | undefined;
  private closing: Promise<void> | undefined;
  /** Per room occupant, and per XMPP user writing to puppets (`dm:<user>`): the rate its messages are bridged at (a flood from one sender is cut, not the room). */
  private readonly senderBuckets = new TokenBuckets(100_000, () => new TokenBucket(this.config.inboundPerSenderPerSecond, this.config.inboundPerSenderBurst));
  /** start() has returned: a lease acquired from now on is a takeover (see becomeHolder). */
  private pastStart = false;

  private readonly originIds: OriginIds;

  constructor(private readonly config: Config['xmpp']) {
    if (config.secret === undefined) throw new Error('xmpp.secret is required');
    this.originIds = new OriginIds(config.secret);
  }

  private get relayJid(): string {
    return `${this.config.domain}/${RELAY_RESOURCE}`;
  }

  async start(ctx: ConnectorContext): Promise<void> {
    if (this.live) throw new Error('xmpp connector already started');
    const rooms = new Map<string, Endpoint>();
    for (const e of ctx.endpoints) {
      const problem = roomJidProblem(e.address);
      if (problem !== undefined) throw new Error(`xmpp endpoint ${JSON.stringify(e.address)} is not a room JID (room@conference.example.org): ${problem}`);
      rooms.set(e.address, e);
    }
    xmppMetrics(ctx.registry); // registers the link's metrics now, so /metrics shows them from the start
    const metrics = xmppConnectorMetrics(ctx.registry);
    metrics.rooms.set(rooms.size);
    let acquired: (() => void) | undefined;
    const firstAcquire = new Promise<void>((resolve) => { acquired = resolve; });
    const lease = ctx.bus.holdLease(`xmpp-component:${this.config.domain}`, {
      onAcquired: () => { this.becomeHolder(); acquired?.(); },
      onLost: () => { void this.stopHolding('lease lost'); },
    });
    this.live = this.assemble(ctx, metrics, lease, rooms);
    ctx.logger.info({ domain: this.config.domain, rooms: rooms.size }, 'xmpp connector started; waiting for the component lease');
    // If this instance gets the lease at once (a single instance, or the memory bus), wait for the
    // first outcome, so a wrong secret fails the start with one clear error instead of a silent loop.
    const leaseWait = new Promise<'standby'>((resolve) => setTimeout(() => resolve('standby'), 1_000).unref());
    const first = await Promise.race([firstAcquire.then(() => 'held' as const), leaseWait]);
    // From now on an acquisition is a takeover: the previous holder's stream may linger a moment.
    this.pastStart = true;
    if (first === 'standby') return;
    const link = this.holding?.link;
    if (!link) return;
    await new Promise<void>((resolve, reject) => {
      const onStatus = (s: string): void => {
        if (s === 'online' || s === 'waiting') { link.off('status', onStatus); resolve(); }
        else if (s === 'failed') { link.off('status', onStatus); reject(link.error); }
      };
      if (link.status === 'online') resolve();
      else if (link.status === 'failed') reject(link.error);
      else link.on('status', onStatus);
    }).catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
  }

  /**
   * What this instance works with once started (Live): what start() was given, and the pieces of
   * the connector, each in a file of its own, handed what they use. The stream held here comes and
   * goes: they get it passed in (or ask for it: heldArchive, holding), never keep it.
   */
  private assemble(ctx: ConnectorContext, metrics: XmppConnectorMetrics, lease: LeaseHandle, rooms: Map<string, Endpoint>): Live {
    const { domain, name } = this.config;
    const relayJid = this.relayJid;
    const state = ctx.bus.state(CONNECTOR);
    const roomTopics = RoomTopics.of(ctx.bus, ctx.logger);
    const avatars = new PuppetAvatars(ctx.media, ctx.logger);
    // XMPP users' avatars for the other networks (needs the media store).
    const occupantAvatars = ctx.media === undefined ? undefined : new OccupantAvatars({
      media: ctx.media, logger: ctx.logger, outcomes: metrics.occupantAvatars,
      request: (iq, timeoutMs) => this.holding?.link.request(iq, timeoutMs) ?? Promise.reject(new Error('the component stream is not held here')),
    });
    const base = { bus: ctx.bus, routing: ctx.routing, logger: ctx.logger, metrics, rooms, state, media: ctx.media };
    const order = new InboundOrder(ctx.logger, metrics.inbound);
    const occupants = new RoomOccupants({ state, logger: ctx.logger });
    const puppets = new PuppetProfiles({ domain, name, state, logger: ctx.logger, avatars });
    const catchUp = new ArchiveCatchUp({
      domain, rooms, state, logger: ctx.logger, order, held: () => this.heldArchive(),
      maxAgeMs: this.config.catchUpMaxAgeSeconds * 1_000, outcomes: metrics.catchUps,
      pagesPerTurn: this.config.catchUpPagesPerTurn, pauseMs: this.config.catchUpPauseSeconds * 1_000,
    });
    return {
      ...base, lease, registry: ctx.registry, roomTopics, order, occupants, puppets, catchUp,
      occupantPresence: new OccupantPresence({ ...base, domain, relayJid, occupants, occupantAvatars, order }),
      roomMessages: new RoomMessages({ ...base, relayJid, originIds: this.originIds, roomTopics, occupants, catchUp }),
      roomLinks: new RoomLinks({
        ...base, relayJid, order, catchUp, occupants,
        holding: () => this.holding, scheduleRelayJoin: (room, delayMs) => this.scheduleRelayJoin(room, delayMs),
      }),
      directChats: new DirectChats({
        ...base, domain, occupantAvatars, order,
        senderAllowed: (key) => this.senderAllowed(key), photoOf: (bare) => puppets.photoOf(bare), holding: () => this.holding,
      }),
    };
  }

  private becomeHolder(): void {
    const live = this.live;
    if (!live || this.holding || this.closing) return;
    const log = live.logger;
    const link = new ComponentLink({
      host: this.config.host, port: this.config.port, domain: this.config.domain, secret: this.config.secret as string,
      ...(this.config.serverDomain ? { serverDomain: this.config.serverDomain } : {}),
      backoff: { initialMs: Math.min(500, this.config.reconnectMaxMs), maxMs: this.config.reconnectMaxMs },
      pingIntervalMs: this.config.pingIntervalMs, pingTimeoutMs: this.config.pingTimeoutMs,
      maxInboundStanzaBytes: this.config.maxStanzaBytes, maxOutboundStanzaBytes: this.config.maxStanzaBytes,
      outboundPerSecond: this.config.outboundPerSecond, outboundBurst: Math.max(1, Math.round(this.config.outboundPerSecond)),
      // Taking over from another instance (or after our own lease was lost and came back): the
      // server may still hold the previous holder's stream and answer conflict for a while.
      takeover: this.pastStart,
      onStanza: (el) => this.onStanza(el),
      logger: log, registry: live.registry,
    });
    const holding: Holding = {
      link,
      occupancies: new Occupancies((el) => link.send(el), { joinTimeoutMs: 10_000, maxNickAttempts: 20 }, log,
        (room, realJid) => { if (realJid === this.relayJid) this.scheduleRelayJoin(room, 1_000); }),
      reflections: new Reflections(),
      relayJoins: new Map(),
      archive: new ArchiveReader(link, this.relayJid),
      hasArchive: new Map(),
      contacts: new Contacts(live.state, log),
      sentDirect: new SentOnStream(),
      subjects: new RoomSubjects(live.state),
      joinSubjects: new Set(),
    };
    this.holding = holding;
    // Deliveries are consumed only while the stream is online: during an outage they wait on the
    // bus (in order, durably) instead of burning their retries and landing in the dead-letter queue.
    link.on('online', () => {
      for (const room of live.rooms.keys()) this.scheduleRelayJoin(room, 0);
      void live.directChats.announcePresences(holding);
      void (holding.egressClosing ?? Promise.resolve()).then(() => {
        if (this.holding !== holding || holding.stopping || link.status !== 'online') return;
        holding.egress ??= live.bus.consumeEgress(CONNECTOR, (deliveries) => this.deliver(deliveries));
      });
    });
    link.on('offline', () => {
      holding.occupancies.reset();
      holding.sentDirect.clear();
      holding.reflections.failAll(new Error('component stream lost'));
      const egress = holding.egress;
      holding.egress = undefined;
      if (egress) {
        const closing = egress.close().catch((err: Error) => log.warn({ err: err.message }, 'closing the xmpp egress consumer failed'));
        holding.egressClosing = closing.then(() => { if (holding.egressClosing === closing) holding.egressClosing = undefined; });
      }
    });
    link.on('failed', (err) => {
      this.fatal = err;
      log.error({ code: err.code }, `xmpp component stopped: ${err.message}`);
    });
    log.info('this instance holds the xmpp component lease; connecting');
    link.start();
  }

  private async stopHolding(reason: string): Promise<void> {
    const holding = this.holding;
    if (!holding || holding.stopping) return;
    holding.stopping = true;
    this.live?.logger.warn({ reason }, 'xmpp component released');
    // The next holder catches up from the saved positions when its relay joins.
    this.live?.catchUp.stop();
    for (const t of holding.relayJoins.values()) clearTimeout(t);
    holding.relayJoins.clear();
    // The batch in hand finishes first (its reflections still arrive), then nothing more is taken;
    // a reflection that does not come within the grace fails its delivery (the bus keeps it for
    // the next holder), so closing stays bounded.
    const egressClosed = Promise.all([holding.egress?.close(), holding.egressClosing]);
    const closedInTime = await within(egressClosed, CLOSE_GRACE_MS);
    this.holding = undefined;
    holding.reflections.failAll(new Error(reason));
    // The stream goes now, whether the egress consumer has closed or not: with the lease lost
    // (Redis away longer than its ttl) another instance takes the component over, and a stream
    // left open here would keep it from connecting (conflict) while this one bridges on alone.
    // A delivery still in hand fails with the stream and stays on the bus for the next holder.
    if (holding.link.status === 'online') await within(holding.occupancies.leaveAll(), CLOSE_GRACE_MS);
    await holding.link.stop();
    if (!closedInTime && !await within(egressClosed, CLOSE_GRACE_MS)) {
      this.live?.logger.warn({ reason }, 'the xmpp egress consumer had not closed when the component was released (the bus unreachable?); it closes when it can');
    }
  }

  private scheduleRelayJoin(room: string, delayMs: number): void {
    const holding = this.holding;
    if (!holding) return;
    clearTimeout(holding.relayJoins.get(room));
    const timer = setTimeout(() => {
      if (holding.relayJoins.get(room) === timer) holding.relayJoins.delete(room);
      void this.joinRelay(room, holding, delayMs);
    }, delayMs);
    holding.relayJoins.set(room, timer);
  }

  /**
   * The relay joins a linked room, if the room is linked still when its turn comes: a reload may
   * unlink it meanwhile. A leave of the relay from that room still unanswered (unlinked and linked
   * again at once) is waited for first, so the join goes after it and is answered as a join.
   */
  private async joinRelay(room: string, holding: Holding, delayMs: number): Promise<void> {
    const stillWanted = (): boolean => this.holding === holding && !holding.stopping && holding.link.status === 'online' && this.live?.rooms.has(room) === true;
    if (!stillWanted()) return;
    await holding.occupancies.leftFrom(room, this.relayJid);
    if (!stillWanted()) return;
    try {
      const joined = holding.occupancies.ensureJoined(room, this.relayJid, this.config.name, CONNECTOR);
      // How the room is bridged, in the relay's status (a receive-only room's people are told so).
      const endpoint = this.live?.rooms.get(room);
      if (endpoint !== undefined && this.live !== undefined) {
        holding.occupancies.updatePresence(room, this.relayJid, relayStatusFor(this.live.routing.directionOf(endpoint))).catch(() => { /* a refused send is logged and counted by the link */ });
      }
      await joined;
      this.live?.logger.info({ room }, 'relay joined linked room');
    } catch (err) {
      if (!stillWanted()) return; // unlinked (or the stream gone) while joining: nothing to retry
      this.live?.logger.warn({ room, err: (err as Error).message }, 'relay could not join linked room; retrying');
      this.scheduleRelayJoin(room, Math.min(60_000, Math.max(1_000, delayMs * 2)));
    }
  }

  /**
   * bridges/ was reloaded (Connector.endpointsChanged): the rooms served become the new table's
   * xmpp endpoints. Every instance keeps its map (a standby that takes the component over serves
   * the new set); the holder's relay joins the rooms linked now and everyone of ours leaves the
   * rooms unlinked. Synchronous, never throws: the work with the server runs on, logged.
   */
  endpointsChanged(change: EndpointChange): void {
    const live = this.live;
    if (!live) return;
    try {
      const plan = planRoomLinks(live.rooms, change);
      for (const { address, problem } of plan.refused) {
        live.metrics.roomLinks.inc({ change: 'refused' });
        live.logger.error({ address, problem }, 'bridges/ reload: an xmpp endpoint is not a room JID; not served');
      }
      for (const room of plan.unlink) {
        live.rooms.delete(room);
        live.roomLinks.unlinkRoom(room);
      }
      for (const [room, endpoint] of plan.serve) live.rooms.set(room, endpoint);
      for (const { room, from, to } of plan.moved) {
        // Nothing here keeps a room's canonical key: every use asks live.routing, which has the new table.
        live.metrics.roomLinks.inc({ change: 'moved' });
        live.logger.info({ room, from, to }, 'bridges/ reload: a linked room is bridged into another canonical room now');
      }
      for (const { room, from, to } of plan.redirected) live.roomLinks.redirectRoom(room, from, to);
      for (const { address: room } of plan.link) live.roomLinks.linkRoom(room);
      live.metrics.rooms.set(live.rooms.size);
      live.logger.info({ rooms: live.rooms.size, linked: plan.link.length, unlinked: plan.unlink.length, moved: plan.moved.length, redirected: plan.redirected.length, holder: this.holding !== undefined },
        'bridges/ reload: linked rooms updated');
    } catch (err) {
      live.logger.error({ err: (err as Error).message }, 'bridges/ reload: the xmpp connector could not follow it');
    }
  }

  /** The egress handler: deliveries to linked rooms, in order; a throw makes the bus retry the batch. */
  private async deliver(deliveries: readonly Delivery[]): Promise<void> {
    const live = this.live;
    const holding = this.holding;
    if (!live || !holding) throw new Error('xmpp component not held here');
    for (const d of deliveries) {
      if (isDirectRoom(d.event.room)) {
        const outcome = await deliverToUser(d, {
          bus: live.bus, domain: this.config.domain, send: (el) => holding.link.send(el), logger: live.logger,
          originIds: this.originIds, contacts: holding.contacts, sentOnStream: holding.sentDirect,
          rememberPuppet: (jid, name, avatar) => live.puppets.rememberPuppet(jid, name, avatar),
          photoOf: (bare) => live.puppets.photoOf(bare),
        });
        live.metrics.direct.inc({ direction: 'out', outcome });
        continue;
      }
      if (!live.rooms.has(d.target.address)) {
        // Routed before a reload unlinked its room (queued since): not sent, and not retried into the dead-letter queue.
        const unlinked = live.roomLinks.wasUnlinked(d.target.address);
        live.logger.warn({ target: d.target.address, event: d.event.id, kind: d.event.kind },
          unlinked ? 'delivery to a room unlinked by a bridges/ reload; dropped' : 'delivery to an xmpp endpoint that is not a linked room; dropped');
        live.metrics.delivered.inc({ outcome: unlinked ? 'unlinked' : 'unknown_room' });
        continue;
      }
      if (!takesDeliveries(live.routing, d.target)) {
        // Routed before a reload made the room send-only (queued since): not posted there, and not
        // retried either. (The router never targets a send-only room: nothing else gets here.)
        live.logger.info({ target: d.target.address, event: d.event.id, kind: d.event.kind }, 'delivery to a room that only sends to the bridge now (bridges/ reload); dropped');
        live.metrics.delivered.inc({ outcome: 'send_only' });
        continue;
      }
      let outcome: Awaited<ReturnType<typeof deliverToRoom>> | 'refused';
      try {
        outcome = await deliverToRoom(d, {
          bus: live.bus, domain: this.config.domain, occupancies: holding.occupancies, reflections: holding.reflections,
          send: (el) => holding.link.send(el), logger: live.logger, reflectionTimeoutMs: this.config.reflectionTimeoutMs,
          rememberPuppet: (jid, name, avatar) => live.puppets.rememberPuppet(jid, name, avatar),
          advertiseAvatar: (room, puppet) => live.puppets.advertiseAvatar(room, puppet, holding.occupancies),
          originIds: this.originIds, sent: live.state, archive: holding.archive,
          hasArchive: (room) => roomHasArchive(room, holding, live.logger),
          relayJid: this.relayJid, request: (iq) => holding.link.request(iq, IQ_TIMEOUT_MS),
          onModeration: (outcome) => live.metrics.moderations.inc({ outcome }),
          onRetryLookup: (found) => live.metrics.retryLookups.inc({ found: found ? 'yes' : 'no' }),
          setTopic: (room, event) => setRoomSubject({
            relayJid: this.relayJid, send: (el) => holding.link.send(el), reflections: holding.reflections,
            reflectionTimeoutMs: this.config.reflectionTimeoutMs, originIds: this.originIds, subjects: holding.subjects,
            relayIn: (r) => holding.occupancies.ensureJoined(r, this.relayJid, this.config.name, CONNECTOR),
            onTopic: (outcome) => live.metrics.topics.inc({ outcome }), logger: live.logger,
          }, room, event),
        });
      } catch (err) {
        const room = d.target.address;
        if (!live.rooms.has(room)) {
          // Unlinked while it was under way (its wait for the room failed with it): dropped, not retried.
          live.logger.warn({ room, event: d.event.id, kind: d.event.kind, err: (err as Error).message }, 'delivery to a room unlinked by a bridges/ reload while under way; dropped');
          live.metrics.delivered.inc({ outcome: 'unlinked' });
          live.roomLinks.leaveUnlinked(room, holding);
          continue;
        }
        if (!takesDeliveries(live.routing, d.target)) {
          // Made send-only while it was under way (a puppet's join cut short by its leave, say): dropped, not retried.
          live.logger.info({ room, event: d.event.id, kind: d.event.kind, err: (err as Error).message }, 'delivery to a room made send-only by a bridges/ reload while under way; dropped');
          live.metrics.delivered.inc({ outcome: 'send_only' });
          live.roomLinks.withdrawPuppets(room, holding);
          continue;
        }
        // A room that will not take us: this event is not delivered there (logged, counted), and
        // the deliveries behind it, to every room, go on. Anything else is retried by the bus.
        const condition = roomRefusal(err);
        if (condition === undefined) throw err;
        live.logger.warn({ room, event: d.event.id, kind: d.event.kind, condition }, 'the room refused us: event not delivered there');
        outcome = 'refused';
      }
      // Unlinked, or made send-only, while it was under way: a puppet it joined must not stay in the room.
      if (!live.rooms.has(d.target.address)) live.roomLinks.leaveUnlinked(d.target.address, holding);
      else if (!takesDeliveries(live.routing, d.target)) live.roomLinks.withdrawPuppets(d.target.address, holding);
      live.metrics.delivered.inc({ outcome });
    }
  }

  private onStanza(el: Element): void {
    const live = this.live;
    const holding = this.holding;
    if (!live || !holding) return;
    if (el.name === 'iq') { live.puppets.onIq(el, (answer) => holding.link.send(answer)); return; }
    if (el.name === 'presence') { this.onPresence(el, live, holding); return; }
    if (el.name === 'message' && holding.archive.onMessage(el)) return;
    if (el.name !== 'message') return;
    const from = el.attrs['from'] ?? '';
    const room = bareJid(from) ?? '';
    // A room occupant's rate is counted as the messages arrive, not as they are worked through: a
    // backlog held up by an outage (Redis away) is not a flood. Our own occupants' copies (the
    // reflections their deliveries wait for) are never counted.
    const nick = parseJid(from)?.resource;
    if (el.attrs['type'] === 'groupchat' && el.attrs['to'] === this.relayJid && live.rooms.has(room) && nick
      && el.getChild('delay', NS.delay) === undefined && !holding.occupancies.isOurs(room, nick)
      && !this.originIds.isOurs(el.attrs['id']) && !this.senderAllowed(from)) {
      live.metrics.inbound.inc({ outcome: 'flood' });
      live.logger.warn({ room, from }, 'room occupant over its message rate; message not bridged');
      return;
    }
    live.order.run(room, () => this.onMessage(el, live, holding).catch((err: Error) => {
      live.metrics.inbound.inc({ outcome: 'failed' });
      live.logger.error({ err: err.message, from }, 'bridging an xmpp message failed');
      // Not lost: the room's archive has it, and is read again from the last position saved.
      if (live.rooms.has(room)) live.catchUp.catchUpLater(room);
    }));
  }

  private onPresence(el: Element, live: Live, holding: Holding): void {
    const p = parsePresence(el);
    const room = bareJid(p.from);
    if (room !== undefined && live.rooms.has(room)) {
      // (Before the occupancy takes it: a self-presence while not yet joined is the join's.)
      const joining = p.to === this.relayJid && holding.occupancies.nickOf(room, this.relayJid) === undefined;
      live.occupantPresence.trackOccupant(room, p, holding);
      holding.occupancies.onPresence(p);
      // The relay is (back) in the room: catch up on what it missed, before anything newer (same queue).
      if (p.to === this.relayJid && p.type === 'available' && isSelfPresence(p)) {
        // (In the room's queue: a message queued before the join must not take the join's subject for it.)
        live.order.run(room, () => {
          if (joining) holding.joinSubjects.add(room);
          return live.catchUp.catchUpOrLater(room);
        });
      }
      return;
    }
    if (p.muc !== undefined) {
      // A room not linked (any more): only the answers to our leaves matter; an occupant's presence
      // is never a user's presence in a direct chat (it reaches our puppets too).
      holding.occupancies.onPresence(p);
      return;
    }
    live.directChats.onUserPresence(p, holding);
  }

  private async onMessage(el: Element, live: Live, holding: Holding): Promise<void> {
    const msg = parseMessage(el, { componentDomain: this.config.domain });
    const from = parseJid(msg.from);
    const room = from?.bare().toString();
    const linked = room !== undefined ? live.rooms.get(room) : undefined;
    if (msg.type === 'error') {
      // A room refusing one of our messages: fail its delivery (the bus retries it).
      if (this.originIds.isOurs(msg.id)) holding.reflections.failed(msg.id as string, new RoomAnswerError(msg.errorCondition ?? 'undefined-condition'));
      live.logger.warn({ from: msg.from, condition: msg.errorCondition, id: msg.id }, 'xmpp error message received');
      return;
    }
    if (!linked || !room) {
      if ((msg.type === 'chat' || msg.type === 'normal') && parseJid(msg.to)?.local) {
        await live.directChats.onDirectMessage(el, msg, holding);
        return;
      }
      // The component itself (or a room we do not link) is nobody to talk to: tell a person (never a room) so, instead of silence.
      live.metrics.inbound.inc({ outcome: 'not_linked' });
      if (msg.type === 'chat' && msg.body !== undefined && mayBounce(el, (bare) => live.rooms.has(bare))) {
        void holding.link.send(errorReply(el, 'cancel', 'service-unavailable', `write to a person: <network>.<id>@${this.config.domain}`)).catch(() => {});
      }
      return;
    }
    if (msg.type !== 'groupchat') { live.metrics.inbound.inc({ outcome: 'private_in_room' }); return; }
    if (msg.subject !== undefined) { await live.roomMessages.onSubject(msg, msg.subject, room, 'live', holding); return; }
    await live.roomMessages.bridgeRoomMessage(msg, room, 'live', holding);
  }

  private senderAllowed(key: string): boolean {
    return this.senderBuckets.of(key).tryTake();
  }

  /** The archive of the stream held here, and the path of live room messages, for the catch-up (catch-up.ts). */
  private heldArchive(): HeldArchive | undefined {
    const live = this.live;
    const holding = this.holding;
    if (!live || !holding) return undefined;
    return {
      archive: holding.archive,
      hasArchive: (room) => roomHasArchive(room, holding, live.logger),
      onSubject: (msg, text, room) => live.roomMessages.onSubject(msg, text, room, 'archive', holding),
      bridge: (msg, room) => live.roomMessages.bridgeRoomMessage(msg, room, 'archive', holding),
    };
  }

  stopAccepting(): void {
    // Nothing connects to us: the component connection is outgoing. Deliveries go on until close().
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    const live = this.live;
    await this.stopHolding('closing');
    // A subject published just before the stop is the room's topic on the other networks too: its record is written before the bus closes.
    await live?.roomTopics.idle();
    await live?.lease.close();
    live?.logger.info('xmpp connector closed');
  }

  health(): ConnectorHealth {
    if (!this.live) return { status: 'down' };
    if (this.fatal) return { status: 'down', detail: { error: this.fatal.message } };
    const holding = this.holding;
    if (!holding) return { status: 'ok', detail: { holder: false } };
    const status = holding.link.status;
    return { status: status === 'online' ? 'ok' : 'degraded', detail: { holder: true, stream: status } };
  }

  describe(): readonly ConnectorListing[] {
    return [{ label: 'XMPP component', value: `${this.config.domain} via ${this.config.host}:${this.config.port}` }];
  }
}
