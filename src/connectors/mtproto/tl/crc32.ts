// CRC32 (IEEE), used for TL constructor ids and the TCP "full" transport checksum.
// Node >= 20.15 ships a native zlib.crc32; older 20.x falls back to a table.
import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, value?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32Fn }).crc32;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32Table(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32 of `data`, continuing from `value` (a previous result) when given. */
export function crc32(data: Uint8Array | string, value = 0): number {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return (native ? native(bytes, value) : crc32Table(bytes, value)) >>> 0;
}

export { crc32Table as crc32Portable };
