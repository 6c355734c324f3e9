import type { CanonicalEvent } from './event.ts';
import type { IgnoredBy, IgnoreRules } from './ignore.ts';

/**
 * The shared vocabulary of where things are: endpoints (a linked place on one network), bridges
 * (the endpoints linked as one canonical room) and cursors (positions in a room's canonical
 * stream). Config produces them, the router and the bus use them, connectors serve them.
 */

/** A linked place on one network: the connector that owns it and its native address there. */
export interface Endpoint {
  readonly connector: string;
  /** Native room address: a WS room name, a MUC JID, an MTProto chat id. */
  readonly address: string;
}

export function endpointKey(e: Endpoint): string {
  return `${e.connector}:${e.address}`;
}

/**
 * Which way the bridge carries an endpoint's traffic (bridges/ `direction:`, like matterbridge's
 * gateway in/out/inout):
 * - `both`: what is said there reaches the other endpoints, and what they say is posted there;
 * - `send-only`: what is said there reaches the others; nothing of theirs is posted there
 *   (matterbridge's `in`): a source, such as an announcements room mirrored elsewhere;
 * - `receive-only`: it gets what the others say; what is said there stays there and never enters
 *   the room's stream (matterbridge's `out`): a read-only mirror. Connectors that host the place
 *   themselves (WebSocket rooms, MTProto groups) refuse a post there with their "read-only" error.
 */
export const DIRECTIONS = ['both', 'send-only', 'receive-only'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** An endpoint as a bridge links it: the place, and which way it is bridged (absent: `both`). */
export interface LinkedEndpoint extends Endpoint {
  readonly direction?: Direction;
}

/** One linked room set, as loaded from a file in bridges/. */
export interface Bridge {
  /** The canonical room key every event of these endpoints carries. */
  readonly room: string;
  readonly endpoints: readonly LinkedEndpoint[];
  /** The file it came from, for error messages. */
  readonly source: string;
  /** The line of each endpoint in that file (same order), for error messages. */
  readonly endpointLines?: readonly number[];
  /** What the room keeps from the other networks (bridges/ `ignore:`, core/ignore.ts); absent: nothing. */
  readonly ignore?: IgnoreRules;
  /** The line of each of its `ignore.senders` in that file (same order), for warnings. */
  readonly ignoreSenderLines?: readonly number[];
}

/**
 * A position in a room's canonical stream. Opaque to clients; `<ms>-<seq>` like a Redis Stream
 * id in both drivers, so cursors compare the same way everywhere (see compareCursors).
 */
export type Cursor = string;

const CURSOR_PATTERN = /^(\d{1,16})-(\d{1,16})$/;

/** Before every event: reading after it reads a stream from its oldest retained entry. */
export const START_CURSOR: Cursor = '0-0';

export function isCursor(value: unknown): value is Cursor {
  return typeof value === 'string' && CURSOR_PATTERN.test(value);
}

/** Orders two cursors (negative: a before b). Both must satisfy isCursor. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const ma = CURSOR_PATTERN.exec(a);
  const mb = CURSOR_PATTERN.exec(b);
  if (!ma || !mb) throw new Error(`not a cursor: ${ma ? b : a}`);
  const ta = BigInt(ma[1] ?? '0'); const tb = BigInt(mb[1] ?? '0');
  if (ta !== tb) return ta < tb ? -1 : 1;
  const sa = BigInt(ma[2] ?? '0'); const sb = BigInt(mb[2] ?? '0');
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

/**
 * What a connector may know of the routing table: which canonical room an endpoint belongs to
 * and which endpoints a room links. Read-only; the router implements it.
 */
export interface RoutingView {
  /** The canonical room an endpoint belongs to, or undefined when no bridge links it. */
  roomOf(endpoint: Endpoint): string | undefined;
  /** Every endpoint linked with a room (empty for an unknown room). */
  endpointsOf(room: string): readonly Endpoint[];
  /** Every canonical room. */
  readonly rooms: readonly string[];
  /** Which way a linked endpoint is bridged (`both` for one no bridge links, and for direct chats). */
  directionOf(endpoint: Endpoint): Direction;
  /**
   * Where the router sends an event (what a replay from the stream must match). `ignored` hears
   * of an event `ignore:` rules keep back (a connector telling its client why, a metric).
   */
  route(event: CanonicalEvent, ignored?: (rule: IgnoredBy) => void): readonly Endpoint[];
}

/** What changed for one network between two routing tables (see Connector.endpointsChanged). */
export interface EndpointDiff {
  /** Every endpoint of the network the new table links: what its connector serves from now on. */
  readonly endpoints: readonly Endpoint[];
  /** Newly linked: not served before. */
  readonly added: readonly Endpoint[];
  /** No longer linked: served before, not any more. */
  readonly removed: readonly Endpoint[];
  /** Still linked, to another canonical room (`from` -> `to`): the same place, now bridged with other endpoints. */
  readonly moved: readonly { readonly endpoint: Endpoint; readonly from: string; readonly to: string }[];
  /** Still linked (in the same or another room), bridged another way now (`from` -> `to`). */
  readonly redirected: readonly { readonly endpoint: Endpoint; readonly from: Direction; readonly to: Direction }[];
}

/** The endpoints of `network` in `before` and `after` compared: added, removed, moved to another room. */
export function diffEndpoints(before: readonly Bridge[], after: readonly Bridge[], network: string): EndpointDiff {
  const roomsOf = (bridges: readonly Bridge[]) => {
    const rooms = new Map<string, { endpoint: Endpoint; room: string; direction: Direction }>();
    for (const b of bridges) {
      for (const e of b.endpoints) if (e.connector === network) rooms.set(endpointKey(e), { endpoint: placeOf(e), room: b.room, direction: e.direction ?? 'both' });
    }
    return rooms;
  };
  const was = roomsOf(before);
  const now = roomsOf(after);
  const added: Endpoint[] = [];
  const moved: { endpoint: Endpoint; from: string; to: string }[] = [];
  const redirected: { endpoint: Endpoint; from: Direction; to: Direction }[] = [];
  for (const [key, { endpoint, room, direction }] of now) {
    const earlier = was.get(key);
    if (earlier === undefined) { added.push(endpoint); continue; }
    if (earlier.room !== room) moved.push({ endpoint, from: earlier.room, to: room });
    if (earlier.direction !== direction) redirected.push({ endpoint, from: earlier.direction, to: direction });
  }
  const removed = [...was].filter(([key]) => !now.has(key)).map(([, { endpoint }]) => endpoint);
  return { endpoints: [...now.values()].map(({ endpoint }) => endpoint), added, removed, moved, redirected };
}

/** The place alone (connector and address), without how a bridge links it: what connectors compare and store. */
export function placeOf(e: Endpoint): Endpoint {
  return { connector: e.connector, address: e.address };
}
