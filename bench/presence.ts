import { replayStorm } from './presence-storm.ts';
import type { BenchResult } from './result.ts';

/**
 * Issue #10: the presence-storm reduction. Replays test/fixtures/presence-storm.json through the
 * mapper of each target (bench/presence-storm.ts, virtual clock) and holds the presence updates
 * each target receives against a bridge that forwards every change (target: >= 10x fewer), with
 * every person's final state checked on every target (a wrong one fails the bench).
 */
export const PRESENCE_TARGET_RATIO = 10;

export async function runPresenceBench(): Promise<BenchResult[]> {
  const storm = await replayStorm();
  const noWindow = await replayStorm(undefined, 0);
  const results: BenchResult[] = [];
  for (const t of storm.targets) {
    if (t.wrongFinal.length > 0) throw new Error(`presence storm: wrong final state on ${t.target}: ${t.wrongFinal.slice(0, 5).join('; ')}`);
    const ratio = t.forwarded / t.delivered;
    const onlyNoOps = noWindow.targets.find((x) => x.target === t.target);
    results.push({
      name: `presence storm -> ${t.target}: updates delivered`,
      value: t.delivered, unit: 'updates',
      baseline: { name: 'forward every change', value: t.forwarded },
      ratio: t.delivered / t.forwarded,
      note: `${ratio >= PRESENCE_TARGET_RATIO ? 'PASS' : 'MISS'} ${ratio.toFixed(1)}x fewer (target >= ${PRESENCE_TARGET_RATIO}x); `
        + `final state right for all ${t.checked} people; membership ${t.membershipForwarded} -> ${t.membershipDelivered}; `
        + `no-op dropping alone (coalesceMs 0): ${onlyNoOps ? (onlyNoOps.forwarded / onlyNoOps.delivered).toFixed(1) : '?'}x`,
    });
  }
  results.push({
    name: 'presence storm: mapper time per delivery', value: storm.microsPerDelivery, unit: 'µs',
    note: `${storm.events} events of ${storm.people} people over ${storm.durationMs / 1000} s, coalesceMs ${storm.coalesceMs}`,
  });
  return results;
}
