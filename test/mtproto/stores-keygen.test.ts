import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { writeKekFile } from '../../src/connectors/mtproto/store/kek-config.ts';
import { parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';

test('writeServerKey: private PEM 0600, public beside it, fingerprint of that key, no silent overwrite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-keygen-'));
  try {
    const path = join(dir, 'rsa.pem');
    const fp = writeServerKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadServerRsaKey(readFileSync(path, 'utf8')).fingerprintHex, fp);
    assert.match(readFileSync(`${path}.pub`, 'utf8'), /BEGIN RSA PUBLIC KEY/);
    assert.throws(() => writeServerKey(path), /EEXIST/);
    assert.notEqual(writeServerKey(path, { overwrite: true }), fp);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeKekFile: 32 random bytes in base64, mode 0600, never replaces an existing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-kek-'));
  try {
    const path = join(dir, 'mtproto-kek.key');
    assert.equal(writeKekFile(path), true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const first = readFileSync(path, 'utf8');
    assert.equal(parseKek(first).key.length, 32);
    assert.equal(writeKekFile(path), false, 'an existing KEK is kept: replacing it would orphan every stored key');
    assert.equal(readFileSync(path, 'utf8'), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`switchboard keygen` writes the KEK beside the RSA key and keeps it on a re-run (also with --force)', async () => {
  const { main } = await import('../../src/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sb-keygen-cli-'));
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (l: string) => { out += `${l}\n`; }, err: (l: string) => { err += `${l}\n`; } });
    return { code, out, err };
  };
  try {
    const rsa = join(dir, 'data', 'mtproto-rsa.pem');
    const first = await run(['keygen', '--out', rsa]);
    assert.equal(first.code, 0, first.err);
    const kekFile = join(dir, 'data', 'mtproto-kek.key');
    assert.match(first.out, /Key-encryption key for stored auth keys written to .*mtproto-kek\.key/);
    assert.equal(statSync(kekFile).mode & 0o777, 0o600);
    const kek = readFileSync(kekFile, 'utf8');
    parseKek(kek);
    const again = await run(['keygen', '--out', rsa, '--force']);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /mtproto-kek\.key exists: kept/);
    assert.equal(readFileSync(kekFile, 'utf8'), kek, 'the KEK is never replaced');
    const other = join(dir, 'elsewhere', 'k.key');
    assert.equal((await run(['keygen', '--out', join(dir, 'x.pem'), '--kek', other])).code, 0);
    parseKek(readFileSync(other, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`switchboard keygen` over an existing key refuses before writing anything (no KEK, no directory); --kek-only adds just the KEK', async () => {
  const { main } = await import('../../src/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sb-keygen-refuse-'));
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (l: string) => { out += `${l}\n`; }, err: (l: string) => { err += `${l}\n`; } });
    return { code, out, err };
  };
  /** Every path under dir with its content (directories as '/'), to compare before and after. */
  const snapshot = (): Record<string, string> => {
    const files: Record<string, string> = {};
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      const path = join(dir, name);
      files[name] = statSync(path).isDirectory() ? '/' : readFileSync(path, 'utf8');
    }
    return files;
  };
  try {
    const rsa = join(dir, 'k', 'r.pem');
    const kekFile = join(dir, 'k', 'kek.key');
    assert.equal((await run(['keygen', '--out', rsa, '--kek', kekFile])).code, 0);
    rmSync(kekFile);   // an install from before keygen wrote a KEK
    const before = snapshot();

    const refused = await run(['keygen', '--out', rsa, '--kek', kekFile]);
    assert.equal(refused.code, 3);
    assert.match(refused.err, /r\.pem already exists: .*Nothing was written .*keygen --kek-only --kek .*kek\.key/);
    assert.equal(refused.out, '');
    assert.deepEqual(snapshot(), before, 'a refused keygen writes no KEK and changes no file');
    const elsewhere = await run(['keygen', '--out', rsa, '--kek', join(dir, 'new', 'kek.key')]);
    assert.equal(elsewhere.code, 3);
    assert.deepEqual(snapshot(), before, 'nor makes the KEK\'s directory');
    assert.equal((await run(['keygen', '--out', join(dir, 'x', 'a.pem'), '--kek', join(dir, 'x', 'a.pem.pub')])).code, 2);
    assert.equal((await run(['keygen', '--kek-only', '--force', '--kek', kekFile])).code, 2);
    assert.deepEqual(snapshot(), before, 'usage errors write nothing either');

    const kekOnly = await run(['keygen', '--kek-only', '--out', rsa, '--kek', kekFile]);
    assert.equal(kekOnly.code, 0, kekOnly.err);
    assert.match(kekOnly.out, /Key-encryption key for stored auth keys written to .*kek\.key/);
    parseKek(readFileSync(kekFile, 'utf8'));
    assert.equal(readFileSync(rsa, 'utf8'), before['k/r.pem'], 'the RSA key is left alone');
    const kek = readFileSync(kekFile, 'utf8');
    assert.match((await run(['keygen', '--kek-only', '--kek', kekFile])).out, /exists: kept/);
    assert.equal(readFileSync(kekFile, 'utf8'), kek);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
