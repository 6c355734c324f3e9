import type { Bus } from '../bus/types.ts';
import type { ComponentHealth } from '../core/health.ts';

export interface HealthReport {
  readonly status: 'ok' | 'unavailable' | 'draining';
  readonly bus: Bus['driver'];
  readonly durable: boolean;
  readonly instance: string;
  readonly uptimeSeconds: number;
  readonly connectors: Readonly<Record<string, ComponentHealth>>;
}

/** How long /healthz waits for the bus before calling it unhealthy: a probe must answer, not hang. */
const BUS_PROBE_TIMEOUT_MS = 2_000;

async function busHealthy(bus: Bus): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), BUS_PROBE_TIMEOUT_MS); });
  try {
    return await Promise.race([bus.healthy().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthSource {
  readonly bus: Bus;
  readonly instance: string;
  readonly startedAt: number;
  /** True once shutdown began: load balancers should stop sending new clients here. */
  draining(): boolean;
  connectors(): Readonly<Record<string, ComponentHealth>>;
}

/**
 * The /healthz report: 'ok' only when the bus answers, no connector is down and the instance is
 * not shutting down. While draining it answers at once, without probing a bus that may be stalled
 * (a load balancer must learn of the shutdown within its probe interval).
 */
export async function healthReport(source: HealthSource): Promise<HealthReport> {
  const draining = source.draining();
  const healthy = draining || await busHealthy(source.bus);
  const connectors = source.connectors();
  const connectorsUp = Object.values(connectors).every((c) => c.status !== 'down');
  return {
    status: source.draining() ? 'draining' : healthy && connectorsUp ? 'ok' : 'unavailable',
    bus: source.bus.driver,
    durable: source.bus.durable,
    instance: source.instance,
    uptimeSeconds: Math.round((Date.now() - source.startedAt) / 1000),
    connectors,
  };
}
