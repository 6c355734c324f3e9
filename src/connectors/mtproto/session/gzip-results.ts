import { promisify } from 'node:util';
import { gzip, gzipSync, constants } from 'node:zlib';
import { GZIP_PACKED_ID } from '../tl/codec.ts';
import { TlWriter } from '../tl/writer.ts';

/**
 * Results of at least this many bytes go out as gzip_packed when that is smaller: what Telegram's
 * servers do with large answers (histories, differences, dialogs), and what every client library
 * must read. Smaller ones are sent as they are: packing them saves little for the CPU it costs.
 * 0 turns it off (`mtproto.gzipResultsFrom`).
 */
export const DEFAULT_GZIP_RESULTS_FROM = 1024;

/**
 * Packed on the event loop below this size (level 1: ~60 µs for 10 KiB, ~0.6 ms for 100 KiB on the
 * bench machine), in libuv's thread pool above it (a 1 MiB answer costs ~6 ms there).
 */
const PACK_INLINE_BELOW = 64 * 1024;
/** Level 1: on TL answers it packs within a few percent of level 6 (41% against 38% of the size) at 2.5x the speed. */
const OPTIONS = { level: constants.Z_BEST_SPEED };
const gzipAsync = promisify(gzip);

/** Whether packResult would try to pack a result of `length` bytes. */
export function worthPacking(length: number, fromBytes: number): boolean {
  return fromBytes > 0 && length >= fromBytes;
}

/**
 * The body of an rpc_result's `result`: gzip_packed#3072cfa1 packed_data:bytes holding `body`
 * (core.telegram.org/mtproto/service_messages#packed-object) when that is smaller, else `body`
 * itself. Call it only when worthPacking says so.
 */
export async function packResult(body: Uint8Array): Promise<Uint8Array> {
  return smaller(body, body.length < PACK_INLINE_BELOW ? gzipSync(body, OPTIONS) : await gzipAsync(body, OPTIONS));
}

/** gzip_packed#3072cfa1 packed_data:bytes around `packed` when that is smaller than `body`, else `body`. */
function smaller(body: Uint8Array, packed: Uint8Array): Uint8Array {
  const w = new TlWriter(packed.length + 8);
  w.uint32(GZIP_PACKED_ID);
  w.bytes(packed);
  const out = w.finish();
  return out.length < body.length ? out : body;
}

/**
 * An update pushed to a session, gzip_packed when that is smaller, as Telegram's servers send
 * large ones. On the event loop, so pushes keep their order; one that would need the thread pool
 * (PACK_INLINE_BELOW and up: a push that large is rare) goes as it is. Call it only when
 * worthPacking says so.
 */
export function packUpdate(body: Uint8Array): Uint8Array {
  return body.length >= PACK_INLINE_BELOW ? body : smaller(body, gzipSync(body, OPTIONS));
}
