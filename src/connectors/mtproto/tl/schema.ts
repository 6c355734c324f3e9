// Parser for TL schema text (the .tl files of core.telegram.org/schema): constructors,
// `---functions---`, explicit or computed `#crc` ids, flags (`flags:#`, `a:flags.0?int`,
// `flags2.3?true`), `Vector<T>`/`vector<T>`, bare types (`%T`, lowercase constructor names),
// generics (`{X:Type}` ... `!X`) and `//` comments. Built-in type lines (`int ? = Int;`,
// `vector {t:Type} # [ t ] = Vector t;`) are skipped: the codec knows those types natively.
import { crc32 } from './crc32.ts';

export type TlPrimitive = 'int' | 'nat' | 'long' | 'int128' | 'int256' | 'double' | 'bytes' | 'string' | 'bool' | 'true';

export type TlType =
  | { kind: 'primitive'; name: TlPrimitive }
  | { kind: 'vector'; boxed: boolean; element: TlType }
  /** `Object`, `!X` or a generic parameter: any boxed object. */
  | { kind: 'object' }
  /** A boxed type: constructor id, then the fields of one of the type's constructors. */
  | { kind: 'boxed'; type: string }
  /** A bare constructor: its fields only. `name` is a constructor name, or `%Type` resolved later. */
  | { kind: 'bare'; name: string; viaType: boolean };

export interface TlParam {
  name: string;
  type: TlType;
  /** Present when the field is optional: which `#` field and which bit. */
  flag?: { field: string; bit: number };
}

export interface TlConstructor {
  name: string;
  id: number;
  params: TlParam[];
  /** The result type (`= Type`). */
  type: string;
  isFunction: boolean;
  /** Whether the id was computed from the line (no explicit `#crc`). */
  computedId: boolean;
}

export interface TlSchema {
  constructors: TlConstructor[];
  byName: Map<string, TlConstructor>;
  byId: Map<number, TlConstructor>;
  /** Result type -> its (non-function) constructors. */
  byType: Map<string, TlConstructor[]>;
}

export class TlSchemaError extends Error {
  constructor(message: string, readonly line: number) {
    super(`TL schema line ${line}: ${message}`);
    this.name = 'TlSchemaError';
  }
}

const PRIMITIVES: Record<string, TlPrimitive> = {
  int: 'int', '#': 'nat', long: 'long', int128: 'int128', int256: 'int256', double: 'double',
  bytes: 'bytes', string: 'string', Bool: 'bool', true: 'true',
};

function parseType(text: string, generics: Set<string>, line: number): TlType {
  if (text.startsWith('!')) return { kind: 'object' };
  if (generics.has(text) || text === 'Object') return { kind: 'object' };
  const vec = /^(Vector|vector)<(.+)>$/.exec(text);
  if (vec) return { kind: 'vector', boxed: vec[1] === 'Vector', element: parseType(vec[2]!, generics, line) };
  const prim = PRIMITIVES[text];
  if (prim) return { kind: 'primitive', name: prim };
  if (text.startsWith('%')) {
    const inner = text.slice(1);
    const p = PRIMITIVES[inner];
    if (p) return { kind: 'primitive', name: p };
    return { kind: 'bare', name: inner, viaType: true };
  }
  if (!/^[A-Za-z_][\w.]*$/.test(text)) throw new TlSchemaError(`bad type "${text}"`, line);
  // Telegram's convention: the last dotted segment capitalised = a type (boxed),
  // lowercase = a constructor used bare.
  const last = text.slice(text.lastIndexOf('.') + 1);
  if (/^[A-Z]/.test(last)) return { kind: 'boxed', type: text };
  return { kind: 'bare', name: text, viaType: false };
}

/** A type as written after `=` or `:` (`Vector<User>`, `Bool`, `messages.Chats`), no generics. */
export function parseTypeExpression(text: string): TlType {
  return parseType(text.trim(), new Set(), 0);
}

/**
 * Telegram's rule for a line without `#crc`: CRC32 of the line with `bytes` spelled
 * `string`, `<`->space, `>`/braces removed, `flags.N?true` params dropped, spaces collapsed.
 */
export function computeConstructorId(definition: string): number {
  const normalized = definition
    .replace(/;\s*$/, '')
    .replace(/^([\w.]+)#[0-9a-fA-F]+/, '$1')
    .replace(/(:|\?)bytes\b/g, '$1string')
    .replace(/</g, ' ')
    .replace(/[>{}]/g, '')
    .replace(/ \w+:flags\d*\.\d+\?true/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return crc32(normalized);
}

/**
 * One definition line (comment-free, ending in `;`); null for the TL language's own built-in
 * declarations. Exported for the generated API layer data, which stores schema text per line.
 */
export function parseTlDefinition(def: string, isFunction: boolean, line = 0): TlConstructor | null {
  return parseLine(def, isFunction, line);
}

function parseLine(def: string, isFunction: boolean, line: number): TlConstructor | null {
  // Built-in declarations of the TL language itself.
  if (/ \? = /.test(def) || def.includes('[')) return null;
  const m = /^([\w.]+)(?:#([0-9a-fA-F]{1,8}))?\s*(.*?)\s*=\s*([^;]+?)\s*;$/.exec(def);
  if (!m) throw new TlSchemaError(`cannot parse "${def}"`, line);
  const [, name, hexId, argText, resultType] = m as unknown as [string, string, string | undefined, string, string];
  const generics = new Set<string>();
  const params: TlParam[] = [];
  const flagFields = new Set<string>();
  for (const tok of argText.split(/\s+/).filter(Boolean)) {
    const g = /^\{(\w+):Type\}$/.exec(tok);
    if (g) {
      generics.add(g[1]!);
      continue;
    }
    const a = /^(\w+):(.+)$/.exec(tok);
    if (!a) throw new TlSchemaError(`bad parameter "${tok}"`, line);
    const pname = a[1]!;
    let ptype = a[2]!;
    let flag: TlParam['flag'];
    const f = /^(\w+)\.(\d+)\?(.+)$/.exec(ptype);
    if (f) {
      if (!flagFields.has(f[1]!)) throw new TlSchemaError(`flag field "${f[1]}" not declared before "${pname}"`, line);
      const bit = Number(f[2]);
      if (bit > 31) throw new TlSchemaError(`flag bit ${bit} out of range`, line);
      flag = { field: f[1]!, bit };
      ptype = f[3]!;
    }
    const type = parseType(ptype, generics, line);
    if (type.kind === 'primitive' && type.name === 'nat') flagFields.add(pname);
    if (type.kind === 'primitive' && type.name === 'true' && !flag) {
      throw new TlSchemaError(`"true" is only valid behind a flag ("${pname}")`, line);
    }
    params.push(flag ? { name: pname, type, flag } : { name: pname, type });
  }
  const id = hexId !== undefined ? parseInt(hexId, 16) >>> 0 : computeConstructorId(def);
  return { name, id, params, type: resultType, isFunction, computedId: hexId === undefined };
}

export function parseTlSchema(text: string): TlSchema {
  const constructors: TlConstructor[] = [];
  let isFunction = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\/\/.*$/, '').trim();
    if (!raw) continue;
    const section = /^---(\w+)---$/.exec(raw);
    if (section) {
      isFunction = section[1] === 'functions';
      continue;
    }
    const c = parseLine(raw, isFunction, i + 1);
    if (c) constructors.push(c);
  }
  return buildSchema(constructors);
}

/** Index a list of constructors (also used to merge schemas: later entries win by name). */
export function buildSchema(constructors: TlConstructor[]): TlSchema {
  const byName = new Map<string, TlConstructor>();
  for (const c of constructors) byName.set(c.name, c);
  const byId = new Map<number, TlConstructor>();
  const byType = new Map<string, TlConstructor[]>();
  for (const c of byName.values()) {
    byId.set(c.id, c);
    if (!c.isFunction) {
      const list = byType.get(c.type) ?? [];
      list.push(c);
      byType.set(c.type, list);
    }
  }
  return { constructors: [...byName.values()], byName, byId, byType };
}

export function mergeSchemas(...schemas: TlSchema[]): TlSchema {
  return buildSchema(schemas.flatMap((s) => s.constructors));
}
