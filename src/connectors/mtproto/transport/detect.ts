// Transport detection from the first bytes of a connection. Plain transports announce
// themselves (0xef, 0xeeeeeeee, 0xdddddddd); the TCP "full" transport has no marker but its
// first packet has seq_no 0, so bytes 4..8 are zero, which obfuscated2 clients must avoid;
// everything else is taken as a 64-byte obfuscated2 header and must decrypt to a known tag.
import type { TransportKind } from './kinds.ts';
import { OBFUSCATED_INIT_BYTES, acceptObfuscatedInit, type ServerObfuscation } from './obfuscated2.ts';

export type Detection =
  | { status: 'need-more' }
  | { status: 'plain'; kind: TransportKind; headerBytes: number }
  | { status: 'obfuscated'; kind: TransportKind; headerBytes: 64; obfuscation: ServerObfuscation }
  | { status: 'reject'; reason: string };

const NEED_MORE: Detection = { status: 'need-more' };

const HTTP_PREFIXES = new Set([0x44414548 /* HEAD */, 0x54534f50 /* POST */, 0x20544547 /* GET  */, 0x4954504f /* OPTI */]);

function int32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * `head` is everything received so far (at least the first byte). In 'websocket' mode only
 * obfuscated2 is accepted (the MTProto-over-WebSocket convention).
 */
export function detectTransport(head: Uint8Array, mode: 'tcp' | 'websocket' = 'tcp'): Detection {
  if (head.length === 0) return NEED_MORE;
  const plainAllowed = mode === 'tcp';
  if (head[0] === 0xef) {
    return plainAllowed ? { status: 'plain', kind: 'abridged', headerBytes: 1 } : { status: 'reject', reason: 'plain abridged over websocket (obfuscated2 required)' };
  }
  if (head.length < 4) return NEED_MORE;
  const first = int32At(head, 0);
  if (first === 0xeeeeeeee || first === 0xdddddddd) {
    if (!plainAllowed) return { status: 'reject', reason: 'plain intermediate over websocket (obfuscated2 required)' };
    return { status: 'plain', kind: first === 0xeeeeeeee ? 'intermediate' : 'padded', headerBytes: 4 };
  }
  if (HTTP_PREFIXES.has(first)) return { status: 'reject', reason: 'HTTP transport is not supported' };
  if (first === 0x02010316) return { status: 'reject', reason: 'fake-TLS transport is not supported' };
  if (head.length < 8) return NEED_MORE;
  if (int32At(head, 4) === 0) {
    if (!plainAllowed) return { status: 'reject', reason: 'plain full transport over websocket (obfuscated2 required)' };
    return { status: 'plain', kind: 'full', headerBytes: 0 };
  }
  if (head.length < OBFUSCATED_INIT_BYTES) return NEED_MORE;
  const obfuscation = acceptObfuscatedInit(head.subarray(0, OBFUSCATED_INIT_BYTES));
  if (!obfuscation.kind) return { status: 'reject', reason: 'unknown transport (bad obfuscated2 tag)' };
  return { status: 'obfuscated', kind: obfuscation.kind, headerBytes: OBFUSCATED_INIT_BYTES, obfuscation };
}
