// `switchboard check` with mtproto enabled verifies the key-encryption key of stored auth keys:
// its file or config value parses, and (memory driver) the state file's stored keys open under it,
// so a wrong, missing or malformed KEK is reported before a start, with the config line, and
// nothing is changed. Through checkCommand in-process (the same path `start` takes first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCommand } from '../../src/cli/check.ts';
import type { Io } from '../../src/cli/args.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { generateKek, KeyRing, parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { checkKeyRing } from '../../src/connectors/mtproto/store/open-stores.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';

const BRIDGE = { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}, {mtproto: 1001}]\n' };

/** A tree with mtproto on and its RSA key; `kek` lines go under `mtproto:`. */
function tree(kekLines: string[], opts: { enabled?: boolean } = {}): ConfigTree {
  const t = makeConfigTree([
    'http: { port: 0 }',
    'bus: { driver: memory, stateFile: ./data/state.jsonl }',
    'mtproto:',
    `  enabled: ${opts.enabled ?? true}`,
    '  rsaKeyFile: ./keys/server.pem',
    ...kekLines,
    '',
  ].join('\n'), BRIDGE);
  mkdirSync(join(t.dir, 'keys'), { recursive: true });
  writeServerKey(join(t.dir, 'keys', 'server.pem'));
  return t;
}

async function check(t: ConfigTree): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (l) => { out += `${l}\n`; }, err: (l) => { err += `${l}\n`; } };
  const code = await checkCommand(['--config', t.configFile], io);
  return { code, out, err };
}

/** What a started bridge leaves in its state file: the key-check marker sealed under `kek` (or plaintext). */
async function sealStateUnder(t: ConfigTree, kek: string | undefined): Promise<string> {
  const file = join(t.dir, 'data', 'state.jsonl');
  const local = new LocalState(file);
  await checkKeyRing(local.store('mtproto'), new KeyRing(kek === undefined ? undefined : parseKek(kek)), silentLogger);
  local.close();
  return file;
}

test('check: the KEK file keygen writes is verified and named; a malformed or unreadable one is an error on its config line', async () => {
  const t = tree(['  keyEncryptionKeyFile: ./keys/kek.key']);
  try {
    const kekFile = join(t.dir, 'keys', 'kek.key');
    writeKekFile(kekFile);
    const good = await check(t);
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, new RegExp(`mtproto keys at rest: sealed under key-encryption key ${parseKek(readFileSync(kekFile, 'utf8')).id} \\(${kekFile}\\)`));
    assert.doesNotMatch(good.out, /WARNING/);

    t.write('keys/kek.key', 'not a key\n');
    const bad = await check(t);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /config\.yaml:6: mtproto\.keyEncryptionKeyFile: .*kek\.key: a key-encryption key is 32 bytes in base64 or hex/);
    assert.match(bad.err, /1 problem found; nothing was started\./);

    t.write('keys/kek.key', `${Buffer.alloc(16, 7).toString('base64')}\n`);
    const short = await check(t);
    assert.equal(short.code, 1);
    assert.match(short.err, /mtproto\.keyEncryptionKeyFile: .*decodes to 16/);

    // A directory where the file should be: unreadable, not "absent".
    const dirTree = tree(['  keyEncryptionKeyFile: ./keys/kekdir']);
    try {
      mkdirSync(join(dirTree.dir, 'keys', 'kekdir'));
      const unreadable = await check(dirTree);
      assert.equal(unreadable.code, 1);
      assert.match(unreadable.err, /mtproto\.keyEncryptionKeyFile: cannot read .*kekdir \(EISDIR\)/);
    } finally {
      dirTree.cleanup();
    }

    // Readable by others: it passes with a warning (start logs the same).
    writeKekFile(join(t.dir, 'keys', 'kek2.key'));
    chmodSync(join(t.dir, 'keys', 'kek2.key'), 0o644);
    t.write('config.yaml', readFileSync(t.configFile, 'utf8').replace('./keys/kek.key', './keys/kek2.key'));
    const open = await check(t);
    assert.equal(open.code, 0, open.err);
    assert.match(open.out, /WARNING: .*kek2\.key is readable by other users: chmod 600 it/);
  } finally {
    t.cleanup();
  }
});

test('check: a malformed keyEncryptionKey or previous key is an error that never echoes the value; none at all warns about plaintext', async () => {
  const secretLooking = 'zz-this-is-not-a-key-but-might-be-a-secret-zz!';
  const t = tree([`  keyEncryptionKey: "${secretLooking}"`, `  previousKeyEncryptionKeys: ["${secretLooking}"]`]);
  try {
    const r = await check(t);
    assert.equal(r.code, 1);
    assert.match(r.err, /config\.yaml:6: mtproto\.keyEncryptionKey: a key-encryption key is 32 bytes/);
    assert.match(r.err, /config\.yaml:7: mtproto\.previousKeyEncryptionKeys\.0: a key-encryption key is 32 bytes/);
    assert.ok(!r.err.includes(secretLooking) && !r.out.includes(secretLooking), 'the value is never printed');
  } finally {
    t.cleanup();
  }
  // No KEK anywhere (the default key file absent): valid, but said loudly.
  const none = tree([]);
  try {
    const r = await check(none);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /WARNING: no key-encryption key .*PLAINTEXT/);
    // The command it names adds the KEK beside the existing RSA key, and the warning is gone.
    const hint = /Run `(switchboard keygen --kek-only --kek (\S+))`/.exec(r.out);
    assert.equal(hint?.[2], join(none.dir, 'data', 'mtproto-kek.key'), r.out);
    const { main } = await import('../../src/cli.ts');
    assert.equal(await main(['keygen', '--kek-only', '--kek', hint[2]], { out: () => {}, err: () => {} }), 0);
    const after = await check(none);
    assert.equal(after.code, 0, after.err);
    assert.doesNotMatch(after.out, /PLAINTEXT/);
    assert.match(after.out, /sealed under key-encryption key [0-9a-f]{8}/);
  } finally {
    none.cleanup();
  }
});

test('check (memory driver): the state file\'s stored keys must open under the configured KEK; a rotation passes; nothing is changed', async () => {
  const old = generateKek();
  const fresh = generateKek();
  const t = tree([]);
  try {
    const stateFile = await sealStateUnder(t, old);
    const before = readFileSync(stateFile, 'utf8');
    const withKek = (value: string, extra = '') => t.write('config.yaml', [
      'http: { port: 0 }',
      'bus: { driver: memory, stateFile: ./data/state.jsonl }',
      'mtproto:',
      '  enabled: true',
      '  rsaKeyFile: ./keys/server.pem',
      `  keyEncryptionKey: "${value}"`,
      extra,
      '',
    ].join('\n'));

    withKek(old);
    const same = await check(t);
    assert.equal(same.code, 0, same.err);

    withKek(fresh);
    const wrong = await check(t);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, new RegExp(`config\\.yaml:6: mtproto\\.keyEncryptionKey: the stored MTProto auth keys are sealed with key-encryption key ${parseKek(old).id}, but the configured one is ${parseKek(fresh).id}.*state file .*state\\.jsonl`));

    // Rotating: the new KEK with the old one listed as previous passes (start re-seals; check does not).
    withKek(fresh, `  previousKeyEncryptionKeys: ["${old}"]`);
    const rotating = await check(t);
    assert.equal(rotating.code, 0, rotating.err);
    assert.match(rotating.out, new RegExp(`sealed under key-encryption key ${parseKek(fresh).id} \\(mtproto\\.keyEncryptionKey\\); previous: ${parseKek(old).id}`));

    // The KEK removed while the state holds sealed keys: refused, not "plaintext from now on".
    t.write('config.yaml', readFileSync(t.configFile, 'utf8').replace(/ {2}keyEncryptionKey: .*\n/, '').replace(/ {2}previousKeyEncryptionKeys: .*\n/, ''));
    const missing = await check(t);
    assert.equal(missing.code, 1);
    assert.match(missing.err, new RegExp(`mtproto\\.keyEncryptionKeyFile: the stored MTProto auth keys are sealed with key-encryption key ${parseKek(old).id}, but no key-encryption key is configured`));

    assert.equal(readFileSync(stateFile, 'utf8'), before, 'check changed nothing in the state file');
  } finally {
    t.cleanup();
  }
});

test('check: with mtproto disabled its KEK is not looked at', async () => {
  const t = tree(['  keyEncryptionKeyFile: ./keys/kek.key'], { enabled: false });
  try {
    t.write('keys/kek.key', 'garbage\n');
    const r = await check(t);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /keys at rest/);
  } finally {
    t.cleanup();
  }
});
