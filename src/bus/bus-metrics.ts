import { counter, histogram, type Registry } from '../core/metrics.ts';

/** The bus's own counters, shared by both drivers so dashboards don't care which one runs. */
export function busMetrics(registry: Registry) {
  return {
    published: counter(registry, 'switchboard_bus_published_events_total', 'Events accepted onto the ingress queue'),
    duplicates: counter(registry, 'switchboard_bus_duplicate_events_total', 'Events dropped at routing because their id was already routed'),
    routedAtPublish: counter(registry, 'switchboard_bus_routed_at_publish_batches_total', 'Ingress batches routed by the publishing process itself (its router was idle)'),
    routed: counter(registry, 'switchboard_bus_routed_events_total', 'Events appended to a room stream by the router'),
    delivered: counter(registry, 'switchboard_bus_delivered_total', 'Deliveries handed to a connector', ['connector']),
    handOffs: counter(registry, 'switchboard_bus_direct_deliveries_total',
      'Delivery batches the router handed straight to an idle local consumer (outcome delivered), or tried to and queued after all (failed)', ['connector', 'outcome']),
    fanoutPublishes: counter(registry, 'switchboard_bus_fanout_publishes_total',
      'Fan-out publishes to the other instances: sent, skipped (no other instance follows), failed', ['outcome']),
    retries: counter(registry, 'switchboard_bus_delivery_retries_total', 'Delivery batches retried in place', ['connector']),
    deadLettered: counter(registry, 'switchboard_bus_dead_lettered_total', 'Events moved to the dead-letter queue', ['stage', 'connector']),
    batchSize: histogram(registry, 'switchboard_bus_batch_events', 'Events per bus batch', ['stage'], [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]),
  };
}
export type BusMetrics = ReturnType<typeof busMetrics>;
