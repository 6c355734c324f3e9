import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfigTree } from '../config/fixture.ts';

/**
 * Production runs compiled JavaScript: `npm run build` compiles src/ to dist/, and the
 * `switchboard` bin runs it with plain node (no TypeScript loader, no dev dependency).
 */

const ROOT = process.cwd();
const DIST = join(ROOT, 'dist');

interface Run { code: number | null; stdout: string; stderr: string }

interface Running {
  output(): string;
  /** Resolves once the output matches. */
  printed(pattern: RegExp): Promise<string>;
  readonly exited: Promise<Run>;
  signal(signal: NodeJS.Signals): void;
}

/** Runs the bin with plain node (no TypeScript loader in NODE_OPTIONS), killed by PID if it overstays. */
function runBin(args: string[], cwd: string): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'switchboard.mjs'), ...args], {
    cwd, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', SWITCHBOARD_LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 30_000);
  const exited = new Promise<Run>((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
  return {
    output: () => stdout + stderr,
    exited,
    signal: (signal) => { if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, signal); },
    printed: (pattern) => new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stdout);
        if (m) { child.stdout.off('data', check); resolve(m[1] ?? m[0]); }
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${stdout}${stderr}`)));
      check();
    }),
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
});

test('the build is plain JavaScript with its run-time data files and imports no TypeScript loader', () => {
  const files = filesUnder(DIST);
  assert.ok(files.some((f) => f.endsWith('cli.js')));
  assert.ok(files.some((f) => f.endsWith('mtproto.tl')), 'the TL schema the MTProto codec reads at run time is copied');
  const js = files.filter((f) => f.endsWith('.js'));
  assert.deepEqual(js.filter((f) => /from ['"][^'"]+\.ts['"]|import\(['"][^'"]+\.ts['"]\)/.test(readFileSync(f, 'utf8'))), [], 'every relative import points at .js');
  assert.deepEqual(js.filter((f) => /['"]tsx/.test(readFileSync(f, 'utf8'))), []);
});

test('bin/switchboard.mjs runs the build from any directory; start refuses an invalid config with exit 1 and starts nothing', async () => {
  const tree = makeConfigTree('http: { port: 0 }\n', { 'bridges/lobby.yaml': 'endpoints: [{websocket: "bad name"}]\n' });
  try {
    const r = await runBin(['start'], tree.dir).exited;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^bridges\/lobby\.yaml:1: endpoints\.0\.websocket: WS room names use/m, 'found ./config.yaml by default and printed paths relative to the cwd');
    assert.doesNotMatch(r.stdout, /Switchboard is running/);
  } finally {
    tree.cleanup();
  }
});

test('the built bridge starts, answers /healthz and stops on SIGTERM with exit 0', async () => {
  const tree = makeConfigTree('http: { port: 0 }\n', { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  const bridge = runBin(['start'], tree.dir);
  try {
    const url = await bridge.printed(/Health: +(http:\/\/\S+)\/healthz/);
    const health = await (await fetch(`${url}/healthz`)).json() as Record<string, unknown>;
    assert.equal(health['status'], 'ok');
    bridge.signal('SIGTERM');
    const exit = await bridge.exited;
    assert.equal(exit.code, 0, bridge.output());
  } finally {
    bridge.signal('SIGKILL');
    tree.cleanup();
  }
});
