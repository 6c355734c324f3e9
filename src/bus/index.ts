export * from './types.ts';
export type { BusOptions } from './options.ts';
export { MemoryBus } from './memory/memory-bus.ts';
export { RedisBus, type RedisBusOptions } from './redis/redis-bus.ts';
export { createBus, type CreateBusDeps } from './create.ts';
