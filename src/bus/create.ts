import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { MemoryBus } from './memory/memory-bus.ts';
import type { BusOptions } from './options.ts';
import type { Bus } from './types.ts';

export interface CreateBusDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Names this process in the leases of the redis driver. */
  readonly instanceId: string;
}

/** The bus the `bus` section of config.yaml asks for. The memory driver warns that it is not durable. */
export async function createBus(config: Config['bus'], deps: CreateBusDeps): Promise<Bus> {
  const opts: BusOptions = {
    batch: config.batch,
    retention: config.retention,
    delivery: config.delivery,
    logger: deps.logger,
    registry: deps.registry,
  };
  if (config.driver === 'redis') {
    // Loaded only when asked for: BullMQ and ioredis are most of a start-up on the memory driver.
    const { RedisBus } = await import('./redis/redis-bus.ts');
    const bus = await RedisBus.connect({ ...opts, url: config.redis.url, prefix: config.redis.prefix, instanceId: deps.instanceId, fastPaths: config.fastPaths });
    deps.logger.info({ prefix: config.redis.prefix, instance: deps.instanceId }, 'bus: redis driver (durable)');
    return bus;
  }
  deps.logger.warn('bus: memory driver — NOT durable, events in flight are lost when the process exits; use bus.driver: redis in production');
  return new MemoryBus(opts);
}
