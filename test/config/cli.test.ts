import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main } from '../../src/cli.ts';
import type { Io } from '../../src/cli/args.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { TokenSchema } from '../../src/config/schema.ts';
import { makeConfigTree, LOBBY_BRIDGE } from './fixture.ts';

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI as a child process (as an operator would), killed by PID if it overstays. */
function runCli(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); reject(new Error(`cli ${args.join(' ')} timed out`)); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Runs the CLI in this process with captured output (fast; for the cases that need no subprocess). */
async function runInProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (l) => { stdout += `${l}\n`; }, err: (l) => { stderr += `${l}\n`; } };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('switchboard check (subprocess)', () => {
  test('a good config: exit 0 and a summary of what would run', async () => {
    const r = await runCli(['check', '--config', 'config.example.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK: .*config\.example\.yaml$/m);
    assert.match(r.stdout, /bus: +memory/);
    assert.match(r.stdout, /lobby: websocket lobby, xmpp lobby@conference\.example\.org, mtproto 1001/);
  });

  test('directions are listed; a room that can carry nothing is valid and named in a warning', async () => {
    const tree = makeConfigTree('http:\n  port: 0\n', {
      'bridges/news.yaml': 'endpoints:\n  - websocket: desk\n    direction: send-only\n  - websocket: readers\n    direction: receive-only\n  - websocket: talk\n',
      'bridges/mute.yaml': 'endpoints:\n  - websocket: m1\n    direction: receive-only\n  - websocket: m2\n    direction: receive-only\n',
      'bridges/deaf.yaml': 'endpoints:\n  - websocket: d1\n    direction: send-only\n  - websocket: d2\n    direction: send-only\n',
    });
    try {
      const r = await runCli(['check', '--config', tree.configFile]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /news: websocket desk \(send-only\), websocket readers \(receive-only\), websocket talk$/m);
      assert.match(r.stdout, /WARNING: .*mute\.yaml:2: endpoints: room "mute": every endpoint is receive-only/);
      assert.match(r.stdout, /WARNING: .*deaf\.yaml:2: endpoints: room "deaf": every endpoint is send-only/);
      assert.equal(r.stdout.match(/WARNING/g)?.length, 2, 'a room with a way through is not warned about');
    } finally {
      tree.cleanup();
    }
  });

  test('a room\'s ignore: rules are listed under it; a pattern that is not RE2 is a problem with its line', async () => {
    const tree = makeConfigTree('http:\n  port: 0\n', {
      'bridges/talk.yaml': 'endpoints:\n  - websocket: here\n  - xmpp: talk@muc.example.org\nignore:\n  senders:\n    - xmpp: helpbot@example.org\n  messages: ["^!", "(?i)spam"]\n',
      'bridges/quiet.yaml': 'endpoints:\n  - websocket: quiet\nignore:\n  messages: ["^!"]\n',
      'bridges/ops.yaml': 'endpoints:\n  - websocket: ops\n',
    });
    try {
      const r = await runCli(['check', '--config', tree.configFile]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /talk: websocket here, xmpp talk@muc\.example\.org\n +not relayed: from xmpp helpbot@example\.org; messages matching "\^!", "\(\?i\)spam"$/m);
      assert.match(r.stdout, /quiet: websocket quiet\n +not relayed: messages matching "\^!"$/m);
      assert.equal(r.stdout.match(/not relayed/g)?.length, 2, 'a room without rules lists none');
      // config.yaml's rules for every room: listed once, each room's own under it.
      tree.write('config.yaml', 'http:\n  port: 0\nignore:\n  senders:\n    - websocket: spammer\n');
      const shared = await runCli(['check', '--config', tree.configFile]);
      assert.equal(shared.code, 0, shared.stderr);
      assert.match(shared.stdout, /\(every room, config\.yaml ignore:\) not relayed: from websocket spammer$/m);
      assert.match(shared.stdout, /quiet: websocket quiet\n +not relayed: messages matching "\^!"$/m);
      assert.match(shared.stdout, /ops: websocket ops\n/);
      assert.equal(shared.stdout.match(/not relayed/g)?.length, 3);
      tree.write('bridges/quiet.yaml', 'endpoints:\n  - websocket: quiet\nignore:\n  messages: ["^!", "(?!x)"]\n');
      const bad = await runCli(['check', '--config', tree.configFile]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /quiet\.yaml:4: ignore\.messages\.1: not an RE2 pattern/);
    } finally {
      tree.cleanup();
    }
  });

  test('a bad config: exit 1 and every problem as file:line: field: message on stderr', async () => {
    const tree = makeConfigTree('http:\n  port: 0\n', {
      'bridges/lobby.yaml': '# lobby\nendpoints:\n  - xmpp: lobby@muc.example.org\n  - websocket: "has space"\n',
      'bridges/ops.yaml': 'endpoints:\n  - websocket: ops\n    mtproto: 7\n',
    });
    try {
      const r = await runCli(['check', '--config', tree.configFile]);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split('\n');
      assert.ok(lines.some((l) => /bridges\/lobby\.yaml:4: endpoints\.1\.websocket: WS room names use/.test(l)), r.stderr);
      assert.ok(lines.some((l) => /bridges\/ops\.yaml:2: endpoints\.0: each endpoint names exactly one network/.test(l)), r.stderr);
      assert.match(lines[lines.length - 1] ?? '', /2 problems found; nothing was started/);
      assert.equal(r.stdout, '');
    } finally {
      tree.cleanup();
    }
  });
});

test('an unknown command is a usage error (2) naming it, also one named like a property of every object', async () => {
  for (const name of ['nosuch', 'constructor', 'toString', '__proto__']) {
    const r = await runInProcess([name]);
    assert.equal(r.code, 2, name);
    assert.match(r.stderr, new RegExp(`unknown command "${name}"`), name);
  }
});

test('every command that reads the config: a missing or invalid one is exit 1 with file:line: field: message, no stack', async () => {
  const tree = makeConfigTree('http:\n  port: nope\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
  try {
    const commands: string[][] = [['check'], ['start'], ['mtproto-code', '--phone', '+1 555 0100'], ['mtproto-key']];
    for (const command of commands) {
      const missing = await runInProcess([...command, '--config', '/nonexistent/sb.yaml']);
      assert.equal(missing.code, 1, `${command[0]}: ${missing.stderr}`);
      assert.match(missing.stderr.split('\n')[0] ?? '', /^\/nonexistent\/sb\.yaml: cannot read: ENOENT$/, command[0]);
      assert.doesNotMatch(missing.stderr, /\n\s+at /, `${command[0]}: no stack trace`);
      const invalid = await runInProcess([...command, '--config', tree.configFile]);
      assert.equal(invalid.code, 1, `${command[0]}: ${invalid.stderr}`);
      assert.match(invalid.stderr, /config\.yaml:2: http\.port: /, command[0]);
      assert.doesNotMatch(invalid.stderr, /\n\s+at /, `${command[0]}: no stack trace`);
    }
    // As an operator runs it: the one line, and exit 1 from the process.
    const r = await runCli(['mtproto-code', '--phone', '+1 555 0100', '--config', '/nonexistent/sb.yaml']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, '/nonexistent/sb.yaml: cannot read: ENOENT\n');
  } finally {
    tree.cleanup();
  }
});

describe('switchboard token', () => {
  test('prints a token once and a config entry whose hash verifies against it (subprocess)', async () => {
    const r = await runCli(['token', '--name', 'alice', '--scope', 'bot', '--rooms', 'lobby,ops']);
    assert.equal(r.code, 0, r.stderr);
    const tokens = r.stdout.match(/^ {2}(sb_[A-Za-z0-9_-]{43})$/m);
    assert.ok(tokens?.[1], r.stdout);
    const token = tokens[1];
    // The indented snippet is YAML: paste it and it must be a valid token entry.
    const snippet = r.stdout.slice(r.stdout.indexOf('    - name:'));
    const entries = parse(snippet) as unknown[];
    const entry = TokenSchema.parse(entries[0]);
    assert.equal(entry.hash, hashToken(token));
    assert.deepEqual([entry.name, entry.scope, entry.rooms], ['alice', 'bot', ['lobby', 'ops']]);
    assert.equal(r.stdout.split(token).length - 1, 1, 'the token is printed exactly once');
    assert.ok(!snippet.includes('moderator'), 'the default is not printed');
    const moderator = await runInProcess(['token', '--name', 'spamguard', '--scope', 'bot', '--moderator']);
    assert.equal(moderator.code, 0);
    assert.equal(TokenSchema.parse((parse(moderator.stdout.slice(moderator.stdout.indexOf('    - name:'))) as unknown[])[0]).moderator, true);
  });

  test('two runs give different tokens; a bad name or scope is a usage error (exit 2)', async () => {
    const a = await runInProcess(['token', '--name', 'bob']);
    const b = await runInProcess(['token', '--name', 'bob']);
    assert.notEqual(a.stdout.match(/sb_\S+/)?.[0], b.stdout.match(/sb_\S+/)?.[0]);
    assert.equal((await runInProcess(['token', '--name', 'bad name'])).code, 2);
    assert.equal((await runInProcess(['token', '--name', 'x', '--scope', 'admin'])).code, 2);
    assert.equal((await runInProcess(['token'])).code, 2);
    assert.equal((await runInProcess(['token', '--mtproto-bot', '5001', '--name', 'x', '--moderator'])).code, 2);
  });
});

describe('switchboard check: keys and demo tokens; keygen; usage', () => {
  test('check refuses an XMPP endpoint that is not a room JID (start would fail on it), naming the file', async () => {
    const tree = makeConfigTree('http: { port: 0 }\nxmpp:\n  enabled: true\n  domain: bridge.localhost\n  secret: s3cret\n', {
      'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - xmpp: conference.example.org\n',
      'bridges/ops.yaml': 'endpoints:\n  - xmpp: ops@conference.example.org/nick\n',
    });
    try {
      const r = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /lobby\.yaml:3: endpoints\.1\.xmpp: "conference\.example\.org" is not a room JID/);
      assert.match(r.stderr, /ops\.yaml:2: endpoints\.0\.xmpp: "ops@conference\.example\.org\/nick" is not a room JID/);
      tree.write('bridges/ops.yaml', 'endpoints:\n  - xmpp: ops@conference.example.org\n');
      tree.write('bridges/lobby.yaml', 'endpoints:\n  - xmpp: lobby@conference.example.org\n');
      const ok = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    } finally {
      tree.cleanup();
    }
  });

  test('mtproto enabled without its key file: exit 1 naming mtproto.rsaKeyFile; keygen makes it and check passes', async () => {
    const tree = makeConfigTree('http: { port: 0 }\nmtproto:\n  enabled: true\n  rsaKeyFile: ./keys/rsa.pem\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const missing = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /config\.yaml:4: mtproto\.rsaKeyFile: cannot read .*keys\/rsa\.pem \(ENOENT\)/);

      const keyFile = join(tree.dir, 'keys', 'rsa.pem');
      const made = await runInProcess(['keygen', '--out', keyFile]);
      assert.equal(made.code, 0, made.stderr);
      const fingerprint = made.stdout.match(/fingerprint \(hex\): +([0-9a-f]{16})$/m)?.[1];
      assert.equal(fingerprint, loadServerRsaKey(readFileSync(keyFile, 'utf8')).fingerprintHex);
      assert.equal((await runInProcess(['check', '--config', tree.configFile])).code, 0);
      // Who may remove anyone's message is named in the summary.
      tree.write('config.yaml', [
        'http: { port: 0 }',
        'websocket:',
        '  tokens:',
        `    - { name: spamguard, hash: "${hashToken('sb_x')}", scope: bot, moderator: true }`,
        `    - { name: alice, hash: "${hashToken('sb_y')}" }`,
        'mtproto:',
        '  enabled: true',
        '  rsaKeyFile: ./keys/rsa.pem',
        '  accounts:',
        '    - { id: 5002, bot: true, firstName: Guard, tokenHash: "sha256:' + '0'.repeat(64) + '", moderator: true }',
        '    - { id: 777000123, phone: "+1 555 0100", firstName: Bob }',
        '',
      ].join('\n'));
      const named = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(named.code, 0, named.stderr);
      assert.match(named.stdout, /websocket: +\/ws, 2 token\(s\); moderators: spamguard$/m);
      assert.match(named.stdout, /mtproto: +.*, 2 account\(s\); moderators: 5002$/m);

      const again = await runInProcess(['keygen', '--out', keyFile]);
      assert.equal(again.code, 3, 'an existing key is never replaced without --force');
      assert.equal(loadServerRsaKey(readFileSync(keyFile, 'utf8')).fingerprintHex, fingerprint);

      tree.write('keys/rsa.pem', 'not a key');
      const bad = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /mtproto\.rsaKeyFile: .* is not a usable MTProto key/);
    } finally {
      tree.cleanup();
    }
  });

  test('keygen and mtproto-key print what clients pin, matching the key as node:crypto reads it', async () => {
    const tree = makeConfigTree('http: { port: 0 }\nmtproto:\n  rsaKeyFile: ./keys/rsa.pem\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const keyFile = join(tree.dir, 'keys', 'rsa.pem');
      // Independently of the bridge's code: n and e from node:crypto's JWK export of FILE.pub, the
      // fingerprint as Telegram defines it (SHA1 of TL rsa_public_key n:bytes e:bytes, its last 8
      // bytes little-endian), signed as gramjs keys its table.
      const expected = (): Record<string, string> => {
        const pub = readFileSync(`${keyFile}.pub`, 'utf8');
        const jwk = createPublicKey(pub).export({ format: 'jwk' });
        const n = Buffer.from(String(jwk.n), 'base64url');
        const e = Buffer.from(String(jwk.e), 'base64url');
        const tlBytes = (b: Buffer) => {
          const head = b.length <= 253 ? Buffer.from([b.length]) : Buffer.from([254, b.length & 0xff, (b.length >> 8) & 0xff, b.length >> 16]);
          const body = Buffer.concat([head, b]);
          return Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
        };
        const sha = createHash('sha1').update(tlBytes(n)).update(tlBytes(e)).digest();
        return {
          'fingerprint (hex)': sha.readBigUInt64LE(12).toString(16).padStart(16, '0'),
          'fingerprint (signed decimal)': sha.readBigInt64LE(12).toString(),
          'modulus (decimal)': BigInt(`0x${n.toString('hex')}`).toString(),
          'modulus (hex)': n.toString('hex'),
          exponent: `${BigInt(`0x${e.toString('hex')}`)} (hex ${BigInt(`0x${e.toString('hex')}`).toString(16)})`,
          pem: pub.trimEnd(),
        };
      };
      const printed = (stdout: string): Record<string, string> => {
        const values: Record<string, string> = {};
        for (const m of stdout.matchAll(/^ {2}(fingerprint \(hex\)|fingerprint \(signed decimal\)|modulus \(decimal\)|modulus \(hex\)|exponent): +(\S.*)$/gm)) values[m[1] ?? ''] = m[2] ?? '';
        values['pem'] = /-----BEGIN RSA PUBLIC KEY-----\n[^]*?-----END RSA PUBLIC KEY-----/.exec(stdout)?.[0] ?? '';
        return values;
      };

      const made = await runInProcess(['keygen', '--out', keyFile]);
      assert.equal(made.code, 0, made.stderr);
      const want = expected();
      assert.match(want['fingerprint (signed decimal)'] ?? '', /^-?\d+$/);
      assert.equal(want['modulus (hex)']?.length, 512);
      assert.deepEqual(printed(made.stdout), want, 'keygen prints every value');
      assert.equal(want['fingerprint (hex)'], loadServerRsaKey(readFileSync(keyFile, 'utf8')).fingerprintHex, 'the fingerprint the server offers');

      // For an existing key: the config's mtproto.rsaKeyFile (as an operator runs it), the private key, its .pub.
      const fromConfig = await runCli(['mtproto-key', '--config', tree.configFile]);
      assert.equal(fromConfig.code, 0, fromConfig.stderr);
      assert.match(fromConfig.stdout, /^MTProto server key .*keys\/rsa\.pem$/m);
      assert.deepEqual(printed(fromConfig.stdout), want);
      for (const file of [keyFile, `${keyFile}.pub`]) {
        const r = await runInProcess(['mtproto-key', '--key', file]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(printed(r.stdout), want, file);
      }

      assert.equal((await runInProcess(['mtproto-key', '--key', keyFile, '--config', tree.configFile])).code, 2);
      const missing = await runInProcess(['mtproto-key', '--key', join(tree.dir, 'nope.pem')]);
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /cannot read .*nope\.pem \(ENOENT\)/);
      const notKey = await runInProcess(['mtproto-key', '--key', tree.configFile]);
      assert.equal(notKey.code, 3);
      assert.match(notKey.stderr, /is not an RSA key/);
      tree.write('keys/rsa.pem', 'not a key');
      const bad = await runInProcess(['mtproto-key', '--config', tree.configFile]);
      assert.equal(bad.code, 1, 'the config\'s key file is checked as check does');
      assert.match(bad.stderr, /config\.yaml:3: mtproto\.rsaKeyFile: .* is not a usable MTProto key/);
    } finally {
      tree.cleanup();
    }
  });

  test('the published demo tokens are refused on a non-loopback listener', async () => {
    const example = readFileSync('config.example.yaml', 'utf8').replace('host: 127.0.0.1\n  port: 8080', 'host: 0.0.0.0\n  port: 8080');
    const tree = makeConfigTree(example.replace('bridgesDir: ./bridges', `bridgesDir: ${join(process.cwd(), 'bridges')}`), { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const r = await runInProcess(['check', '--config', tree.configFile]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /websocket\.tokens\.0\.hash: "demo-alice" is a published demo token/);
      assert.match(r.stderr, /websocket\.tokens\.1\.hash: "demo-bot" is a published demo token/);
    } finally {
      tree.cleanup();
    }
  });

  test('help and usage errors', async () => {
    assert.equal((await runInProcess(['--help'])).code, 0);
    assert.match((await runInProcess(['--help'])).stdout, /Exit codes:/);
    assert.equal((await runInProcess([])).code, 2);
    assert.equal((await runInProcess(['launch'])).code, 2);
    assert.equal((await runInProcess(['check', '--bogus'])).code, 2);
    assert.match((await runInProcess(['start', '--help'])).stdout, /SIGTERM/);
    const noFile = await runInProcess(['check', '--config', '/nonexistent/sb.yaml']);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /sb\.yaml: cannot read: ENOENT/);
  });
});

test('check prints an xmpp line (component domain and server port, never the secret) and the config warnings start would log', async () => {
  const secret = 'not-to-be-printed-7f3a';
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    'websocket:\n  helloTimeoutMs: 10000\n',
    `xmpp:\n  enabled: true\n  host: 192.0.2.7\n  port: 5348\n  domain: chat.example.org\n  secret: ${secret}\n`,
  ].join(''), { 'bridges/lobby.yaml': LOBBY_BRIDGE });
  try {
    const r = await runInProcess(['check', '--config', tree.configFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}xmpp: +component chat\.example\.org on 192\.0\.2\.7:5348$/m);
    assert.ok(!r.stdout.includes(secret), r.stdout);
    assert.match(r.stdout, /^ {2}WARNING: .*config\.yaml:3: websocket\.helloTimeoutMs: ignored: no longer a setting/m);
    const off = await runInProcess(['check', '--config', 'config.example.yaml']);
    assert.match(off.stdout, /^ {2}xmpp: +disabled$/m);
    assert.doesNotMatch(off.stdout, /helloTimeoutMs/);
  } finally {
    tree.cleanup();
  }
});
