import { performance } from 'node:perf_hooks';
import type { BenchLink } from './link.ts';
import { summarize, type LatencySummary } from './stats.ts';

/**
 * The two scenarios of issue #2. Both are bounded in message count AND wall time, and both
 * check what they receive: every message exactly once, in send order (both relays promise
 * order), or the scenario fails instead of reporting a number.
 */

/** Tracks what the receiver got: done when every seq in [0, expected) arrived once, in order. */
class Receipts {
  received = 0;
  private nextSeq = 0;
  failure: Error | undefined;

  constructor(private readonly expected: () => number) {}

  accept(seq: number): void {
    if (seq !== this.nextSeq) {
      this.failure ??= new Error(`message ${seq} arrived when ${this.nextSeq} was next (${seq < this.nextSeq ? 'duplicate' : 'gap or reorder'})`);
      return;
    }
    this.nextSeq++;
    this.received++;
  }

  get done(): boolean {
    return this.received >= this.expected();
  }
}

export interface ThroughputOptions {
  /** Messages to send at most. */
  readonly messages: number;
  /** Most messages sent but not yet received: keeps the sender from merely filling socket buffers. */
  readonly window: number;
  /** Time to send in at most: a slow relay is measured over this long instead of holding up the run. */
  readonly maxSendMs: number;
  /** After the last send, how long the rest may take to arrive before the scenario fails. */
  readonly drainTimeoutMs: number;
}

export interface ThroughputResult {
  /** Messages sent and received (all of `messages`, unless the send time ran out first). */
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** True when the send time ran out before all `messages` were sent. */
  readonly timeLimited: boolean;
}

/**
 * Sends up to `messages` as fast as the window allows, for at most maxSendMs; the rate is what
 * the receiving client got per second, from the first send to the last message received.
 */
export async function runThroughput(link: BenchLink, opts: ThroughputOptions): Promise<ThroughputResult> {
  let target = opts.messages;
  const receipts = new Receipts(() => target);
  let sent = 0;
  let timeLimited = false;
  const started = performance.now();
  return await new Promise<ThroughputResult>((resolve, reject) => {
    let drainTimer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(sendTimer);
      if (drainTimer) clearTimeout(drainTimer);
      if (err) { reject(err); return; }
      const seconds = (performance.now() - started) / 1000;
      resolve({ messages: target, seconds, perSecond: target / seconds, timeLimited });
    };
    const sendTimer = setTimeout(() => {
      // Out of send time: what was sent is what must arrive.
      timeLimited = sent < opts.messages;
      target = sent;
      if (receipts.done) { finish(); return; }
      drainTimer = setTimeout(() => {
        finish(new Error(`throughput: ${receipts.received}/${sent} received ${opts.drainTimeoutMs} ms after the last send`));
      }, opts.drainTimeoutMs);
    }, opts.maxSendMs);
    const pump = (): void => {
      if (finished) return;
      while (sent < target && sent - receipts.received < opts.window) {
        link.send(sent, performance.now());
        sent++;
      }
      if (sent >= opts.messages && !drainTimer) {
        clearTimeout(sendTimer);
        drainTimer = setTimeout(() => {
          finish(new Error(`throughput: ${receipts.received}/${sent} received ${opts.drainTimeoutMs} ms after the last send`));
        }, opts.drainTimeoutMs);
      }
    };
    link.onReceive((seq) => {
      receipts.accept(seq);
      if (receipts.failure) finish(receipts.failure);
      else if (receipts.done) finish();
      else pump();
    });
    link.onFailure((err) => finish(err));
    pump();
  });
}

export interface LatencyOptions {
  readonly ratePerSecond: number;
  /** How long the measured part lasts. */
  readonly durationMs: number;
  /**
   * How long the same client sends at the same rate before it (default 0): those messages are
   * sent and received like the rest but not counted, so a client that is still warming up (its
   * JIT, its session's first calls) does not weigh on the steady state being measured.
   */
  readonly warmupMs?: number;
  /** How often the pacer wakes; each tick sends what the schedule says is due by now. */
  readonly tickMs: number;
  /** How long to wait after the last send for the rest to arrive. */
  readonly drainTimeoutMs: number;
}

export interface LatencyResult extends LatencySummary {
  /** Every message's latency (ms), in receive order: rounds are pooled for the verdict (relay-bench.ts). */
  readonly samples: readonly number[];
  /** The rate actually sent (messages / pacing time): should be ratePerSecond. */
  readonly sentPerSecond: number;
  /** The furthest any send trailed its scheduled time, in ms. */
  readonly pacerLagMs: number;
}

/**
 * A paced sender at a fixed rate: every tick sends what the schedule says is due by now (so a
 * late tick catches up instead of lowering the rate). Each message carries its actual send time;
 * how far sends trailed their schedule is reported as pacerLagMs, so a stalled sender (which would
 * hide latency: coordinated omission) is visible rather than silent.
 */
export async function runLatency(link: BenchLink, opts: LatencyOptions): Promise<LatencyResult> {
  const warmup = Math.round((opts.ratePerSecond * (opts.warmupMs ?? 0)) / 1000);
  const total = warmup + Math.round((opts.ratePerSecond * opts.durationMs) / 1000);
  const receipts = new Receipts(() => total);
  const samples: number[] = [];
  const intervalMs = 1000 / opts.ratePerSecond;
  let sent = 0;
  const started = performance.now();
  let pacingMs = 0;
  let pacerLagMs = 0;
  return await new Promise<LatencyResult>((resolve, reject) => {
    const hardTimer = setTimeout(() => {
      clearInterval(ticker);
      reject(new Error(`latency: ${receipts.received}/${total} received after ${(opts.warmupMs ?? 0) + opts.durationMs + opts.drainTimeoutMs} ms`));
    }, (opts.warmupMs ?? 0) + opts.durationMs + opts.drainTimeoutMs);
    const finish = (err?: Error): void => {
      clearInterval(ticker);
      clearTimeout(hardTimer);
      if (err) { reject(err); return; }
      resolve({ ...summarize(samples), samples, sentPerSecond: total / (pacingMs / 1000), pacerLagMs });
    };
    link.onReceive((seq, sentAt) => {
      if (seq >= warmup) samples.push(performance.now() - sentAt);
      receipts.accept(seq);
      if (receipts.failure) finish(receipts.failure);
      else if (receipts.done) finish();
    });
    link.onFailure((err) => finish(err));
    const ticker = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - started) / intervalMs) + 1);
      while (sent < due) {
        const at = performance.now();
        pacerLagMs = Math.max(pacerLagMs, at - (started + sent * intervalMs));
        link.send(sent, at);
        sent++;
      }
      if (sent >= total) {
        clearInterval(ticker);
        pacingMs = performance.now() - started;
      }
    }, opts.tickMs);
  });
}
