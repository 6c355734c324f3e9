import type { Logger } from '../core/logger.ts';
import { isMediaId } from './media-id.ts';
import type { MediaMetrics } from './metrics.ts';
import type { MediaStore } from './store.ts';

/**
 * Garbage collection of media no retained event refers to: mark and sweep with a grace period.
 *
 * Why not reference counts: the canonical streams are trimmed by Redis (XADD MAXLEN ~) without
 * telling anyone which events went, several instances publish and trim concurrently, and a
 * count that misses one decrement (a crash between two writes) leaks forever while one that
 * misses an increment deletes a file still in use. A sweep against the references that exist
 * right now needs no bookkeeping on the publish path, heals itself after any crash, and is
 * correct with any number of instances.
 *
 * Why the grace period: a file is uploaded before the event that carries it is published (and a
 * fetch stores before the mapper forwards). Content put or touched within `graceMs` before the
 * run started is never swept, referenced or not, and the store deletes only if the content was
 * not touched again since (the check and the delete run under the store's per-id lock). So:
 * anything that makes a new reference to stored content must put or touch it first (put does).
 *
 * Safety: the mark phase must read the complete list; if it fails, nothing is deleted.
 */
export interface GarbageCollectorOptions {
  readonly store: MediaStore;
  /** Media ids referenced by retained events (e.g. mediaReferencesInStreams over every room). */
  readonly liveReferences: () => AsyncIterable<string> | Iterable<string>;
  /** Content put or touched this recently is kept even when unreferenced. */
  readonly graceMs: number;
  /** Leftovers of interrupted puts idle this long are removed. Default: 1 hour. */
  readonly debrisAgeMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly metrics?: MediaMetrics;
}

export interface GcReport {
  readonly scanned: number;
  /** Distinct live references read in the mark phase. */
  readonly live: number;
  readonly kept: { readonly referenced: number; readonly young: number };
  readonly removed: number;
  readonly debris: number;
  readonly durationMs: number;
}

/**
 * Marks as 64-bit prefixes of the ids: half the memory of whole hex strings, and a collision can
 * only keep a file too long, never delete one in use.
 */
function markKey(id: string): string {
  return id.slice(0, 16);
}

export async function collectGarbage(options: GarbageCollectorOptions): Promise<GcReport> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const cutoff = startedAt - options.graceMs;
  const live = new Set<string>();
  for await (const id of options.liveReferences()) if (isMediaId(id)) live.add(markKey(id));

  let scanned = 0;
  let referenced = 0;
  let young = 0;
  let removed = 0;
  for await (const item of options.store.list()) {
    scanned++;
    if (live.has(markKey(item.id))) referenced++;
    else if (item.touchedAt >= cutoff) young++;
    else if (await options.store.delete(item.id, { notTouchedSince: cutoff })) removed++;
    else young++; // put again while we looked
  }
  const debris = await options.store.removeDebris(options.debrisAgeMs ?? 3_600_000);
  options.metrics?.gcRemoved.inc({ kind: 'unreferenced' }, removed);
  options.metrics?.gcRemoved.inc({ kind: 'debris' }, debris);
  const report: GcReport = { scanned, live: live.size, kept: { referenced, young }, removed, debris, durationMs: now() - startedAt };
  options.logger?.info(report, 'media garbage collection done');
  return report;
}

export interface GarbageCollectorScheduleOptions extends GarbageCollectorOptions {
  /** Time between the end of one run and the start of the next. */
  readonly intervalMs: number;
}

/**
 * Runs collectGarbage every intervalMs (never two at once); explicit state, idempotent close that
 * waits for a run in progress.
 */
export class MediaGarbageCollector {
  private state: 'idle' | 'running' | 'closed' = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<GcReport | undefined> | undefined;

  constructor(private readonly options: GarbageCollectorScheduleOptions) {}

  start(): this {
    if (this.state === 'closed' || this.timer) return this;
    this.schedule();
    return this;
  }

  /**
   * One run now (or the one in progress); undefined when closed or when the run failed.
   * `graceMs` shortens the grace period for this run only (tests: content just stored).
   */
  async runNow(override: { readonly graceMs?: number } = {}): Promise<GcReport | undefined> {
    if (this.state === 'closed') return undefined;
    if (this.current) return await this.current;
    this.state = 'running';
    this.current = collectGarbage({ ...this.options, ...override }).catch((err: unknown) => {
      this.options.logger?.error({ err }, 'media garbage collection failed; nothing was deleted after the failure');
      return undefined;
    }).finally(() => {
      this.current = undefined;
      if (this.state === 'running') this.state = 'idle';
    });
    return await this.current;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNow().finally(() => { if (this.state !== 'closed') this.schedule(); });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
