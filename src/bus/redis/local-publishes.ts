import type { CanonicalEvent } from '../../core/event.ts';

/**
 * The events of ingress jobs this process just wrote, by job id, until its own router takes the
 * job: the router then uses these (validated, and frozen, at publish) instead of validating what
 * Redis returns again. Bounded by event count, oldest dropped first: jobs another instance routes
 * are never taken here and age out.
 */
export class LocalPublishes {
  private readonly byJob = new Map<string, readonly CanonicalEvent[]>();
  private events = 0;

  constructor(private readonly maxEvents: number) {}

  remember(jobId: string, events: readonly CanonicalEvent[]): void {
    if (this.byJob.has(jobId)) return;
    this.byJob.set(jobId, events);
    this.events += events.length;
    for (const [id, batch] of this.byJob) {
      if (this.events <= this.maxEvents) break;
      this.drop(id, batch);
    }
  }

  /** The events of that job, forgotten here from now on (undefined: not written by this process, or aged out). */
  take(jobId: string): readonly CanonicalEvent[] | undefined {
    const events = this.byJob.get(jobId);
    if (events) this.drop(jobId, events);
    return events;
  }

  private drop(jobId: string, events: readonly CanonicalEvent[]): void {
    this.byJob.delete(jobId);
    this.events -= events.length;
  }
}
