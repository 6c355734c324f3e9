// fast-check arbitraries derived from a TL schema, for round-trip properties.
import fc from 'fast-check';
import type { TlObject, TlValue } from '../../src/connectors/mtproto/tl/codec.ts';
import type { TlConstructor, TlSchema, TlType } from '../../src/connectors/mtproto/tl/schema.ts';

/** Constructors whose decoded form is not the encoded object (handled by their own tests). */
export const SPECIAL = new Set(['gzip_packed']);

export function tlArbitraries(schema: TlSchema) {
  // Leaf constructors: no Object/boxed/bare fields, used where recursion must stop.
  const isLeaf = (c: TlConstructor) => c.params.every((p) => !['object', 'boxed', 'bare'].includes(inner(p.type).kind));
  const leaves = schema.constructors.filter((c) => !c.isFunction && isLeaf(c) && !SPECIAL.has(c.name) && c.name !== 'message');

  function inner(t: TlType): TlType {
    return t.kind === 'vector' ? inner(t.element) : t;
  }

  function value(t: TlType, depth: number): fc.Arbitrary<TlValue> {
    // Types whose every constructor needs another object (API schemas have some) cannot be
    // bounded: the caller skips the constructor (see Unbounded).
    if (depth < -3) throw new Unbounded();
    switch (t.kind) {
      case 'primitive':
        switch (t.name) {
          case 'int': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
          case 'nat': return fc.integer({ min: 0, max: 0xffffffff });
          case 'long': return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
          case 'int128': return fc.uint8Array({ minLength: 16, maxLength: 16 });
          case 'int256': return fc.uint8Array({ minLength: 32, maxLength: 32 });
          case 'double': return fc.double();
          case 'bytes': return fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 250, maxLength: 300 }));
          case 'string': return fc.string({ unit: 'grapheme', maxLength: 20 });
          case 'bool': case 'true': return fc.boolean();
        }
        throw new Error('unreachable');
      case 'vector':
        // Below the depth budget a vector of objects is empty: recursion must end somewhere.
        if (depth <= 0 && ['object', 'boxed', 'bare'].includes(inner(t).kind)) return fc.constant([]);
        return fc.array(value(t.element, depth), { maxLength: 3 });
      case 'object': return objectOf(depth <= 0 ? leaves : schema.constructors.filter((c) => !c.isFunction && !SPECIAL.has(c.name) && c.name !== 'message'), depth - 1);
      case 'boxed': {
        const all = schema.byType.get(t.type) ?? [];
        const pool = depth <= 0 ? all.filter(isLeaf) : all;
        return objectOf(pool.length ? pool : all, depth - 1);
      }
      case 'bare': {
        const c = t.viaType ? schema.byType.get(t.name)?.[0] : schema.byName.get(t.name);
        if (!c) throw new Error(`no bare ${t.name}`);
        return ctor(c, depth - 1);
      }
    }
  }

  function objectOf(pool: TlConstructor[], depth: number): fc.Arbitrary<TlObject> {
    return fc.oneof(...pool.map((c) => ctor(c, depth)));
  }

  function ctor(c: TlConstructor, depth: number): fc.Arbitrary<TlObject> {
    const fields: Record<string, fc.Arbitrary<TlValue | undefined>> = {};
    const derived = new Set(c.params.flatMap((p) => (p.flag ? [p.flag.field] : [])));
    const forcedOff = new Set<string>();
    for (const p of c.params) {
      if (derived.has(p.name)) continue;
      if (c.name === 'message' && p.name === 'bytes') continue; // computed by the codec
      const optional = p.flag !== undefined && !(p.type.kind === 'primitive' && p.type.name === 'true');
      // Below the depth budget an optional object is left out, and so is its flag bit.
      if (optional && depth <= 0 && ['object', 'boxed', 'bare'].includes(p.type.kind)) {
        forcedOff.add(`${p.flag!.field}.${p.flag!.bit}`);
        continue;
      }
      const v = value(p.type, depth);
      fields[p.name] = optional ? fc.option(v, { nil: undefined }) : v;
    }
    // Optional fields on one flag bit (`thumbs:flags.4?... thumb_version:flags.4?int`) are
    // present or absent together, as the wire format has it.
    // A `true` flag on the bit of a data field (`restricted:flags.18?true
    // restriction_reason:flags.18?Vector<...>`) is true exactly when that field is present.
    const isTrue = (p: TlConstructor['params'][number]): boolean => p.type.kind === 'primitive' && p.type.name === 'true';
    const bitOf = new Map<string, string>();
    const trueOf = new Map<string, string>();
    for (const p of c.params) if (p.flag) (isTrue(p) ? trueOf : bitOf).set(p.name, `${p.flag.field}.${p.flag.bit}`);
    const dataBits = new Set(bitOf.values());
    return fc.record(fields).map((r) => {
      const on = new Set<string>();
      for (const [k, v] of Object.entries(r)) if (v !== undefined && bitOf.has(k)) on.add(bitOf.get(k)!);
      const o: TlObject = { _: c.name };
      for (const [k, v] of Object.entries(r)) {
        const bit = bitOf.get(k);
        if (bit !== undefined && on.has(bit) && (v === undefined || forcedOff.has(bit))) return null;
        const tbit = trueOf.get(k);
        if (tbit !== undefined && dataBits.has(tbit)) o[k] = on.has(tbit);
        else if (v !== undefined) o[k] = v;
      }
      return o;
    }).filter((o): o is TlObject => o !== null);
  }

  return { ctor, value };
}

/** Thrown while building an arbitrary whose recursion has no end within the depth budget. */
export class Unbounded extends Error {
  constructor() {
    super('no bounded value for this constructor');
  }
}

/** Drops what the codec derives on decode (message.bytes) so decode(encode(x)) compares to x. */
export function normalize(v: TlValue | undefined): TlValue | undefined {
  if (Array.isArray(v)) return v.map((x) => normalize(x)!);
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    const o: TlObject = { _: v._ };
    for (const [k, x] of Object.entries(v)) {
      if (k === '_' || (v._ === 'message' && k === 'bytes')) continue;
      o[k] = normalize(x);
    }
    return o;
  }
  return v;
}
