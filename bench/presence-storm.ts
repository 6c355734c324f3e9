import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { endpointKey, type Endpoint } from '../src/core/endpoint.ts';
import type { Capabilities, PresenceState } from '../src/core/capabilities.ts';
import { LIMITS, PRESENCE_STATES, SPAN_TYPES, validateEvent, type CanonicalEvent } from '../src/core/event.ts';
import { newEventId } from '../src/core/ids.ts';
import { silentLogger } from '../src/core/logger.ts';
import { createRegistry } from '../src/core/metrics.ts';
import type { Delivery, IdMap } from '../src/bus/types.ts';
import { ManualClock } from '../src/mapper/clock.ts';
import { Mapper } from '../src/mapper/mapper.ts';
import { PRESENCE_RANK, PresenceStates } from '../src/mapper/presence-states.ts';
import { EMPTY_TABLES, type MapperTables } from '../src/mapper/tables.ts';
import { hintsOf } from '../src/mapper/types.ts';
import { generateStorm, type PresenceStorm } from '../test/fixtures/gen-presence-storm.ts';

/**
 * Replays a presence storm (test/fixtures/presence-storm.json) through the mapper of three target
 * connectors, on a virtual clock (two minutes of storm take a fraction of a second, and the counts
 * do not depend on the machine's speed), and counts what each target receives against a bridge that
 * forwards every change. Used by `npm run bench` (bench/presence.ts) and by
 * test/mapper/presence-storm.test.ts, which asserts the final state of every person on every target.
 *
 * The room links one endpoint per network. What each event reaches is what the router does: every
 * endpoint but its origin, plus the origin on the hosted network (websocket). Events of the same
 * 10 ms tick travel as one egress batch, as the bus batches them.
 */

const FIXTURE = fileURLToPath(new URL('../test/fixtures/presence-storm.json', import.meta.url));
const ROOM = 'storm';
const TICK_MS = 10;

export const STORM_ENDPOINTS: Record<string, Endpoint> = {
  websocket: { connector: 'websocket', address: 'storm' },
  xmpp: { connector: 'xmpp', address: 'storm@conference.example.org' },
  mtproto: { connector: 'mtproto', address: '-1001' },
};

const base: Capabilities = {
  edits: true, retractions: true, reactions: 'any', replies: true, threads: false, presence: PRESENCE_STATES, typing: true,
  receipts: ['displayed'], attachments: { delivery: 'link', maxBytes: 100 * 1024 * 1024 }, formatting: SPAN_TYPES, maxTextLength: LIMITS.textChars,
};
/** The presence each target shows (websocket and mtproto as their connectors declare; xmpp all five show values). */
export const STORM_TARGETS: Record<string, Capabilities> = {
  websocket: base,
  xmpp: base,
  mtproto: { ...base, presence: ['available', 'away', 'offline'] },
};

export const STORM_TABLES: MapperTables = {
  ...EMPTY_TABLES,
  identities: [
    { canonical: 'alice', displayName: 'Alice', accounts: { websocket: 'demo-alice', xmpp: 'alice@example.org' } },
    { canonical: 'bob', accounts: { xmpp: 'bob@example.org', mtproto: '777000123' } },
  ],
  presenceStates: {
    xmpp: { chat: 'available', available: 'available', away: 'away', dnd: 'dnd', xa: 'xa', unavailable: 'offline' },
    mtproto: { online: 'available', recently: 'away', offline: 'offline' },
  },
  coalesceMs: 2_000,
};

/** The storm fixture: read when it is there, else generated from its seed and written (it is not committed: ~0.5 MB). */
export function loadStorm(): PresenceStorm {
  if (existsSync(FIXTURE)) return JSON.parse(readFileSync(FIXTURE, 'utf8')) as PresenceStorm;
  const storm = generateStorm();
  try { writeFileSync(FIXTURE, `${JSON.stringify(storm)}\n`); } catch { /* read-only checkout: generating it each time is fine */ }
  return storm;
}

const noIdMap: IdMap = { link: async () => {}, nativeOf: async () => undefined, canonicalOf: async () => undefined };

export interface TargetCount {
  readonly target: string;
  /** Presence updates a forward-everything bridge delivers to this target. */
  readonly forwarded: number;
  /** Presence updates the mapper delivered. */
  readonly delivered: number;
  readonly membershipForwarded: number;
  readonly membershipDelivered: number;
  /** People whose last shown state on this target differs from their real final state (must be empty). */
  readonly wrongFinal: readonly string[];
  /** People whose final state was checked on this target. */
  readonly checked: number;
}

export interface StormOutcome {
  readonly events: number;
  readonly people: number;
  readonly durationMs: number;
  readonly coalesceMs: number;
  readonly targets: readonly TargetCount[];
  /** Time spent in the mapper (its batches and window flushes, with a recording handler), per delivery handed to it. */
  readonly microsPerDelivery: number;
}

/** Replays the storm; `coalesceMs` overrides the table's window. */
export async function replayStorm(storm: PresenceStorm = loadStorm(), coalesceMs = STORM_TABLES.coalesceMs): Promise<StormOutcome> {
  const clock = new ManualClock(1_700_000_000_000);
  const tables = { ...STORM_TABLES, coalesceMs };
  const mapper = new Mapper(tables, { registry: createRegistry(false), logger: silentLogger, idMap: noIdMap, clock });
  const shown = new Map<string, Map<string, { state: string; status: string }>>();
  const counts = new Map<string, { forwarded: number; delivered: number; mForwarded: number; mDelivered: number }>();
  const handlers = new Map<string, (d: readonly Delivery[]) => Promise<void>>();
  const targets = new Map<string, ReturnType<Mapper['target']>>();
  for (const [network, caps] of Object.entries(STORM_TARGETS)) {
    const target = mapper.target(network, caps);
    const seen = new Map<string, { state: string; status: string }>();
    shown.set(network, seen);
    counts.set(network, { forwarded: 0, delivered: 0, mForwarded: 0, mDelivered: 0 });
    targets.set(network, target);
    handlers.set(network, target.wrap(async (deliveries) => {
      const c = counts.get(network)!;
      for (const d of deliveries) {
        if (d.event.kind === 'membership') { c.mDelivered++; continue; }
        if (d.event.kind !== 'presence') continue;
        c.delivered++;
        seen.set(hintsOf(d)?.identity.key ?? '?', { state: d.event.state, status: d.event.status ?? '' });
      }
    }));
  }

  // Each person's real last state per account, to check what every target ends up showing.
  const lastByAccount = new Map<number, { state: PresenceState; status: string }>();
  let seq = 0;
  const cursor = () => `${1_700_000_000_000 + Math.floor(seq / 1000)}-${seq++ % 1000}`;
  let mapperMs = 0;
  let deliveriesIn = 0;
  let i = 0;
  const events = storm.events;
  while (i < events.length) {
    const tick = Math.floor((events[i]?.[0] ?? 0) / TICK_MS) * TICK_MS;
    let t0 = performance.now();
    clock.advance(Math.max(0, 1_700_000_000_000 + tick - clock.now()));
    for (const t of targets.values()) await t.idle();
    mapperMs += performance.now() - t0;
    const batches = new Map<string, Delivery[]>();
    for (; i < events.length && (events[i]?.[0] ?? 0) < tick + TICK_MS; i++) {
      const [, p, what, status] = events[i]!;
      const [network, account] = storm.people[p]!;
      const origin = STORM_ENDPOINTS[network]!;
      const event = stormEvent(network, account, origin, what, status, clock.now());
      if (event.kind === 'presence') lastByAccount.set(p, { state: event.state, status: event.status ?? '' });
      for (const [targetNetwork, endpoint] of Object.entries(STORM_ENDPOINTS)) {
        if (targetNetwork === network && targetNetwork !== 'websocket') continue; // the router: not back to a non-hosted origin
        const c = counts.get(targetNetwork)!;
        if (event.kind === 'presence') c.forwarded++; else c.mForwarded++;
        let batch = batches.get(targetNetwork);
        if (!batch) batches.set(targetNetwork, batch = []);
        batch.push({ event, target: endpoint, cursor: cursor() });
        deliveriesIn++;
      }
    }
    t0 = performance.now();
    for (const [network, batch] of batches) await handlers.get(network)!(batch);
    mapperMs += performance.now() - t0;
  }
  clock.advance(60_000); // past every window: whatever waits must have arrived
  for (const t of targets.values()) { await t.idle(); await t.idle(); }

  const presenceTables = new PresenceStates(STORM_TABLES.presenceStates);
  const outcome: TargetCount[] = [];
  for (const [network, caps] of Object.entries(STORM_TARGETS)) {
    const expected = expectedFinal(storm, lastByAccount, network, caps, presenceTables);
    const seen = shown.get(network)!;
    const wrong: string[] = [];
    for (const [person, want] of expected) {
      const got = seen.get(person);
      if (got?.state !== want.state || got.status !== want.status) wrong.push(`${person}: shows ${got ? `${got.state}/${got.status}` : 'nothing'}, is ${want.state}/${want.status}`);
    }
    const c = counts.get(network)!;
    outcome.push({ target: network, forwarded: c.forwarded, delivered: c.delivered, membershipForwarded: c.mForwarded, membershipDelivered: c.mDelivered, wrongFinal: wrong, checked: expected.size });
  }
  return {
    events: events.length, people: storm.people.length, durationMs: storm.durationMs, coalesceMs, targets: outcome,
    microsPerDelivery: (mapperMs * 1_000) / Math.max(1, deliveriesIn),
  };
}

/**
 * What a target must show for each person at the end: their last state (for a linked person, the
 * most present of their accounts' last states), as the target can show it. A linked person with
 * an account of their own on the target is not shown there by a puppet at all.
 */
function expectedFinal(storm: PresenceStorm, last: Map<number, { state: PresenceState; status: string }>, network: string, caps: Capabilities,
  tables: PresenceStates): Map<string, { state: string; status: string }> {
  const byPerson = new Map<string, { state: PresenceState; status: string }>();
  storm.people.forEach(([from, account], p) => {
    const state = last.get(p);
    // The router never sends an event back to a non-hosted origin network: that network shows the account itself.
    if (!state || (from === network && network !== 'websocket')) return;
    const linked = STORM_TABLES.identities.find((id) => id.accounts[from] === account);
    if (linked && linked.accounts[network] !== undefined && from !== network) return;
    const key = linked ? linked.canonical : `${from}:${account}`;
    const before = byPerson.get(key);
    if (!before || PRESENCE_RANK[state.state] < PRESENCE_RANK[before.state]) byPerson.set(key, state);
  });
  const out = new Map<string, { state: string; status: string }>();
  for (const [person, { state, status }] of byPerson) {
    const target = tables.forTarget(network, state, caps.presence);
    if (target) out.set(person, { state: target.state, status });
  }
  return out;
}

function stormEvent(network: string, account: string, origin: Endpoint, what: string, status: string | undefined, now: number): CanonicalEvent {
  const common = {
    v: 1, id: newEventId(now), ts: now, room: ROOM,
    sender: { network, id: account }, origin: { connector: origin.connector, endpoint: origin.address },
  };
  const r = validateEvent(what === 'join' || what === 'leave'
    ? { ...common, kind: 'membership', action: what }
    : { ...common, kind: 'presence', state: what, ...(status !== undefined ? { status } : {}) });
  if (!r.ok) throw new Error(`storm event: ${r.error}`);
  return r.event;
}

export { endpointKey };
