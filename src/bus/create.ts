import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { MemoryBus } from './memory/memory-bus.ts';
import type { BusOptions } from './options.ts';
import type { FastPaths } from './redis/fast-paths.ts';
import type { Bus } from './types.ts';

/** Which driver, and what it needs beyond BusOptions: what the `bus` section of config.yaml becomes. */
export type BusDriverOptions = Omit<BusOptions, 'logger' | 'registry'> & (
  | { readonly driver: 'memory' }
  | {
    readonly driver: 'redis';
    readonly redis: { readonly url: string; readonly prefix: string };
    /** Shortcuts to switch off (docs/bus.md, "Fast paths"); all on when absent. */
    readonly fastPaths?: Partial<FastPaths>;
  }
);

export interface CreateBusDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Names this process in the leases of the redis driver. */
  readonly instanceId: string;
}

/** The bus the options ask for. The memory driver warns that it is not durable. */
export async function createBus(options: BusDriverOptions, deps: CreateBusDeps): Promise<Bus> {
  const opts: BusOptions = {
    batch: options.batch,
    retention: options.retention,
    delivery: options.delivery,
    logger: deps.logger,
    registry: deps.registry,
    ...(options.stateFile !== undefined ? { stateFile: options.stateFile } : {}),
  };
  if (options.driver === 'redis') {
    // Loaded only when asked for: BullMQ and ioredis are most of a start-up on the memory driver.
    const { RedisBus } = await import('./redis/redis-bus.ts');
    const bus = await RedisBus.connect({ ...opts, url: options.redis.url, prefix: options.redis.prefix, instanceId: deps.instanceId,
      ...(options.fastPaths ? { fastPaths: options.fastPaths } : {}) });
    deps.logger.info({ prefix: options.redis.prefix, instance: deps.instanceId }, 'bus: redis driver (durable)');
    return bus;
  }
  deps.logger.warn({ stateFile: options.stateFile }, 'bus: memory driver — NOT durable, events in flight are lost when the process exits; use bus.driver: redis in production');
  return new MemoryBus(opts);
}
