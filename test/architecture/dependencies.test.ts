import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The dependency rules of DESIGN.md, checked on every import of src/ (static, re-export and
 * dynamic): dependencies point one way, from the app through connectors to the bus and core.
 */

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s(?:type\s)?[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** Relative imports of a file, as paths under src/ ('core/event.ts'). */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec === undefined || !spec.startsWith('.')) continue;
    out.push(relative(SRC, resolve(dirname(file), spec)).split(sep).join('/'));
  }
  return out;
}

/** The layer of a path under src/: 'core', 'bus', 'connectors/xmpp', 'connectors' (the contract and registry), ... */
function layerOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'connectors' && parts.length > 2) return `connectors/${parts[1]}`;
  return parts.length > 1 ? (parts[0] ?? path) : path.replace(/\.ts$/, '');
}

interface Rule { readonly name: string; readonly applies: (from: string) => boolean; readonly allowed: (to: string, toPath: string, from: string) => boolean }

const RULES: Rule[] = [
  { name: 'core imports no other layer', applies: (f) => f === 'core', allowed: (t) => t === 'core' },
  {
    name: 'the bus imports only core (never config, connectors, router, http or the app)',
    applies: (f) => f === 'bus', allowed: (t) => t === 'bus' || t === 'core',
  },
  { name: 'the router imports only core', applies: (f) => f === 'router', allowed: (t) => t === 'router' || t === 'core' },
  {
    name: 'config imports only core (never a connector or its crypto, the bus or the router)',
    applies: (f) => f === 'config', allowed: (t) => t === 'config' || t === 'core',
  },
  {
    name: 'a connector never imports another connector, a bus driver, the router, the app or the CLI',
    applies: (f) => f.startsWith('connectors/'),
    allowed: (t, toPath, from) => t === from || t === 'connectors' || t === 'core' || t === 'config' || t === 'mapper' || t === 'media'
      || toPath === 'bus/types.ts',
  },
  {
    name: 'the connector contract and registry import only core, config, the bus interface, the media interface and connector modules',
    applies: (f) => f === 'connectors',
    allowed: (t, toPath) => t === 'core' || t === 'config' || t === 'connectors' || toPath === 'bus/types.ts' || toPath === 'media/index.ts'
      || /^connectors\/[^/]+\/module\.ts$/.test(toPath),
  },
  {
    name: 'the mapper and the media store import only core and the bus interface',
    applies: (f) => f === 'mapper' || f === 'media', allowed: (t, toPath, from) => t === from || t === 'core' || toPath === 'bus/types.ts',
  },
  {
    name: 'the HTTP layer imports only core and the bus interface',
    applies: (f) => f === 'http', allowed: (t, toPath) => t === 'http' || t === 'core' || toPath === 'bus/types.ts',
  },
];

test('dependency rules hold for every import in src/', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const fromPath = relative(SRC, file).split(sep).join('/');
    const from = layerOf(fromPath);
    for (const toPath of importsOf(file)) {
      const to = layerOf(toPath);
      for (const rule of RULES) {
        if (rule.applies(from) && !rule.allowed(to, toPath, from)) violations.push(`${fromPath} -> ${toPath}: ${rule.name}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees static, type-only, re-export and dynamic imports (so the rules cannot pass by missing them)', () => {
  const seen = importsOf(join(SRC, 'app.ts'));
  assert.ok(seen.includes('bus/create.ts'), 'static import');
  assert.ok(seen.includes('connectors/connector.ts'), 'type-only import');
  const registry = importsOf(join(SRC, 'connectors/registry.ts'));
  assert.ok(registry.includes('connectors/websocket/module.ts'));
  const busTypes = importsOf(join(SRC, 'bus/types.ts'));
  assert.ok(busTypes.includes('core/endpoint.ts'), 're-export');
  const wsModule = importsOf(join(SRC, 'connectors/websocket/module.ts'));
  assert.ok(wsModule.includes('connectors/websocket/connector.ts'), 'dynamic import');
});
