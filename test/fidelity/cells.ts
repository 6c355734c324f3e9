/**
 * What a cell of the matrix is: how one event kind sent natively on one network renders natively
 * on another, as observed on the target's own client. A cell is produced only by an assertion on
 * that rendering (cells that fail are collected as FAILED and fail the test).
 */
import type { Registry } from '../../src/core/metrics.ts';
import type { Net } from './rig.ts';

export type Verdict = 'native' | 'degraded' | 'not carried' | 'not sendable' | 'not bridged' | 'FAILED';

export interface Cell {
  readonly verdict: Verdict;
  /** What the target's client shows, or why nothing: markdown, one line. */
  readonly how: string;
}

export const native = (how: string): Cell => ({ verdict: 'native', how });
export const degraded = (how: string): Cell => ({ verdict: 'degraded', how });
export const notCarried = (how: string): Cell => ({ verdict: 'not carried', how });
export const notSendable = (how: string): Cell => ({ verdict: 'not sendable', how });
/** XMPP -> XMPP: the MUC delivers its occupants' messages itself; the bridge must add nothing. */
export const ROOM_ITSELF: Cell = { verdict: 'not bridged', how: 'the MUC delivers it to its occupants itself; the bridge sends nothing back (no echo, checked at the end)' };

export type Row = Record<Net, Cell>;

/** Runs the three target checks concurrently; a check that throws becomes a FAILED cell (collected by the test). */
export async function row(checks: Record<Net, () => Promise<Cell>>): Promise<Row> {
  const entries = await Promise.all((Object.keys(checks) as Net[]).map(async (net) => {
    try {
      return [net, await checks[net]()] as const;
    } catch (err) {
      const e = err as Error & { actual?: unknown; expected?: unknown };
      const detail = 'actual' in e ? ` (got ${JSON.stringify(e.actual)}, want ${JSON.stringify(e.expected)})` : '';
      return [net, { verdict: 'FAILED', how: `${e.message.split('\n')[0] ?? 'failed'}${detail}` } satisfies Cell] as const;
    }
  }));
  return Object.fromEntries(entries) as Row;
}

/** Everything a row of one source cannot send: the same cell for every target. */
export function unsendable(how: string): Row {
  const cell = notSendable(how);
  return { websocket: cell, xmpp: cell, mtproto: cell };
}

// ---- the mapper's own account of what it degraded (switchboard_mapper_degraded_total) ----------

type Counts = Map<string, number>;

/** `target|kind|how` -> count, now. */
export async function degradedCounts(registry: Registry): Promise<Counts> {
  const metric = registry.getSingleMetric('switchboard_mapper_degraded_total');
  const counts: Counts = new Map();
  if (!metric) return counts;
  for (const v of (await metric.get()).values) counts.set(`${String(v.labels['target'])}|${String(v.labels['kind'])}|${String(v.labels['how'])}`, v.value);
  return counts;
}

/**
 * The `how` labels the mapper counted for `target` and canonical `kind` between two snapshots.
 * Timing-dependent outcomes (coalesced, no_op) are left out: they depend on when updates arrive,
 * not on what the target can show.
 */
export function degradedBetween(before: Counts, after: Counts, target: Net, kind: string): string[] {
  const hows: string[] = [];
  for (const [key, value] of after) {
    const [t, k, how] = key.split('|') as [string, string, string];
    if (t !== target || k !== kind || how === 'coalesced' || how === 'no_op') continue;
    if (value > (before.get(key) ?? 0)) hows.push(how);
  }
  return hows.sort();
}
