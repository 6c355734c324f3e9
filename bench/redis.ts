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

  /** Empties the data set and zeroes command stats: only between relays, never under a running one. */
  async reset(): Promise<void> {
    await this.admin.flushall();
    await this.admin.config('RESETSTAT');
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
