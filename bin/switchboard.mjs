#!/usr/bin/env node
// The `switchboard` command: Switchboard runs from its TypeScript sources (no build step), so
// register tsx's loader in this process and hand over to src/cli.ts. Registering in-process
// (instead of re-spawning node) keeps one process: signals such as Ctrl-C reach the bridge once,
// and its exit code is ours.
import { register } from 'tsx/esm/api';

register();
process.env.SWITCHBOARD_CLI_MAIN = '1';
await import(new URL('../src/cli.ts', import.meta.url).href);
