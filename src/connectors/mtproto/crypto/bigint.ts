// Big-endian conversions between bigint and bytes. MTProto's number-like byte strings
// (pq, p, q, dh_prime, g_a, g_b, RSA blocks) are all big-endian, unlike its fixed ints.

/** Big-endian unsigned bytes of `n`; minimal length (at least 1 byte) unless `len` is given. */
export function bigIntToBytes(n: bigint, len?: number): Uint8Array {
  if (n < 0n) throw new RangeError('bigIntToBytes: negative value');
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const minimal = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (len === undefined) return minimal;
  if (minimal.length > len) {
    // "0" is encoded as one byte; it still fits in any len >= 1.
    if (n === 0n && len >= 0) return new Uint8Array(len);
    throw new RangeError(`bigIntToBytes: value needs ${minimal.length} bytes, only ${len} allowed`);
  }
  const out = new Uint8Array(len);
  out.set(minimal, len - minimal.length);
  return out;
}

/** Unsigned big-endian bytes to bigint (empty input is 0). */
export function bytesToBigInt(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

/** Same bytes without leading zero bytes (TL `bytes` form of a big number), at least one byte. */
export function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}
