import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
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
