import type { TlObject } from '../tl/codec.ts';

/**
 * Typed reads of decoded TL objects. The codec's objects are open records; these helpers turn a
 * missing or mistyped field into a thrown TlFieldError instead of an `undefined` flowing onward.
 */
export class TlFieldError extends Error {
  override readonly name = 'TlFieldError';
}

function field(obj: TlObject, name: string): unknown {
  const value = (obj as Record<string, unknown>)[name];
  if (value === undefined) throw new TlFieldError(`${obj._}.${name} missing`);
  return value;
}

export function bytesOf(obj: TlObject, name: string): Uint8Array {
  const v = field(obj, name);
  if (!(v instanceof Uint8Array)) throw new TlFieldError(`${obj._}.${name} is not bytes`);
  return v;
}

export function longOf(obj: TlObject, name: string): bigint {
  const v = field(obj, name);
  if (typeof v !== 'bigint') throw new TlFieldError(`${obj._}.${name} is not a long`);
  return v;
}

export function intOf(obj: TlObject, name: string): number {
  const v = field(obj, name);
  if (typeof v !== 'number') throw new TlFieldError(`${obj._}.${name} is not an int`);
  return v;
}

export function longsOf(obj: TlObject, name: string): bigint[] {
  const v = field(obj, name);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'bigint')) throw new TlFieldError(`${obj._}.${name} is not a vector<long>`);
  return v as bigint[];
}

export function objectOf(obj: TlObject, name: string): TlObject {
  const v = field(obj, name);
  if (typeof v !== 'object' || v === null || typeof (v as { _?: unknown })._ !== 'string') {
    throw new TlFieldError(`${obj._}.${name} is not an object`);
  }
  return v as TlObject;
}

/** Unsigned view of a long: TL longs are signed, fingerprints and ids compare as 64-bit patterns. */
export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** A long read from 8 little-endian bytes (salts, auth_key_aux_hash, ids derived from hashes). */
export function longFromLE(bytes: Uint8Array, offset = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigInt64(offset, true);
}
