import { counter, type Counter, type Registry } from '../core/metrics.ts';

/** What the media layer counts (Prometheus, on the app's registry). */
export interface MediaMetrics {
  /** HTTP answers of the media routes, by route (download, upload) and status code. */
  readonly responses: Counter<string>;
  /** Bytes stored by successful puts, by source (upload, fetch). */
  readonly bytesIn: Counter<string>;
  /** Body bytes of download answers started (a client may hang up before the end). */
  readonly bytesOut: Counter<string>;
  /** Refused or failed puts and fetches, by source and MediaError code. */
  readonly refusals: Counter<string>;
  /** Content removed by the garbage collector. */
  readonly gcRemoved: Counter<string>;
}

export function createMediaMetrics(registry: Registry): MediaMetrics {
  return {
    responses: counter(registry, 'switchboard_media_responses_total', 'Answers of the media HTTP routes, by route and status', ['route', 'status']),
    bytesIn: counter(registry, 'switchboard_media_bytes_in_total', 'Bytes stored in the media store, by source', ['source']),
    bytesOut: counter(registry, 'switchboard_media_bytes_out_total', 'Body bytes of media downloads started'),
    refusals: counter(registry, 'switchboard_media_refusals_total', 'Media puts and remote fetches refused or failed, by source and reason', ['source', 'reason']),
    gcRemoved: counter(registry, 'switchboard_media_gc_removed_total', 'Files removed by the media garbage collector, by kind (unreferenced, debris)', ['kind']),
  };
}
