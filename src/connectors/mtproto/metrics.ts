import { counter, gauge, histogram, type Registry } from '../../core/metrics.ts';
import type { Counter, Gauge, Histogram } from '../../core/metrics.ts';

/** The MTProto server's metrics; label values are internal reasons never shown to peers. */
export interface MtprotoMetrics {
  connections: Gauge<string>;
  connectionsTotal: Counter<string>;
  connectionsRejected: Counter<string>;
  handshakesOk: Counter<string>;
  handshakesFailed: Counter<string>;
  handshakeSeconds: Histogram<string>;
  messagesIn: Counter<string>;
  messagesOut: Counter<string>;
  badMsg: Counter<string>;
  dropped: Counter<string>;
  transportErrors: Counter<string>;
  readsPaused: Counter<string>;
  resultsGzipped: Counter<string>;
  updatesGzipped: Counter<string>;
  aheadOfGuard: Counter<string>;
}

export function createMtprotoMetrics(registry: Registry): MtprotoMetrics {
  return {
    connections: gauge(registry, 'switchboard_mtproto_connections', 'Open MTProto connections', ['transport']),
    connectionsTotal: counter(registry, 'switchboard_mtproto_connections_total', 'Accepted MTProto connections', ['transport']),
    connectionsRejected: counter(registry, 'switchboard_mtproto_connections_rejected_total', 'Connections refused at accept', ['reason']),
    handshakesOk: counter(registry, 'switchboard_mtproto_handshakes_ok_total', 'Auth keys created', ['scheme', 'inner']),
    handshakesFailed: counter(registry, 'switchboard_mtproto_handshakes_failed_total', 'Failed auth-key handshakes', ['reason']),
    handshakeSeconds: histogram(registry, 'switchboard_mtproto_handshake_seconds', 'req_pq to dh_gen_ok', [], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]),
    messagesIn: counter(registry, 'switchboard_mtproto_messages_in_total', 'Client messages accepted (inner messages of containers counted)', ['type']),
    messagesOut: counter(registry, 'switchboard_mtproto_messages_out_total', 'Encrypted frames sent', ['type']),
    badMsg: counter(registry, 'switchboard_mtproto_bad_msg_total', 'bad_msg_notification / bad_server_salt sent', ['code']),
    dropped: counter(registry, 'switchboard_mtproto_dropped_total', 'Frames or messages dropped without an answer', ['reason']),
    aheadOfGuard: counter(registry, 'switchboard_mtproto_frames_ahead_of_guard_total', 'Frames of transaction-idempotent sends processed before the shared replay guard answered (outcome ahead), and those the guard then found replayed (outcome replayed: the transaction claim answered them)', ['outcome']),
    transportErrors: counter(registry, 'switchboard_mtproto_transport_errors_total', 'Transport errors sent / connection closes', ['reason']),
    readsPaused: counter(registry, 'switchboard_mtproto_reads_paused_total', 'Times a connection stopped reading because its frames queued up faster than they were handled', []),
    resultsGzipped: counter(registry, 'switchboard_mtproto_results_gzipped_total', 'API results sent as gzip_packed (mtproto.gzipResultsFrom)', []),
    updatesGzipped: counter(registry, 'switchboard_mtproto_updates_gzipped_total', 'Pushed updates sent as gzip_packed (mtproto.gzipResultsFrom)', []),
  };
}
