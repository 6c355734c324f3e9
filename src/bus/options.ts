import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';

/** What both drivers take; the same fields as the `bus` section of config.yaml. */
export interface BusOptions {
  readonly batch: { readonly maxEvents: number; readonly maxWaitMs: number };
  readonly retention: {
    readonly maxEventsPerRoom: number;
    readonly dedupeSeconds: number;
    /** How long a sender's transaction id is recognised (publishOnce)... */
    readonly transactionSeconds: number;
    /** ...as long as its room had fewer than this many later transactions. */
    readonly transactionsPerRoom: number;
    /** Id map entries kept per endpoint (the oldest are forgotten first). */
    readonly idMapPerEndpoint: number;
  };
  readonly delivery: { readonly maxAttempts: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  readonly logger: Logger;
  readonly registry: Registry;
  /** Memory driver: the file that keeps connector state (StateStore) across restarts; none = memory only. */
  readonly stateFile?: string;
}

export function backoffDelay(attempt: number, opts: BusOptions['delivery']): number {
  return Math.min(opts.maxBackoffMs, opts.backoffMs * 2 ** Math.max(0, attempt - 1));
}
