/** Latency summary in milliseconds. Percentiles are nearest-rank over every sample (no histogram buckets). */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new Error('no latency samples');
  const sorted = Float64Array.from(samples).sort();
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    count: sorted.length,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sum / sorted.length,
  };
}
