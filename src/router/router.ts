import type { CanonicalEvent } from '../core/event.ts';
import { endpointKey, placeOf, type Bridge, type Direction, type Endpoint, type RoutingView } from '../core/endpoint.ts';
import { isDirectRoom, isPartyEndpoint, parseDirectRoom, partyEndpoint } from '../core/direct.ts';
import { IgnoreMatcher, type IgnoredBy, type IgnoreRules } from '../core/ignore.ts';

/** Told when route() keeps an event from the other networks by a room's `ignore:` rules (for a metric). */
export type IgnoredObserver = (rule: IgnoredBy) => void;

export interface RouterOptions {
  /**
   * Connectors that host many client sessions on one endpoint (WebSocket rooms, MTProto chats):
   * an event from one of their sessions must still reach the other sessions of the same endpoint,
   * so their origin endpoint stays a target and the connector itself skips the sending session.
   * For every other connector (an XMPP MUC already shows the message to everyone there) the origin
   * endpoint is never a target: that is what keeps echoes and loops out.
   */
  readonly hostedConnectors?: Iterable<string>;
  /**
   * config.yaml's `ignore:` senders, which keep their direct chats to themselves too (a room's own
   * rules, and message patterns, are about rooms: they leave direct chats alone). See replaceDirectIgnore.
   */
  readonly directIgnore?: IgnoreRules;
  /**
   * The networks whose connector runs here, consumes its deliveries and takes direct chats
   * (capabilities.directChats): the only targets of direct chats (which no bridges/ file lists, so the app cannot filter them beforehand). A
   * direct chat with someone on another network is recorded in its stream and goes nowhere.
   * Undefined: every network (for tests that route without an app).
   */
  readonly deliveringNetworks?: Iterable<string>;
}

/**
 * The router: each event goes to every endpoint linked with its room except the one it came
 * from (see RouterOptions.hostedConnectors for the one refinement), and as the endpoints'
 * directions allow (core/endpoint.ts `Direction`): nothing from a `receive-only` endpoint goes
 * anywhere (its connector should not publish it: this is the net), and nothing from elsewhere goes
 * to a `send-only` one. An event a room's `ignore:` rules match (core/ignore.ts) goes to no other
 * endpoint; a hosted origin still shows it to its other sessions. Direct chats (rooms `dm:`,
 * src/core/direct.ts) are routed from their key alone: to the other party. Pure and synchronous:
 * it runs inside the bus's ingress loop for every event.
 */
export class Router implements RoutingView {
  private byRoom = new Map<string, readonly Endpoint[]>();
  private roomOfEndpoint = new Map<string, string>();
  /** Endpoints bridged one way only, by endpointKey (absent: `both`). */
  private directions = new Map<string, Direction>();
  /** Rooms with `ignore:` rules that keep something back, by room. */
  private ignoring = new Map<string, IgnoreMatcher>();
  /** Senders whose direct chats go to no one (config.yaml's `ignore:` senders); undefined: none. */
  private directIgnore: IgnoreMatcher | undefined;
  private readonly hosted: ReadonlySet<string>;
  private readonly delivering: ReadonlySet<string> | undefined;

  constructor(bridges: readonly Bridge[], options: RouterOptions = {}) {
    this.hosted = new Set(options.hostedConnectors ?? []);
    this.delivering = options.deliveringNetworks === undefined ? undefined : new Set(options.deliveringNetworks);
    this.replaceBridges(bridges);
    this.replaceDirectIgnore(options.directIgnore);
  }

  /**
   * Puts config.yaml's `ignore:` senders in force for direct chats (a reload): what such a sender
   * writes to someone on another network reaches no one there (their own hosted sessions still
   * see it). Only the senders count: message patterns are about rooms (`!` commands in a room are
   * not a bot's direct chat).
   */
  replaceDirectIgnore(rules: IgnoreRules | undefined): void {
    const matcher = rules === undefined ? undefined : new IgnoreMatcher({ senders: rules.senders, messages: [] });
    this.directIgnore = matcher === undefined || matcher.empty ? undefined : matcher;
  }

  /**
   * Puts a new routing table in force whole (bridges/ reloaded): the next event routed sees only
   * the new one. Throws, changing nothing, on what the config loader also refuses (a room declared
   * twice, an endpoint linked to two rooms, a `dm:` room key).
   */
  replaceBridges(bridges: readonly Bridge[]): void {
    const byRoom = new Map<string, readonly Endpoint[]>();
    const roomOfEndpoint = new Map<string, string>();
    const directions = new Map<string, Direction>();
    const ignoring = new Map<string, IgnoreMatcher>();
    for (const bridge of bridges) {
      if (isDirectRoom(bridge.room)) throw new Error(`room "${bridge.room}" (${bridge.source}): room keys starting with "dm:" are direct chats, not bridges`);
      if (byRoom.has(bridge.room)) throw new Error(`room "${bridge.room}" is declared twice (${bridge.source})`);
      for (const ep of bridge.endpoints) {
        const key = endpointKey(ep);
        const other = roomOfEndpoint.get(key);
        if (other !== undefined) {
          throw new Error(`endpoint ${key} is linked to two rooms ("${other}" and "${bridge.room}", ${bridge.source})`);
        }
        roomOfEndpoint.set(key, bridge.room);
        if (ep.direction !== undefined && ep.direction !== 'both') directions.set(key, ep.direction);
      }
      byRoom.set(bridge.room, bridge.endpoints.map(placeOf));
      const matcher = bridge.ignore === undefined ? undefined : new IgnoreMatcher(bridge.ignore);
      if (matcher !== undefined && !matcher.empty) ignoring.set(bridge.room, matcher);
    }
    this.byRoom = byRoom;
    this.roomOfEndpoint = roomOfEndpoint;
    this.directions = directions;
    this.ignoring = ignoring;
  }

  directionOf(endpoint: Endpoint): Direction {
    return this.directions.get(endpointKey(endpoint)) ?? 'both';
  }

  /** The canonical room an endpoint belongs to, or undefined when no bridge links it (direct chats are not looked up this way). */
  roomOf(endpoint: Endpoint): string | undefined {
    return this.roomOfEndpoint.get(endpointKey(endpoint));
  }

  /** A bridge's endpoints; for a direct room, its parties' endpoints on networks that deliver here. */
  endpointsOf(room: string): readonly Endpoint[] {
    if (isDirectRoom(room)) {
      const parties = parseDirectRoom(room);
      if (!parties) return [];
      const endpoints = parties.map(partyEndpoint).filter((ep) => this.delivers(ep.connector));
      return endpoints.length === 2 && endpointKey(endpoints[0] as Endpoint) === endpointKey(endpoints[1] as Endpoint) ? [endpoints[0] as Endpoint] : endpoints;
    }
    return this.byRoom.get(room) ?? [];
  }

  /** The bridges' rooms. Direct rooms are not listed: there is one per pair of people who ever wrote. */
  get rooms(): readonly string[] {
    return [...this.byRoom.keys()];
  }

  /**
   * The targets of an event. Events of an unknown room, or from an endpoint not linked to it, go
   * nowhere. `ignored` hears of an event the room's `ignore:` rules keep back (the bus's routing
   * passes it; replays and history pages asking where an event went do not).
   */
  route(event: CanonicalEvent, ignored?: IgnoredObserver): readonly Endpoint[] {
    if (isDirectRoom(event.room)) return this.routeDirect(event, ignored);
    const endpoints = this.byRoom.get(event.room);
    if (!endpoints) return [];
    const origin: Endpoint = { connector: event.origin.connector, address: event.origin.endpoint };
    if (this.roomOf(origin) !== event.room) return [];
    if (this.ignoring.size > 0) {
      const rule = this.ignoring.get(event.room)?.match(event);
      if (rule !== undefined) {
        ignored?.(rule);
        // Shown where it was said: a hosted origin's other sessions still get it (none from a receive-only one).
        return this.hosted.has(origin.connector) && this.directionOf(origin) !== 'receive-only' ? [origin] : [];
      }
    }
    if (this.directions.size > 0) return this.routeDirected(endpoints, origin);
    const keepOrigin = this.hosted.has(origin.connector);
    return endpoints.filter((ep) => keepOrigin || ep.connector !== origin.connector || ep.address !== origin.address);
  }

  /** route() where some endpoint is bridged one way: the origin itself (hosted) still sees its own. */
  private routeDirected(endpoints: readonly Endpoint[], origin: Endpoint): readonly Endpoint[] {
    if (this.directionOf(origin) === 'receive-only') return [];
    const keepOrigin = this.hosted.has(origin.connector);
    return endpoints.filter((ep) => {
      const isOrigin = ep.connector === origin.connector && ep.address === origin.address;
      if (isOrigin) return keepOrigin;
      return this.directionOf(ep) !== 'send-only';
    });
  }

  /**
   * A direct chat: from one party to the other, at `{ connector: <its network>, address: <its id> }`.
   * The origin must be one of the two parties (its connector and endpoint), or the event goes
   * nowhere: nobody writes into someone else's conversation. A hosted sender's own endpoint stays a
   * target, so their other sessions see what they sent (the connector skips the sending session).
   */
  private routeDirect(event: CanonicalEvent, ignored: IgnoredObserver | undefined): readonly Endpoint[] {
    // A direct chat has no topic (connectors refuse one at their door; this holds for any other).
    if (event.kind === 'topic') return [];
    const parties = parseDirectRoom(event.room);
    if (!parties) return [];
    const origin: Endpoint = { connector: event.origin.connector, address: event.origin.endpoint };
    const [a, b] = parties;
    const peer = isPartyEndpoint(a, origin) ? b : isPartyEndpoint(b, origin) ? a : undefined;
    if (!peer) return [];
    const keepOrigin = this.hosted.has(origin.connector);
    const targets: Endpoint[] = [];
    const target = partyEndpoint(peer);
    const isOrigin = (ep: Endpoint): boolean => ep.connector === origin.connector && ep.address === origin.address;
    if (this.delivers(target.connector) && (keepOrigin || !isOrigin(target))) targets.push(target);
    if (keepOrigin && this.delivers(origin.connector) && !isOrigin(target)) targets.push(origin);
    const rule = this.directIgnore?.match(event);
    if (rule !== undefined) {
      ignored?.(rule);
      // Kept to the network it was written on, as in a room: its own sessions, a peer on that network.
      return targets.filter((ep) => ep.connector === origin.connector);
    }
    return targets;
  }

  private delivers(network: string): boolean {
    return this.delivering === undefined || this.delivering.has(network);
  }
}
