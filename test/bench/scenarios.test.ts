import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../bench/stats.ts';
import { runLatency, runThroughput } from '../../bench/scenarios.ts';
import { decodeStamp, encodeStamp, type BenchLink } from '../../bench/link.ts';
import { NaiveRelay } from '../../bench/naive-relay.ts';
import { openLink } from '../../bench/clients.ts';
import { RedisProbe } from '../../bench/redis.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

/** An in-process link that delivers each message after `delayMs`, optionally corrupting the stream. */
function fakeLink(opts: { delayMs?: number | ((seq: number) => number); mangle?: (seq: number) => number[] } = {}): BenchLink & { maxInFlight: number; sent: number } {
  let handler: ((seq: number, sentAt: number) => void) | undefined;
  let inFlight = 0;
  let ordered = Promise.resolve();
  const link = {
    maxInFlight: 0,
    sent: 0,
    send(seq: number, sentAt: number) {
      inFlight++;
      link.sent++;
      link.maxInFlight = Math.max(link.maxInFlight, inFlight);
      const { seq: s, sentAt: t } = decodeStamp(encodeStamp(seq, sentAt));
      const deliver = () => {
        inFlight--;
        for (const out of opts.mangle ? opts.mangle(s) : [s]) handler?.(out, t);
      };
      if (typeof opts.delayMs !== 'function') {
        setTimeout(deliver, opts.delayMs ?? 0);
        return;
      }
      // A delay per message, delivered in order like a real link: never before the one sent before it.
      const dueAt = performance.now() + opts.delayMs(s);
      ordered = ordered.then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, dueAt - performance.now())))).then(deliver);
    },
    onReceive(h: (seq: number, sentAt: number) => void) { handler = h; },
    onFailure() {},
    async close() {},
  };
  return link;
}

describe('bench stats', () => {
  test('nearest-rank percentiles over all samples', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000..1, unsorted
    const s = summarize(samples);
    assert.equal(s.count, 1000);
    assert.equal(s.p50, 500);
    assert.equal(s.p90, 900);
    assert.equal(s.p99, 990);
    assert.equal(s.max, 1000);
    assert.equal(s.mean, 500.5);
  });

  test('refuses to summarize nothing', () => {
    assert.throws(() => summarize([]), /no latency samples/);
  });
});

describe('bench scenarios', () => {
  test('throughput receives every message once and never has more than the window in flight', async () => {
    const link = fakeLink();
    const r = await runThroughput(link, { messages: 2_000, window: 50, maxSendMs: 5_000, drainTimeoutMs: 5_000 });
    assert.equal(r.messages, 2_000);
    assert.equal(r.timeLimited, false);
    assert.ok(r.perSecond > 0 && Number.isFinite(r.perSecond));
    assert.ok(link.maxInFlight <= 50, `in flight ${link.maxInFlight}`);
  });

  test('throughput fails on a duplicate instead of counting it', async () => {
    const link = fakeLink({ mangle: (s) => (s === 10 ? [10, 10] : [s]) });
    await assert.rejects(runThroughput(link, { messages: 100, window: 1, maxSendMs: 5_000, drainTimeoutMs: 1_000 }), /duplicate/);
  });

  test('throughput fails on a gap (a lost message followed by later ones)', async () => {
    const link = fakeLink({ mangle: (s) => (s === 3 ? [] : [s]) });
    await assert.rejects(runThroughput(link, { messages: 100, window: 10, maxSendMs: 2_000, drainTimeoutMs: 1_000 }), /message 4 arrived when 3 was next/);
  });

  test('throughput fails when its time is up, saying how far it got', async () => {
    const link = fakeLink({ mangle: (s) => (s === 99 ? [] : [s]) });
    await assert.rejects(runThroughput(link, { messages: 100, window: 10, maxSendMs: 2_000, drainTimeoutMs: 300 }), /99\/100 received 300 ms after the last send/);
  });

  test('throughput stops sending when its send time is up and measures what it sent', async () => {
    const link = fakeLink({ delayMs: 5 });
    const r = await runThroughput(link, { messages: 1_000_000, window: 10, maxSendMs: 300, drainTimeoutMs: 1_000 });
    assert.equal(r.timeLimited, true);
    assert.ok(r.messages > 0 && r.messages < 1_000_000, `${r.messages} messages`);
    // A 300 ms timer may fire up to 1 ms early by performance.now(): libuv counts timers from its
    // loop time in whole milliseconds (a run had 0.2995 s).
    assert.ok(r.seconds >= 0.299 && r.seconds < 1.3, `${r.seconds} s`);
  });

  test('latency paces at the asked rate and measures the added delay', async () => {
    const link = fakeLink({ delayMs: 20 });
    const r = await runLatency(link, { ratePerSecond: 500, durationMs: 400, tickMs: 1, drainTimeoutMs: 2_000 });
    assert.equal(r.count, 200);
    assert.ok(r.sentPerSecond > 400 && r.sentPerSecond < 600, `sent ${r.sentPerSecond}/s`);
    assert.ok(r.p50 >= 19, `p50 ${r.p50}`);
    assert.ok(r.max >= r.p99 && r.p99 >= r.p50);
  });

  test('latency sends its warm-up at the same rate, waits for it, and does not count it', async () => {
    // The first 20 messages are very slow (a client still warming up): 600 ms. The warm-up is 500
    // (1 s at 500/s), so the slow ones and those queued behind them (the link delivers in order:
    // all by ~640 ms) are in it. A counted one of them would show 600 ms or more; the bound leaves
    // a busy machine 500 ms of stall before it could fail (150 ms against a 100 ms bound failed
    // once, on a 125 ms stall during a full run beside three bridges).
    const link = fakeLink({ delayMs: (seq) => (seq < 20 ? 600 : 2) });
    const r = await runLatency(link, { ratePerSecond: 500, warmupMs: 1_000, durationMs: 400, tickMs: 1, drainTimeoutMs: 3_000 });
    assert.equal(link.sent, 700);
    assert.equal(r.count, 200);
    assert.ok(r.max < 500, `max ${r.max}: a warm-up message was counted`);
    assert.ok(r.sentPerSecond > 400 && r.sentPerSecond < 600, `sent ${r.sentPerSecond}/s`);
  });
});

describe('naive relay (real redis-server)', () => {
  let redis: RedisServer;
  before(async () => { redis = await startRedis(); });
  after(async () => { await redis.stop(); });

  test('relays ws -> one BullMQ queue -> the other ws, in order, one job per message', async () => {
    const probe = new RedisProbe(redis.url);
    const relay = await NaiveRelay.start(redis.url, 'naive-test');
    try {
      const link = await openLink(relay.linkSpec());
      try {
        await probe.resetStats();
        const r = await runThroughput(link, { messages: 300, window: 50, maxSendMs: 20_000, drainTimeoutMs: 10_000 });
        assert.equal(r.messages, 300);
        const stats = await probe.commandStats();
        // One BullMQ add (a Lua script) per message, plus the worker's moveToFinished per job.
        assert.ok((stats.byCommand['evalsha']?.calls ?? 0) >= 300, JSON.stringify(stats.byCommand['evalsha']));
      } finally {
        await link.close();
      }
    } finally {
      await relay.close();
      await probe.close();
    }
  });
});
