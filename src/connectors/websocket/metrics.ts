import { counter, gauge, type Registry } from '../../core/metrics.ts';

/** The WebSocket connector's metrics (names are part of the operator docs: keep them stable). */
export function wsMetrics(registry: Registry) {
  return {
    connections: gauge(registry, 'switchboard_ws_connections', 'Open WebSocket connections'),
    upgradesRefused: counter(registry, 'switchboard_ws_upgrades_refused_total', 'Upgrades refused before the handshake', ['code']),
    framesIn: counter(registry, 'switchboard_ws_frames_in_total', 'Client frames received', ['type']),
    framesOut: counter(registry, 'switchboard_ws_frames_out_total', 'Server frames sent', ['type']),
    errors: counter(registry, 'switchboard_ws_errors_total', 'Error frames sent to clients', ['code']),
    acks: counter(registry, 'switchboard_ws_acks_total', 'Client events acknowledged after the bus accepted them'),
    closes: counter(registry, 'switchboard_ws_closes_total', 'Connections closed by the server, by reason', ['reason']),
    fanoutReceived: counter(registry, 'switchboard_ws_fanout_received_total', 'Deliveries received from the instance consuming egress, for clients here'),
    fanoutPublishFailures: counter(registry, 'switchboard_ws_fanout_publish_failures_total', 'Egress batches that could not be fanned out to the other instances'),
    fanoutResyncs: counter(registry, 'switchboard_ws_fanout_resyncs_total', 'Times the clients here caught up from the streams because fan-out messages may have been lost'),
    /** Highest bufferedAmount seen on any socket right after a send: shows the slow-consumer bound holds. */
    bufferedPeak: gauge(registry, 'switchboard_ws_buffered_bytes_peak', 'Largest unsent output of one socket seen after a send, in bytes'),
    /** The value behind bufferedPeak (a gauge only holds what was last set). */
    peak: { bufferedBytes: 0 },
  };
}
export type WsMetrics = ReturnType<typeof wsMetrics>;
