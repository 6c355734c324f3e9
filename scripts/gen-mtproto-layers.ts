#!/usr/bin/env node
/**
 * Generates src/connectors/mtproto/tl/api-layers.json: the Telegram API schema of every layer
 * in SOURCES, from the published .tl text that npm releases of gramjs (package `telegram`)
 * ship in `tl/apiTl.js` (a CommonJS module exporting the api.tl text as a template string).
 *
 *   node --import tsx scripts/gen-mtproto-layers.ts            # regenerate (needs the npm registry)
 *   node --import tsx scripts/gen-mtproto-layers.ts --check    # regenerate in memory, compare with the file
 *
 * For each source it runs `npm pack telegram@VERSION` into a temp dir, extracts the two files it
 * needs with `tar`, and checks, before anything is written:
 *   - the text's SHA-256 is the one recorded below (a re-published tarball cannot change a layer
 *     silently; a new source is added with sha256 '' and the script prints the value to record);
 *   - the release's own `LAYER` constant (tl/AllTLObjects.js) is the layer we file it under, or
 *     the documented `layerConstant` where gramjs shipped a schema before bumping the constant;
 *   - every explicit `#id` equals the CRC32 of its line (Telegram's rule), every line parses,
 *     and names and ids are unique within the layer.
 * Which release carries which layer was found by packing the releases and comparing their text
 * with the gram-js/gramjs history of gramjs/tl/static/api.tl (commits named "Update to layer N").
 *
 * Output: every distinct definition line once (normalized: comment-free, single spaces), with
 * the layers that contain it as spans over the known layers ("140-181" = every known layer from
 * 140 to 181), plus per layer its source and the SHA-256 of its sorted definition set, so a test
 * can prove that expanding the file gives back each layer exactly.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeConstructorId, parseTlDefinition } from '../src/connectors/mtproto/tl/schema.ts';
import { definitionSetDigest } from '../src/connectors/mtproto/tl/api-layers.ts';

interface Source {
  layer: number;
  /** npm release of `telegram` whose tl/apiTl.js is this layer's schema. */
  version: string;
  sha256: string;
  /** The release's LAYER constant when it lags the schema text it ships. */
  layerConstant?: number;
  note?: string;
}

const SOURCES: Source[] = [
  { layer: 138, version: '2.5.0',
    sha256: '7465eefdc26c365f2c0d27b445a9be4642f3d43df1a4117e6d626e03352904a6' },
  {
    layer: 139, version: '2.6.2',
    sha256: '5a34cc1e918605e98ccd98d2e77a7bab42b8d95d05beadcaaebf5d4478c17a4a', layerConstant: 138,
    note: 'text of gram-js/gramjs commit fff402a "layer 139" (adds phone.getGroupCallStreamRtmpUrl); the release kept LAYER = 138',
  },
  { layer: 140, version: '2.7.27',
    sha256: '28a798d8ea152a1bdc5ee82b7ee8c7023ca8ac57c1ecfcf27f3e4a8bc5adb752' },
  { layer: 143, version: '2.9.2',
    sha256: '9077d047942dda6d24f0f657e418626a1030fa9bdb0b9333cbc3439f7106331c' },
  { layer: 145, version: '2.11.5',
    sha256: '0cc42a1af4f62b4d90655a735668e205c26610b41ec3b015fb7e49212692e2ec' },
  { layer: 148, version: '2.14.7',
    sha256: '8793eb0c8324a1d43f6798d4f629e3b3c3f1da7af455b398e5308b64cd6006c3' },
  { layer: 150, version: '2.15.2',
    sha256: '79feee68dd23df03c8d1c229fcc50fea99818bc3b38a1c126b6e2b8dc3fe8e0a' },
  { layer: 152, version: '2.15.15',
    sha256: 'c902a51e2f45f67a79c3b59c2bfd76a5539df8fc3554e24092390baa5bada376' },
  { layer: 158, version: '2.17.3',
    sha256: 'e1a33fe2509a72af61421985a722c3c48f8a538691944a2fd6e6e8d588e9649a' },
  { layer: 160, version: '2.18.26',
    sha256: 'a698b48dc0d08fc541925b78ec01e0886fa399012f4c94bae15202df04727998' },
  { layer: 165, version: '2.19.8',
    sha256: 'bd6566f76b683df704e91bce8b4a0f0613b1fb094288a75e1279dc0d07141c66' },
  { layer: 174, version: '2.19.20',
    sha256: '62a36aef4966914beb32816392106e8d71704a51b0bf340cd7dfde2707617fed' },
  { layer: 177, version: '2.20.14',
    sha256: '91524d4888ffe0a65a58903338f3dab987b1bb10644abbe532b67ed304f52dc9' },
  { layer: 179, version: '2.21.2',
    sha256: 'a951f09d0b090fbb911ba38545f125d47123c17642575e785c4a53611af10639' },
  { layer: 181, version: '2.22.1',
    sha256: 'd3956cf1460674d42547c3cd6fd26b45f5a8b1efadbbecade5802de16f5dd12f' },
  { layer: 184, version: '2.23.10',
    sha256: 'e101bd8284f318d6d96c10116586ea4667293d67c31d1fc99836b990f4e166aa' },
  { layer: 193, version: '2.26.8',
    sha256: '72e675ffd52ef5e287a7e4f0e458316f4aa1fefb3415f622e3ce39b9803dbda2' },
  { layer: 198, version: '2.26.22',
    sha256: '21d90024d9db9e6f0ff3cf5be998fb47318e051b76014766cbef5cc1ecc54090' },
];

const OUTPUT = new URL('../src/connectors/mtproto/tl/api-layers.json', import.meta.url);

interface LayerText {
  source: Source;
  types: string[];
  functions: string[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `module.exports = \`...\`;` -> the text. Refuses anything a template literal would transform. */
function schemaTextOf(moduleSource: string, what: string): string {
  // Some releases end with a `//# sourceMappingURL=` comment after the statement.
  const m = /module\.exports\s*=\s*`([^`]*)`\s*;?((?:\s*\/\/[^\n]*)*)\s*$/.exec(moduleSource);
  if (!m) throw new Error(`${what}: not a module exporting one template string`);
  const text = m[1]!;
  if (text.includes('\\') || text.includes('${')) throw new Error(`${what}: escapes or substitutions in the schema text`);
  return text.replace(/\r/g, '');
}

function fetchLayer(source: Source, dir: string): string {
  const spec = `telegram@${source.version}`;
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const tgz = join(dir, out);
  const read = (file: string): string => execFileSync('tar', ['-xzOf', tgz, `package/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const text = schemaTextOf(read('tl/apiTl.js'), spec);
  const constant = /exports\.LAYER\s*=\s*(\d+)/.exec(read('tl/AllTLObjects.js'));
  const declared = constant ? Number(constant[1]) : NaN;
  if (declared !== (source.layerConstant ?? source.layer)) {
    throw new Error(`${spec} says LAYER = ${declared}, filed under ${source.layer} (layerConstant ${source.layerConstant ?? 'unset'})`);
  }
  const digest = sha256(text);
  if (source.sha256 === '') console.log(`${spec}: record sha256 '${digest}'`);
  else if (digest !== source.sha256) throw new Error(`${spec}: schema text sha256 ${digest}, expected ${source.sha256}`);
  return text;
}

/** The definition lines of one api.tl text, split into types and functions, checked. */
function definitionsOf(source: Source, text: string): LayerText {
  const types: string[] = [];
  const functions: string[] = [];
  const names = new Set<string>();
  const ids = new Set<number>();
  let isFunction = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\/\/.*$/, '').replace(/\s+/g, ' ').trim();
    if (!line) return;
    const section = /^---(\w+)---$/.exec(line);
    if (section) { isFunction = section[1] === 'functions'; return; }
    const c = parseTlDefinition(line, isFunction, i + 1);
    if (c === null) return;
    const where = `layer ${source.layer} line ${i + 1} (${c.name})`;
    if (c.computedId) throw new Error(`${where}: no explicit id`);
    if (computeConstructorId(line) !== c.id) throw new Error(`${where}: id does not match the CRC32 of the line`);
    if (names.has(c.name) || ids.has(c.id)) throw new Error(`${where}: duplicate name or id`);
    names.add(c.name);
    ids.add(c.id);
    (isFunction ? functions : types).push(line);
  });
  if (functions.length < 100 || types.length < 500) throw new Error(`layer ${source.layer}: only ${types.length} types, ${functions.length} functions`);
  return { source, types, functions };
}

/** Spans over the known layers: [140, 143, 145] of [138..198] -> "140-145". */
function spans(present: number[], known: number[]): string {
  const out: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  for (const layer of known) {
    if (present.includes(layer)) {
      start ??= layer;
      prev = layer;
    } else if (start !== undefined) {
      out.push(start === prev ? String(start) : `${start}-${prev}`);
      start = undefined;
    }
  }
  if (start !== undefined) out.push(start === prev ? String(start) : `${start}-${prev}`);
  return out.join(',');
}

function render(layers: LayerText[]): string {
  const known = layers.map((l) => l.source.layer);
  const collect = (pick: (l: LayerText) => string[]): Array<[string, string]> => {
    const where = new Map<string, number[]>();
    for (const l of layers) for (const line of pick(l)) where.set(line, [...(where.get(line) ?? []), l.source.layer]);
    // Ordered by first layer, then by position in that layer's file: diffs stay small.
    return [...where].map(([line, in_]) => [line, spans(in_, known)]);
  };
  const meta = {
    about: 'Telegram API schema of several layers, generated by scripts/gen-mtproto-layers.ts from the tl/apiTl.js of npm releases of `telegram` (gramjs). Do not edit.',
    layers: known,
    sources: layers.map((l) => ({
      layer: l.source.layer,
      package: `telegram@${l.source.version}`,
      file: 'package/tl/apiTl.js',
      ...(l.source.note ? { note: l.source.note } : {}),
      definitions: l.types.length + l.functions.length,
      definitionSetSha256: definitionSetDigest([...l.types, ...l.functions]),
    })),
  };
  const list = (rows: Array<[string, string]>): string => rows.map((r) => '    ' + JSON.stringify(r)).join(',\n');
  const head = JSON.stringify(meta, null, 2).replace(/\n}$/, '');
  return `${head},\n  "types": [\n${list(collect((l) => l.types))}\n  ],\n  "functions": [\n${list(collect((l) => l.functions))}\n  ]\n}\n`;
}

function main(): void {
  const check = process.argv.includes('--check');
  const dir = mkdtempSync(join(tmpdir(), 'sb-tl-layers-'));
  try {
    const layers = SOURCES.map((s) => definitionsOf(s, fetchLayer(s, dir)));
    const json = render(layers);
    if (check) {
      const same = readFileSync(OUTPUT, 'utf8') === json;
      console.log(same ? 'api-layers.json is up to date' : 'api-layers.json differs from what the sources give');
      process.exitCode = same ? 0 : 1;
      return;
    }
    writeFileSync(OUTPUT, json);
    console.log(`wrote ${OUTPUT.pathname}: ${layers.length} layers, ${json.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();
