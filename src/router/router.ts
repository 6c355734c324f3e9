import type { CanonicalEvent } from '../core/event.ts';
import { endpointKey, type Bridge, type Endpoint, type RoutingView } from '../core/endpoint.ts';

export interface RouterOptions {
  /**
   * Connectors that host many client sessions on one endpoint (WebSocket rooms, MTProto chats):
   * an event from one of their sessions must still reach the other sessions of the same endpoint,
   * so their origin endpoint stays a target and the connector itself skips the sending session.
   * For every other connector (an XMPP MUC already shows the message to everyone there) the origin
   * endpoint is never a target: that is what keeps echoes and loops out.
   */
  readonly hostedConnectors?: Iterable<string>;
}

/**
 * The router: each event goes to every endpoint linked with its room except the one it came
 * from (see RouterOptions.hostedConnectors for the one refinement). Pure and synchronous: it
 * runs inside the bus's ingress loop for every event.
 */
export class Router implements RoutingView {
  private readonly byRoom = new Map<string, readonly Endpoint[]>();
  private readonly roomOfEndpoint = new Map<string, string>();
  private readonly hosted: ReadonlySet<string>;

  constructor(bridges: readonly Bridge[], options: RouterOptions = {}) {
    this.hosted = new Set(options.hostedConnectors ?? []);
    for (const bridge of bridges) {
      if (this.byRoom.has(bridge.room)) throw new Error(`room "${bridge.room}" is declared twice (${bridge.source})`);
      for (const ep of bridge.endpoints) {
        const key = endpointKey(ep);
        const other = this.roomOfEndpoint.get(key);
        if (other !== undefined) {
          throw new Error(`endpoint ${key} is linked to two rooms ("${other}" and "${bridge.room}", ${bridge.source})`);
        }
        this.roomOfEndpoint.set(key, bridge.room);
      }
      this.byRoom.set(bridge.room, [...bridge.endpoints]);
    }
  }

  /** The canonical room an endpoint belongs to, or undefined when no bridge links it. */
  roomOf(endpoint: Endpoint): string | undefined {
    return this.roomOfEndpoint.get(endpointKey(endpoint));
  }

  endpointsOf(room: string): readonly Endpoint[] {
    return this.byRoom.get(room) ?? [];
  }

  get rooms(): readonly string[] {
    return [...this.byRoom.keys()];
  }

  /** The targets of an event. Events of an unknown room, or from an endpoint not linked to it, go nowhere. */
  route(event: CanonicalEvent): readonly Endpoint[] {
    const endpoints = this.byRoom.get(event.room);
    if (!endpoints) return [];
    const origin: Endpoint = { connector: event.origin.connector, address: event.origin.endpoint };
    if (this.roomOf(origin) !== event.room) return [];
    const keepOrigin = this.hosted.has(origin.connector);
    return endpoints.filter((ep) => keepOrigin || ep.connector !== origin.connector || ep.address !== origin.address);
  }
}
