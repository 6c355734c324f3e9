#!/usr/bin/env node
// npm run build: compiles src/ to JavaScript in dist/ (tsc -p tsconfig.build.json) and copies the
// files beside the sources that the code reads at run time (the TL schema, data files), so that
// production runs plain `node dist/cli.js` with no TypeScript loader. `--out DIR` builds elsewhere.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outArg = process.argv.indexOf('--out');
const out = outArg === -1 ? join(root, 'dist') : resolve(process.argv[outArg + 1] ?? 'dist');

rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build failed: tsc reported errors');
  process.exit(tsc.status ?? 1);
}

function assets(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return assets(p);
    return /\.(ts|d\.ts)$/.test(name) ? [] : [p];
  });
}
const src = join(root, 'src');
for (const file of assets(src)) cpSync(file, join(out, relative(src, file)));
