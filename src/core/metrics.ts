import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/**
 * One registry per bridge process (not prom-client's global one), so tests can start several
 * bridges in one process without "metric already registered" errors.
 */
export function createRegistry(withDefaults = true): Registry {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'switchboard_process_' });
  return registry;
}

/** Returns the metric of that name if the registry already has it, else makes it (idempotent). */
export function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  const found = registry.getSingleMetric(name);
  if (found) return found as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  const found = registry.getSingleMetric(name);
  if (found) return found as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram(registry: Registry, name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram<string> {
  const found = registry.getSingleMetric(name);
  if (found) return found as Histogram<string>;
  return new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
}
