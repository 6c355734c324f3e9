import { counter, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from '../core/metrics.ts';

export interface MapperMetrics {
  /**
   * Every event the mapper did not deliver as it was: `how` says what it became (`as_message`,
   * `quoted`, `text`, `split`, `link`...) or why it was dropped (`unsupported`, `no_op`,
   * `coalesced`, `own_account`...). Nothing is dropped without a count here.
   */
  readonly degraded: Counter<string>;
  /** Time to map one egress batch (without the connector's own handling). */
  readonly batchSeconds: Histogram<string>;
  /** Reloads of mappings/ on SIGHUP: `ok` or `refused` (the old tables stay in force). */
  readonly reloads: Counter<string>;
  /** Linked identities in force. */
  readonly identities: Gauge<string>;
}

export function mapperMetrics(registry: Registry): MapperMetrics {
  return {
    degraded: counter(registry, 'switchboard_mapper_degraded_total', 'Events the mapper degraded or dropped for a target, by kind and how', ['target', 'kind', 'how']),
    batchSeconds: histogram(registry, 'switchboard_mapper_batch_seconds', 'Time the mapper took per egress batch', ['target'],
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]),
    reloads: counter(registry, 'switchboard_mapper_reloads_total', 'Reloads of mappings/ (SIGHUP), by result', ['result']),
    identities: gauge(registry, 'switchboard_mapper_identities', 'Linked identities in force (mappings/identities.yaml)'),
  };
}
