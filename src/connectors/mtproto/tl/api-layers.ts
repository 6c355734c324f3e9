// The Telegram API schema of every layer in api-layers.json (generated from npm releases of
// gramjs, Telethon's history between them, TDLib's after them and Telegram Desktop's where none
// has a layer, by scripts/gen-mtproto-layers.ts; the file names each layer's source). Each distinct
// definition line is stored once with the layers that contain it; this module expands that into
// one TlSchema per layer (built on first use) and one schema of every definition of every layer
// for decoding requests, whatever layer the client speaks.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseTlDefinition, type TlConstructor, type TlSchema } from './schema.ts';

export interface ApiLayerSource {
  layer: number;
  /** Where the layer's text came from: `telegram@2.7.27` (npm), `github:LonamiWebs/Telethon@<commit>`, `github:tdlib/td@<commit>` or `github:telegramdesktop/tdesktop@<commit>`. */
  package: string;
  file: string;
  note?: string;
  definitions: number;
  /** SHA-256 of the layer's definition lines, sorted and joined by \n (see definitionSetDigest). */
  definitionSetSha256: string;
}

interface ApiLayersFile {
  layers: number[];
  sources: ApiLayerSource[];
  /** [definition line, layer spans like "140-181,193"] */
  types: Array<[string, string]>;
  functions: Array<[string, string]>;
}

export function definitionSetDigest(lines: readonly string[]): string {
  return createHash('sha256').update([...lines].sort().join('\n')).digest('hex');
}

export class ApiLayers {
  /** Known layers, ascending. */
  readonly layers: readonly number[];
  readonly sources: readonly ApiLayerSource[];
  readonly oldest: number;
  readonly newest: number;
  readonly #members = new Map<number, TlConstructor[]>();
  readonly #lines = new Map<number, string[]>();
  readonly #schemas = new Map<number, TlSchema>();
  #any: TlSchema | undefined;

  constructor(file: ApiLayersFile) {
    const layers = [...file.layers].sort((a, b) => a - b);
    if (layers.length === 0) throw new Error('api layers: no layers');
    this.layers = layers;
    this.sources = file.sources;
    this.oldest = layers[0]!;
    this.newest = layers[layers.length - 1]!;
    for (const l of layers) {
      this.#members.set(l, []);
      this.#lines.set(l, []);
    }
    const add = (rows: Array<[string, string]>, isFunction: boolean): void => {
      for (const [line, spans] of rows) {
        const c = parseTlDefinition(line, isFunction);
        if (c === null) throw new Error(`api layers: "${line}" is not a definition`);
        for (const l of this.#expand(spans)) {
          this.#members.get(l)!.push(c);
          this.#lines.get(l)!.push(line);
        }
      }
    };
    add(file.types, false);
    add(file.functions, true);
  }

  /** "140-152,193" -> the known layers in those ranges. */
  #expand(spans: string): number[] {
    const out: number[] = [];
    for (const span of spans.split(',')) {
      const [from, to] = span.split('-').map(Number) as [number, number | undefined];
      const hi = to ?? from;
      const inSpan = this.layers.filter((l) => l >= from && l <= hi);
      if (inSpan.length === 0 || !this.layers.includes(from) || !this.layers.includes(hi)) throw new Error(`api layers: bad span "${span}"`);
      out.push(...inSpan);
    }
    return out;
  }

  /**
   * The layer answers are encoded in for a client that announced `announced`: the newest known
   * layer not newer than it (a client newer than every known layer gets the newest; one older
   * than every known layer gets the oldest, the closest there is).
   */
  pick(announced: number): number {
    let chosen = this.oldest;
    for (const l of this.layers) if (l <= announced) chosen = l;
    return chosen;
  }

  /** The schema of one known layer (throws for a layer that is not in the file: use pick()). */
  schema(layer: number): TlSchema {
    let s = this.#schemas.get(layer);
    if (s === undefined) {
      const members = this.#members.get(layer);
      if (members === undefined) throw new Error(`api layer ${layer} is not known (known: ${this.layers.join(', ')})`);
      s = index(members, members);
      this.#schemas.set(layer, s);
    }
    return s;
  }

  /** Definition lines of one layer, as generated (for integrity checks). */
  definitionLines(layer: number): readonly string[] {
    return this.#lines.get(layer) ?? [];
  }

  /**
   * Every definition of every layer, for decoding what a client sends: by id, every id of every
   * layer; by name and type, the newest definition (ids of one name differ between layers, and an
   * id whose line gained a `flags.N?true` field has two lines: the newest reads both).
   */
  anyLayer(): TlSchema {
    if (this.#any === undefined) {
      const newestFirst = [...this.layers].reverse().flatMap((l) => this.#members.get(l)!);
      const byId = new Map<number, TlConstructor>();
      for (const c of newestFirst) if (!byId.has(c.id)) byId.set(c.id, c);
      this.#any = index(newestFirst, [...byId.values()]);
    }
    return this.#any;
  }
}

/** Indexes: byId over `all` (first wins), byName/byType over the first definition of each name. */
function index(nameOrder: TlConstructor[], all: TlConstructor[]): TlSchema {
  const byName = new Map<string, TlConstructor>();
  for (const c of nameOrder) if (!byName.has(c.name)) byName.set(c.name, c);
  const byId = new Map<number, TlConstructor>();
  for (const c of all) if (!byId.has(c.id)) byId.set(c.id, c);
  const byType = new Map<string, TlConstructor[]>();
  for (const c of byName.values()) {
    if (c.isFunction) continue;
    const list = byType.get(c.type) ?? [];
    list.push(c);
    byType.set(c.type, list);
  }
  return { constructors: [...byId.values()], byName, byId, byType };
}

let cached: ApiLayers | undefined;

/** The generated layers beside this file, loaded on first use (about 0.66 MB of JSON). */
export function apiLayers(): ApiLayers {
  if (cached === undefined) {
    const text = readFileSync(new URL('./api-layers.json', import.meta.url), 'utf8');
    cached = new ApiLayers(JSON.parse(text) as ApiLayersFile);
  }
  return cached;
}
