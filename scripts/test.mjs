#!/usr/bin/env node
// npm test: set up what the suite needs (redis-server, prosody and its community modules, ejabberd, python3's telethon, websockets and slixmpp, chromium), type-check, then run every test file
// with node's test runner. On a fresh machine as root it installs missing system packages itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function have(cmd) {
  // `command -v`, not `cmd --version`: prosody 0.12 has no --version and would start a server.
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Whether the system python3 (or the one on PATH) can import `modules` (Debian's python3-* packages). */
function havePython(modules) {
  return ['/usr/bin/python3', 'python3'].some((python) => {
    const r = spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' });
    return !r.error && r.status === 0;
  });
}

/**
 * ejabberd for the second-server XMPP test (test/xmpp/ejabberd-interop.test.ts, test/helpers/ejabberd.ts):
 * Debian's ejabberd. Its ejabberdctl is in /usr/sbin, which is not on every user's PATH.
 */
const haveEjabberd = () => have('ejabberdctl') || existsSync('/usr/sbin/ejabberdctl');

/** Prosody's community mod_muc_moderation (XEP-0425) for the moderation test: Debian's prosody-modules (test/helpers/prosody.ts). */
const haveMucModeration = () => existsSync('/usr/lib/prosody/modules/mod_muc_moderation/mod_muc_moderation.lua');
/** Telethon for the MTProto interop test: Debian's python3-telethon, for the system python3. */
const haveTelethon = () => havePython('telethon, rsa');
/** slixmpp for the XMPP interop test (test/xmpp/slixmpp-interop.test.ts): Debian's python3-slixmpp. */
const haveSlixmpp = () => havePython('slixmpp');
/** python websockets for the WebSocket interop test (test/websocket/python-client.test.ts): Debian's python3-websockets. */
const havePythonWebsockets = () => havePython('websockets');

/** Installs `debPackage` with apt-get (as root) unless `present()`; otherwise one line saying what to install. */
function ensurePackage(binary, debPackage, present = () => have(binary)) {
  if (present()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = spawnSync('apt-get', ['--version'], { stdio: 'ignore' });
  if (!isRoot || aptGet.error) {
    console.error(`npm test needs ${binary}: install it with \`sudo apt-get install ${debPackage}\` and run npm test again.`);
    process.exit(1);
  }
  console.log(`[test setup] installing ${debPackage} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debPackage], { stdio: 'inherit', env });
  if (r.status !== 0 || !present()) {
    console.error(`npm test needs ${binary}: \`apt-get install ${debPackage}\` failed; install it by hand and run npm test again.`);
    process.exit(1);
  }
}

ensurePackage('redis-server', 'redis-server');
ensurePackage('prosody', 'prosody');
ensurePackage('mod_muc_moderation (prosody)', 'prosody-modules', haveMucModeration);
ensurePackage('ejabberd', 'ejabberd', haveEjabberd);
ensurePackage('telethon (python3)', 'python3-telethon', haveTelethon);
ensurePackage('websockets (python3)', 'python3-websockets', havePythonWebsockets);
ensurePackage('slixmpp (python3)', 'python3-slixmpp', haveSlixmpp);
// Chromium for the browser-client test (test/websocket/browser-client.test.ts, driven by playwright-core).
ensurePackage('chromium', 'chromium');

const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('type-check failed');
  process.exit(tsc.status ?? 1);
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test');
if (files.length === 0) {
  console.error('no test files found under test/');
  process.exit(1);
}
const run = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files,
], { stdio: 'inherit' });
process.exit(run.status ?? 1);
