import { gzipSync } from 'node:zlib';
import { TlWriter } from '../tl/writer.ts';

/** gzip_packed#3072cfa1 packed_data:bytes = Object (core.telegram.org/mtproto/service_messages#packed-object). */
export const GZIP_PACKED_ID = 0x3072cfa1;

/**
 * Results of at least this many bytes go out as gzip_packed when that is smaller: what Telegram's
 * servers do with large answers (histories, differences, dialogs, help.getConfig), and what every
 * client library must read. Smaller ones are sent as they are: compressing them saves nothing worth
 * the CPU. 0 turns it off (`mtproto.gzipResultsFrom`).
 */
export const DEFAULT_GZIP_RESULTS_FROM = 1024;

/**
 * The body of an rpc_result's `result`: `body` itself, or gzip_packed holding it when it has at
 * least `fromBytes` bytes and packs smaller. Level 6, zlib's default: about 0.1 ms for a 10 KiB
 * answer here, a few ms for the 1 MiB frame cap.
 */
export function packResult(body: Uint8Array, fromBytes: number): Uint8Array {
  if (fromBytes <= 0 || body.length < fromBytes) return body;
  const packed = gzipSync(body);
  const w = new TlWriter();
  w.uint32(GZIP_PACKED_ID);
  w.bytes(packed);
  const out = w.finish();
  return out.length < body.length ? out : body;
}
