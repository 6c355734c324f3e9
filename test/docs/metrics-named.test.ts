import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Operators find metrics by their names in README.md and docs/, and write alerts from them: a name
 * there that the code does not register is an alert that never fires, and a metric the docs never
 * name is one nobody watches. Names in the code are the string literals given to the registry.
 */

const root = join(import.meta.dirname, '..', '..');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : ext.test(e.name) ? [p] : [];
  });
}

/** Every metric name (or name prefix, ending in `_`) the source gives the registry. */
function registered(): Set<string> {
  const names = new Set<string>();
  for (const file of files(join(root, 'src'), /\.ts$/)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"`](switchboard_[a-z0-9_]+)['"`]/g)) names.add(m[1]!);
  }
  return names;
}

const docs = [join(root, 'README.md'), ...files(join(root, 'docs'), /\.md$/)];

test('every switchboard_* metric README.md and docs/ name (alert rules included) is one the code registers (a `*` or a trailing `_` names a family)', () => {
  const known = registered();
  assert.ok(known.size > 50, `found ${known.size} metric names in src/: the scan is broken`);
  const unknown: string[] = [];
  for (const file of docs) {
    for (const m of readFileSync(file, 'utf8').matchAll(/switchboard_[a-z0-9_]*\*?/g)) {
      const name = m[0];
      const family = name.endsWith('*') ? name.slice(0, -1) : undefined;
      const ok = family !== undefined
        ? [...known].some((k) => k.startsWith(family))
        : known.has(name) || [...known].some((k) => k.endsWith('_') && name.startsWith(k));
      if (!ok) unknown.push(`${file.slice(root.length + 1)}: ${name}`);
    }
  }
  assert.deepEqual([...new Set(unknown)], [], 'names in the docs that no code registers');
});

test('docs/operations.md lists every metric the code registers, in full (the process metrics by their prefix)', () => {
  const text = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
  const listed = new Set([...text.matchAll(/`(switchboard_[a-z0-9_]+)`/g)].map((m) => m[1]!));
  const missing = [...registered()].filter((name) => name.endsWith('_') ? !text.includes(name) : !listed.has(name));
  assert.deepEqual(missing, [], 'metrics docs/operations.md does not list');
});
