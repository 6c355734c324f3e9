// Schema-driven TL encoder/decoder for plain JS objects:
//   { _: 'resPQ', nonce: Uint8Array(16), server_nonce: ..., pq: Uint8Array, server_public_key_fingerprints: [1n] }
// int/# -> number, long -> bigint, int128/int256/bytes -> Uint8Array, string -> string,
// double -> number, Bool and `true` flags -> boolean, vectors -> arrays, Object/!X -> TlObject.
// `{ _: 'raw', bytes }` stands for an already-serialized boxed object, both ways: encode
// writes it verbatim; decode produces it for length-delimited objects whose constructor
// this schema does not know (rpc_result results, container bodies, `!X` queries).
//
// Decoding is meant for hostile input: bounded depth, lengths checked against what is left
// before anything is allocated, gzip inflation capped, and only TlDecodeError escapes.
//
// `lenientEncode` is for answers built once and encoded for many API layers (api-layers.ts):
// fields the object has but the layer lacks are ignored (as always), required fields the
// layer has but the object lacks get a neutral value (0, 0n, '', empty bytes or vector,
// false) — except object-typed ones, which stay an error — and int/long accept a number or a
// bigint when the value fits (a field's width changed between layers).
import { unzipSync } from 'node:zlib';
import { TlDecodeError, TlEncodeError } from './errors.ts';
import { inputUserOfPeer } from './peer-as-user.ts';
import { TlReader } from './reader.ts';
import { TlWriter } from './writer.ts';
import type { TlConstructor, TlParam, TlSchema, TlType } from './schema.ts';

export type TlValue = number | bigint | string | boolean | Uint8Array | TlObject | TlValue[];

export interface TlObject {
  _: string;
  [field: string]: TlValue | undefined;
}

export interface RawTlObject extends TlObject {
  _: 'raw';
  bytes: Uint8Array;
}

export const VECTOR_ID = 0x1cb5c415;
export const BOOL_TRUE_ID = 0x997275b5;
export const BOOL_FALSE_ID = 0xbc799737;
export const GZIP_PACKED_ID = 0x3072cfa1;

/** The scratch writer of top-level encodes: its starting size, and the most it keeps between them. */
const SCRATCH_BYTES = 1024;
const MAX_KEPT_WRITER_BYTES = 64 * 1024;

export interface TlCodecOptions {
  /** Maximum object nesting while decoding (default 64). */
  maxDepth?: number;
  /** Cap on the inflated size of one gzip_packed (default 16 MiB). */
  maxInflatedBytes?: number;
  /** Neutral defaults for missing required fields, number/bigint interchangeable (see above). */
  lenientEncode?: boolean;
}

export function isRaw(obj: TlObject): obj is RawTlObject {
  return obj._ === 'raw' && obj['bytes'] instanceof Uint8Array;
}

export function rawObject(bytes: Uint8Array): RawTlObject {
  return { _: 'raw', bytes };
}

const hex32 = (id: number): string => '0x' + (id >>> 0).toString(16).padStart(8, '0');

function isTlObject(v: unknown): v is TlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && typeof (v as { _?: unknown })._ === 'string';
}

export class TlCodec {
  readonly schema: TlSchema;
  private readonly maxDepth: number;
  private readonly maxInflated: number;
  private readonly lenient: boolean;
  /**
   * Per constructor: the `#` fields that some optional field refers to (computed, not stored).
   * Keyed by definition, not name: a schema merged from several layers holds one name twice.
   */
  private readonly flagFields = new Map<TlConstructor, Set<string>>();
  private readonly plans = new Map<TlConstructor, EncodePlan>();
  private writer = new TlWriter(SCRATCH_BYTES);

  constructor(schema: TlSchema, opts: TlCodecOptions = {}) {
    this.schema = schema;
    this.maxDepth = opts.maxDepth ?? 64;
    this.maxInflated = opts.maxInflatedBytes ?? 16 * 1024 * 1024;
    this.lenient = opts.lenientEncode ?? false;
    for (const c of new Set([...schema.constructors, ...schema.byId.values()])) {
      const s = new Set<string>();
      for (const p of c.params) if (p.flag) s.add(p.flag.field);
      this.flagFields.set(c, s);
    }
  }

  private flagFieldsOf(c: TlConstructor): Set<string> {
    let s = this.flagFields.get(c);
    if (s === undefined) {
      s = new Set(c.params.flatMap((p) => (p.flag ? [p.flag.field] : [])));
      this.flagFields.set(c, s);
    }
    return s;
  }

  has(name: string): boolean {
    return this.schema.byName.has(name);
  }

  constructorOf(name: string): TlConstructor | undefined {
    return this.schema.byName.get(name);
  }

  // ---- encoding -------------------------------------------------------------------------

  /** Boxed serialization of `obj`. Throws TlEncodeError if obj does not fit the schema. */
  encode(obj: TlObject): Uint8Array {
    const w = this.scratch();
    this.encodeBoxed(w, obj);
    return w.copy();
  }

  /**
   * The writer top-level encodes use, emptied: encoding is synchronous and never re-enters, so one
   * buffer serves every message and only the result is allocated (its exact size).
   */
  private scratch(): TlWriter {
    // A large message (a file part) does not leave its buffer behind for good.
    if (this.writer.capacity > MAX_KEPT_WRITER_BYTES) this.writer = new TlWriter(SCRATCH_BYTES);
    const w = this.writer;
    w.reset();
    return w;
  }

  encodeBoxed(w: TlWriter, obj: TlObject): void {
    if (!isTlObject(obj)) throw new TlEncodeError('expected a TL object { _: name, ... }');
    if (obj._ === 'raw') {
      const b = obj['bytes'];
      if (!(b instanceof Uint8Array)) throw new TlEncodeError('raw object without bytes');
      w.raw(b);
      return;
    }
    const c = this.schema.byName.get(obj._);
    if (!c) throw new TlEncodeError(`unknown constructor "${obj._}"`);
    w.uint32(c.id);
    this.encodeFields(w, c, obj);
  }

  /** A value of any TL type (a method's result: `Vector<User>`, `Bool`, a boxed object...). */
  encodeAs(type: TlType, value: TlValue): Uint8Array {
    const w = this.scratch();
    this.encodeValue(w, type, value, 'value');
    return w.copy();
  }

  /** Bare serialization (fields only) of a constructor. */
  encodeBare(w: TlWriter, obj: TlObject): void {
    const c = this.schema.byName.get(obj._);
    if (!c) throw new TlEncodeError(`unknown constructor "${obj._}"`);
    this.encodeFields(w, c, obj);
  }

  /**
   * How a constructor's fields are written, worked out once per constructor rather than per
   * object: answers are encoded for every message, and per-field work (a Map of flag values, an
   * error-location string per field) was most of the encoder's time and garbage.
   */
  private planOf(c: TlConstructor): EncodePlan {
    let plan = this.plans.get(c);
    if (plan === undefined) {
      plan = encodePlan(c, this.flagFieldsOf(c));
      this.plans.set(c, plan);
    }
    return plan;
  }

  private encodeFields(w: TlWriter, c: TlConstructor, obj: TlObject): void {
    const plan = this.planOf(c);
    if (plan.serviceMessage) return this.encodeMessage(w, obj);
    // The value of each `#` field referred to by optional fields, by slot (plan.flagSlots).
    const flags = plan.flagSlots === 0 ? NO_FLAGS : new Array<number>(plan.flagSlots).fill(0);
    for (const f of plan.optional) {
      const v = obj[f.p.name];
      const present = f.isTrue ? v === true : v !== undefined && v !== null;
      if (present) flags[f.flagSlot] = (flags[f.flagSlot]! | f.mask) >>> 0;
    }
    for (const f of plan.fields) {
      if (f.derivedSlot >= 0) {
        w.uint32(flags[f.derivedSlot]!);
        continue;
      }
      const p = f.p;
      let v: unknown = obj[p.name];
      if (f.flagSlot >= 0) {
        if (f.isTrue) continue;
        if ((flags[f.flagSlot]! & f.mask) === 0) continue;
        if (v === undefined || v === null) {
          // Another field on the same bit is present (`thumbs:flags.4?... thumb_version:flags.4?int`):
          // the reader expects every field of that bit, so this one must be written too.
          v = this.lenient ? neutralValue(p.type) : undefined;
          if (v === undefined) throw new TlEncodeError(`${f.where} is missing but shares ${p.flag!.field}.${p.flag!.bit} with a present field`);
        }
      } else if (v === undefined) {
        v = this.lenient ? neutralValue(p.type) : undefined;
        if (v === undefined) throw new TlEncodeError(`${f.where} is missing`);
      }
      this.encodeValue(w, p.type, v, f.where);
    }
  }

  /** message msg_id:long seqno:int bytes:int body:Object — `bytes` is the body's length. */
  private encodeMessage(w: TlWriter, obj: TlObject): void {
    this.encodeValue(w, { kind: 'primitive', name: 'long' }, obj['msg_id'], 'message.msg_id');
    this.encodeValue(w, { kind: 'primitive', name: 'int' }, obj['seqno'], 'message.seqno');
    const at = w.length;
    w.int32(0);
    const body = obj['body'];
    if (!isTlObject(body)) throw new TlEncodeError('message.body must be a TL object');
    this.encodeBoxed(w, body);
    w.patchInt32(at, w.length - at - 4);
  }

  private encodeValue(w: TlWriter, t: TlType, v: unknown, where: string): void {
    switch (t.kind) {
      case 'primitive':
        switch (t.name) {
          case 'int':
          case 'nat':
            if (this.lenient && typeof v === 'bigint' && v >= -0x80000000n && v <= 0xffffffffn) return w.int32(Number(BigInt.asIntN(32, v)));
            if (typeof v !== 'number') throw new TlEncodeError(`${where}: expected a number`);
            return w.int32(v);
          case 'long':
            if (this.lenient && typeof v === 'number' && Number.isSafeInteger(v)) return w.int64(BigInt(v));
            if (typeof v !== 'bigint') throw new TlEncodeError(`${where}: expected a bigint`);
            return w.int64(v);
          case 'int128':
          case 'int256':
            if (!(v instanceof Uint8Array)) throw new TlEncodeError(`${where}: expected a Uint8Array`);
            return t.name === 'int128' ? w.int128(v) : w.int256(v);
          case 'double':
            if (typeof v !== 'number') throw new TlEncodeError(`${where}: expected a number`);
            return w.double(v);
          case 'bytes':
            if (!(v instanceof Uint8Array)) throw new TlEncodeError(`${where}: expected a Uint8Array`);
            return w.bytes(v);
          case 'string':
            if (v instanceof Uint8Array) return w.bytes(v);
            if (typeof v !== 'string') throw new TlEncodeError(`${where}: expected a string`);
            return w.string(v);
          case 'bool':
            if (typeof v !== 'boolean') throw new TlEncodeError(`${where}: expected a boolean`);
            return w.uint32(v ? BOOL_TRUE_ID : BOOL_FALSE_ID);
          case 'true':
            return;
        }
        return;
      case 'vector': {
        if (!Array.isArray(v)) throw new TlEncodeError(`${where}: expected an array`);
        if (t.boxed) w.uint32(VECTOR_ID);
        w.int32(v.length);
        // The element's location is only needed for an error message: built then, not per element.
        for (let i = 0; i < v.length; i++) this.encodeValue(w, t.element, v[i], where);
        return;
      }
      case 'object':
        if (!isTlObject(v)) throw new TlEncodeError(`${where}: expected a TL object`);
        return this.encodeBoxed(w, v);
      case 'boxed': {
        if (!isTlObject(v)) throw new TlEncodeError(`${where}: expected a TL object of type ${t.type}`);
        const c = this.schema.byName.get(v._);
        if (c && this.schema.byType.has(t.type) && c.type !== t.type) {
          throw new TlEncodeError(`${where}: ${v._} is a ${c.type}, not a ${t.type}`);
        }
        if (c === undefined) return this.encodeBoxed(w, v);
        w.uint32(c.id);
        return this.encodeFields(w, c, v);
      }
      case 'bare': {
        const c = this.bareConstructor(t);
        if (!c) throw new TlEncodeError(`${where}: unknown bare type ${t.name}`);
        if (!isTlObject(v) && !(typeof v === 'object' && v !== null)) throw new TlEncodeError(`${where}: expected an object`);
        return this.encodeFields(w, c, v as TlObject);
      }
    }
  }

  private bareConstructor(t: { name: string; viaType: boolean }): TlConstructor | undefined {
    if (!t.viaType) return this.schema.byName.get(t.name);
    const list = this.schema.byType.get(t.name);
    return list && list.length === 1 ? list[0] : undefined;
  }

  // ---- decoding -------------------------------------------------------------------------

  /** Decodes one boxed object that must fill `data` exactly. */
  decode(data: Uint8Array): TlObject {
    return guard(() => {
      const r = new TlReader(data);
      const obj = this.readBoxed(r, 0);
      if (r.remaining !== 0) throw new TlDecodeError('trailing-bytes', `${r.remaining} bytes after ${obj._}`);
      return obj;
    });
  }

  /** Decodes one boxed object from the start of `data`; whatever follows is left alone. */
  decodeFront(data: Uint8Array): { value: TlObject; consumed: number } {
    return guard(() => {
      const r = new TlReader(data);
      const value = this.readBoxed(r, 0);
      return { value, consumed: r.pos };
    });
  }

  decodeBoxed(reader: TlReader): TlObject {
    return guard(() => this.readBoxed(reader, 0));
  }

  /** Decodes `data` as a boxed object if its constructor is known, else returns it raw. */
  decodeOrRaw(data: Uint8Array): TlObject {
    return guard(() => this.readRegion(new TlReader(data), 0));
  }

  private readBoxed(r: TlReader, depth: number): TlObject {
    if (depth > this.maxDepth) throw new TlDecodeError('too-deep', `nesting deeper than ${this.maxDepth}`);
    const id = r.uint32();
    if (id === GZIP_PACKED_ID) {
      return this.readGzip(r, depth);
    }
    const c = this.schema.byId.get(id);
    if (!c) throw new TlDecodeError('unknown-constructor', `unknown constructor ${hex32(id)} at offset ${r.pos - 4}`);
    return this.readFields(r, c, depth + 1);
  }

  private readGzip(r: TlReader, depth: number): TlObject {
    const packed = r.bytes();
    let inflated: Uint8Array;
    try {
      inflated = unzipSync(packed, { maxOutputLength: this.maxInflated });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        throw new TlDecodeError('gzip-too-large', `gzip_packed inflates beyond ${this.maxInflated} bytes`);
      }
      throw new TlDecodeError('gzip-invalid', 'gzip_packed data does not inflate');
    }
    return this.readRegion(new TlReader(inflated), depth + 1);
  }

  /**
   * A length-delimited object (container body, gzip content, tail Object): decoded when its
   * constructor is known and it fills the region exactly, kept raw when the id is unknown.
   */
  private readRegion(r: TlReader, depth: number): TlObject {
    if (r.remaining >= 4) {
      const id = r.peekUint32();
      if (id === GZIP_PACKED_ID || this.schema.byId.has(id)) {
        const obj = this.readBoxed(r, depth);
        if (r.remaining !== 0) throw new TlDecodeError('length-mismatch', `${r.remaining} bytes left after ${obj._}`);
        return obj;
      }
    }
    return rawObject(r.rest());
  }

  private readFields(r: TlReader, c: TlConstructor, depth: number): TlObject {
    if (depth > this.maxDepth) throw new TlDecodeError('too-deep', `nesting deeper than ${this.maxDepth}`);
    if (isServiceMessage(c)) return this.readMessage(r, depth);
    const obj: TlObject = { _: c.name };
    const flags = new Map<string, number>();
    const derived = this.flagFieldsOf(c);
    const last = c.params.length - 1;
    c.params.forEach((p: TlParam, i: number) => {
      if (p.flag) {
        const on = ((flags.get(p.flag.field) ?? 0) >>> p.flag.bit) & 1;
        if (p.type.kind === 'primitive' && p.type.name === 'true') {
          obj[p.name] = on === 1;
          return;
        }
        if (!on) return;
      }
      if (p.type.kind === 'primitive' && p.type.name === 'nat') {
        const v = r.uint32();
        flags.set(p.name, v);
        if (!derived.has(p.name)) obj[p.name] = v;
        return;
      }
      // An Object in the last position owns the rest of the region: unknown ids stay raw.
      if (p.type.kind === 'object' && i === last) {
        obj[p.name] = this.readRegion(r, depth);
        return;
      }
      obj[p.name] = this.readValue(r, p.type, depth);
    });
    return obj;
  }

  private readMessage(r: TlReader, depth: number): TlObject {
    const msgId = r.int64();
    const seqno = r.int32();
    const len = r.int32();
    if (len < 0 || len > r.remaining) throw new TlDecodeError('length-mismatch', `message body of ${len} bytes, ${r.remaining} left`);
    const body = this.readRegion(r.sub(len), depth);
    return { _: 'message', msg_id: msgId, seqno, bytes: len, body };
  }

  private readValue(r: TlReader, t: TlType, depth: number): TlValue {
    switch (t.kind) {
      case 'primitive':
        switch (t.name) {
          case 'int': return r.int32();
          case 'nat': return r.uint32();
          case 'long': return r.int64();
          case 'int128': return r.int128();
          case 'int256': return r.int256();
          case 'double': return r.double();
          case 'bytes': return r.bytes();
          case 'string': return r.string();
          case 'bool': {
            const id = r.uint32();
            if (id === BOOL_TRUE_ID) return true;
            if (id === BOOL_FALSE_ID) return false;
            throw new TlDecodeError('bad-bool', `expected boolTrue/boolFalse, got ${hex32(id)}`);
          }
          case 'true': return true;
        }
        throw new TlDecodeError('malformed', 'unreachable primitive');
      case 'vector': {
        if (t.boxed) {
          const id = r.uint32();
          if (id !== VECTOR_ID) throw new TlDecodeError('unexpected-constructor', `expected vector, got ${hex32(id)}`);
        }
        const count = r.int32();
        // Every element takes at least 4 bytes: a larger count cannot be honest.
        if (count < 0 || count > r.remaining / 4) {
          throw new TlDecodeError('vector-length', `vector of ${count} elements with ${r.remaining} bytes left`);
        }
        const out: TlValue[] = new Array<TlValue>(count);
        for (let i = 0; i < count; i++) out[i] = this.readValue(r, t.element, depth + 1);
        return out;
      }
      case 'object':
        return this.readBoxed(r, depth);
      case 'boxed': {
        const id = r.peekUint32();
        const obj = this.readBoxed(r, depth);
        if (this.schema.byType.has(t.type)) {
          // By id: in a schema merged from several layers a name can stand for two definitions.
          const c = id === GZIP_PACKED_ID ? this.schema.byName.get(obj._) : this.schema.byId.get(id);
          if (c && c.type === 'InputPeer' && t.type === 'InputUser') {
            const user = inputUserOfPeer(obj);
            if (user !== undefined) return user;
          }
          if (!c || c.type !== t.type) throw new TlDecodeError('unexpected-constructor', `${obj._} where ${t.type} was expected`);
        }
        return obj;
      }
      case 'bare': {
        const c = this.bareConstructor(t);
        if (!c) throw new TlDecodeError('malformed', `schema has no bare type ${t.name}`);
        return this.readFields(r, c, depth + 1);
      }
    }
  }
}

/**
 * The service schema's `message msg_id:long seqno:int bytes:int body:Object` (length-delimited
 * body), not the API's `message#...` chat message that shares its name.
 */
function isServiceMessage(c: TlConstructor): boolean {
  return c.name === 'message' && c.params.length === 4 && c.params[3]!.name === 'body' && c.params[2]!.name === 'bytes';
}

/** One field of an encode plan. */
interface FieldPlan {
  readonly p: TlParam;
  /** `Constructor.field`, for error messages. */
  readonly where: string;
  /** Slot of the `#` field this optional field is on (-1: not optional). */
  readonly flagSlot: number;
  /** 1 << its bit. */
  readonly mask: number;
  /** A `true` flag: only a bit, nothing written. */
  readonly isTrue: boolean;
  /** A `#` field that optional fields refer to: its slot (written from the computed flags); else -1. */
  readonly derivedSlot: number;
}

interface EncodePlan {
  readonly serviceMessage: boolean;
  readonly flagSlots: number;
  readonly fields: readonly FieldPlan[];
  /** The optional fields (the ones that set flag bits). */
  readonly optional: readonly FieldPlan[];
}

const NO_FLAGS: number[] = [];

function encodePlan(c: TlConstructor, derived: ReadonlySet<string>): EncodePlan {
  const slots = new Map<string, number>();
  const slotOf = (field: string): number => {
    let slot = slots.get(field);
    if (slot === undefined) slots.set(field, slot = slots.size);
    return slot;
  };
  const fields = c.params.map((p): FieldPlan => ({
    p,
    where: `${c.name}.${p.name}`,
    flagSlot: p.flag ? slotOf(p.flag.field) : -1,
    mask: p.flag ? (1 << p.flag.bit) >>> 0 : 0,
    isTrue: p.type.kind === 'primitive' && p.type.name === 'true',
    derivedSlot: p.type.kind === 'primitive' && p.type.name === 'nat' && derived.has(p.name) ? slotOf(p.name) : -1,
  }));
  return { serviceMessage: isServiceMessage(c), flagSlots: slots.size, fields, optional: fields.filter((f) => f.flagSlot >= 0) };
}

/** What lenientEncode writes for a missing required field; undefined: none (object types). */
function neutralValue(t: TlType): TlValue | undefined {
  switch (t.kind) {
    case 'vector': return [];
    case 'primitive':
      switch (t.name) {
        case 'int': case 'nat': case 'double': return 0;
        case 'long': return 0n;
        case 'int128': return new Uint8Array(16);
        case 'int256': return new Uint8Array(32);
        case 'bytes': return new Uint8Array(0);
        case 'string': return '';
        case 'bool': case 'true': return false;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Anything but a TlDecodeError (a bug, a stack overflow) is reported as 'malformed'. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TlDecodeError) throw e;
    throw new TlDecodeError('malformed', e instanceof Error ? e.message : String(e));
  }
}
