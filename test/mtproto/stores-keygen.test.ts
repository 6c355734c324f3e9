import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { MemoryAuthKeyStore, type AuthKeyStore } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { AUTH_KEY_PREFIX, RedisAuthKeyStore } from '../../src/connectors/mtproto/store/redis-auth-key-store.ts';

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

async function contract(store: AuthKeyStore & { putIfAbsent(id: Uint8Array, k: Uint8Array): Promise<boolean> }): Promise<void> {
  const id = new Uint8Array(randomBytes(8));
  const key = new Uint8Array(randomBytes(256));
  assert.equal(await store.get(id), undefined);
  assert.equal(await store.putIfAbsent(id, key), true);
  assert.equal(await store.putIfAbsent(id, new Uint8Array(256)), false, 'a colliding id never overwrites');
  assert.deepEqual(await store.get(id), key);
  await store.delete(id);
  assert.equal(await store.get(id), undefined);
}

test('MemoryAuthKeyStore contract', async () => {
  await contract(new MemoryAuthKeyStore());
});

test('RedisAuthKeyStore contract on a real redis-server, under sb:mtproto:authkey:', async () => {
  const r = await startRedis();
  const redis = new Redis(r.url, { maxRetriesPerRequest: 1 });
  try {
    const store = new RedisAuthKeyStore(redis);
    await contract(store);
    const id = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    await store.put(id, new Uint8Array(256).fill(7));
    assert.equal((await redis.getBuffer(`${AUTH_KEY_PREFIX}0102030405060708`))?.length, 256);
  } finally {
    redis.disconnect();
    await r.stop();
  }
});
