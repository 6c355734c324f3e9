#!/usr/bin/env node
// The `switchboard` command: runs the compiled JavaScript in dist/ (`npm run build` makes it), so
// production needs no TypeScript loader. Importing in-process keeps one process: signals such as
// Ctrl-C reach the bridge once, and its exit code is ours.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('switchboard is not built yet: run `npm run build` (it compiles src/ to dist/).');
  process.exit(3);
}
process.env.SWITCHBOARD_CLI_MAIN = '1';
await import(cli.href);
