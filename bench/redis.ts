import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../test/helpers/redis.ts';

export type { RedisServer };

/**
 * The bench's throwaway redis-server: the test helper's (loopback, free port, AOF everysec, own
 * data dir, killed by PID). Both relays run against this one server with this one config, so
 * persistence costs the same on both sides of every ratio.
 */
export async function startBenchRedis(): Promise<RedisServer> {
  return await startRedis();
}

/** Calls and CPU time per Redis command since the last reset: how many round trips a message costs. */
export interface CommandStats {
  readonly calls: number;
  readonly usec: number;
  readonly byCommand: Record<string, { calls: number; usec: number }>;
}

/** Reads a server's stats through a short-lived admin connection (never the relays' own). */
export class RedisProbe {
  private readonly admin: Redis;

  constructor(url: string) {
    this.admin = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  /**
   * Empties the data set, rewrites the (now empty) AOF and zeroes command stats: only between
   * relays, never under a running one. Without the rewrite here the append-only file grows over
   * the rounds (FLUSHALL only appends to it) until Redis rewrites it by itself, forking in the
   * middle of whichever round is running: a 25-30 ms stall of that round, not of the path it
   * measures (bench/RESULTS.md, 2026-12-04 15:10). A round writes far less than the 64 MB Redis
   * waits for before rewriting on its own.
   */
  async reset(): Promise<void> {
    await this.admin.flushall();
    await this.rewriteAof();
    await this.admin.config('RESETSTAT');
  }

  /** Rewrites the AOF now and waits until no rewrite runs or waits (at most 10 s). */
  private async rewriteAof(): Promise<void> {
    await this.admin.bgrewriteaof().catch(() => undefined); // one already running: wait for it below
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await this.admin.info('persistence');
      if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) return;
      if (Date.now() > deadline) throw new Error('the bench redis-server is still rewriting its AOF after 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Zeroes command stats only (a running relay's leases and queues must stay where they are). */
  async resetStats(): Promise<void> {
    await this.admin.config('RESETSTAT');
  }

  async commandStats(): Promise<CommandStats> {
    const text = await this.admin.info('commandstats');
    const byCommand: Record<string, { calls: number; usec: number }> = {};
    let calls = 0;
    let usec = 0;
    // Lines look like: cmdstat_evalsha:calls=12,usec=345,usec_per_call=28.75,...
    for (const line of text.split(/\r?\n/)) {
      const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
      if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
      // The probe's own INFO / FLUSHALL / CONFIG calls are not part of any relay's cost.
      if (m[1] === 'info' || m[1] === 'flushall' || m[1] === 'config') continue;
      const c = Number(m[2]);
      const u = Number(m[3]);
      byCommand[m[1]] = { calls: c, usec: u };
      calls += c;
      usec += u;
    }
    return { calls, usec, byCommand };
  }

  async close(): Promise<void> {
    await this.admin.quit().catch(() => this.admin.disconnect());
  }
}
