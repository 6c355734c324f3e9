/** One figure of a benchmark run, as printed in the table and written to bench/last-run.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The same-run figure this one is held against (e.g. the naive relay). */
  baseline?: { name: string; value: number };
  /** value / baseline.value. */
  ratio?: number;
  note?: string;
}
