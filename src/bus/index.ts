export * from './types.ts';
export type { BusOptions } from './options.ts';
export { MemoryBus } from './memory/memory-bus.ts';
