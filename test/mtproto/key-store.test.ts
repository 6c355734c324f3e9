// Auth keys and their companions in the bus's state store: the local state file of the memory
// driver (restart = a new LocalState on the same file) and a real redis-server. Sealed at rest,
// rotation, a wrong or missing key-encryption key, temporary keys and their bindings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { redisStateStore } from '../../src/bus/redis/services.ts';
import type { StateStore } from '../../src/bus/types.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { StateAuthKeyStore } from '../../src/connectors/mtproto/store/state-auth-key-store.ts';
import { generateKek, KeyRing, parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { checkKeyRing, KeyRingMismatch, openMtprotoStores } from '../../src/connectors/mtproto/store/open-stores.ts';
import { StoredClientInfo } from '../../src/connectors/mtproto/api/client-info.ts';
import { startRedis } from '../helpers/redis.ts';
import { metricValue } from './harness.ts';

const kek = () => parseKek(generateKek());
const newId = () => new Uint8Array(randomBytes(8));
const newKey = () => new Uint8Array(randomBytes(256));

function withStateFile(body: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mtkeys-'));
  return body(join(dir, 'state.jsonl')).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('memory driver state file: keys survive a restart, sealed at rest (the file holds no key bytes), ids never overwritten', async () => {
  await withStateFile(async (file) => {
    const ring = new KeyRing(kek());
    const id = newId();
    const key = newKey();
    const first = new LocalState(file);
    const store = new StateAuthKeyStore(first.store('mtproto'), ring, { logger: silentLogger });
    assert.equal(await store.get(id), undefined);
    assert.equal(await store.create(id, { key }), true);
    assert.equal(await store.create(id, { key: newKey() }), false, 'a colliding id never overwrites');
    first.close();

    const text = readFileSync(file, 'utf8');
    const line = text.split('\n').find((l) => l.includes(`authkey:${authKeyIdHex(id)}`));
    assert.ok(line, 'the key is in the state file');
    const stored = JSON.parse(line)[2] as string;
    assert.match(stored, new RegExp(`^enc1:${ring.current!.id}:`), 'sealed under the KEK');
    const sealedBytes = Buffer.from(stored.split(':')[2]!, 'base64');
    assert.equal(sealedBytes.indexOf(Buffer.from(key.subarray(0, 16))), -1, 'no key bytes in the sealed value');
    for (const enc of ['base64', 'hex'] as const) assert.ok(!text.includes(Buffer.from(key.subarray(0, 24)).toString(enc)), `no ${enc} of the key in the file`);

    const second = new LocalState(file);
    try {
      const again = new StateAuthKeyStore(second.store('mtproto'), ring, { logger: silentLogger });
      assert.deepEqual((await again.get(id))?.key, key, 'the restarted process reads the key');
      await again.delete(id);
      assert.equal(await again.get(id), undefined);
    } finally {
      second.close();
    }
  });
});

test('a key sealed under a KEK that is not configured is refused (undefined, counted, logged once), never returned as garbage', async () => {
  const state = new LocalState().store('mtproto');
  const id = newId();
  await new StateAuthKeyStore(state, new KeyRing(kek()), { logger: silentLogger }).create(id, { key: newKey() });
  const registry = createRegistry(false);
  const errors: string[] = [];
  const logger = { ...silentLogger, error: (_o: unknown, msg?: string) => { errors.push(msg ?? ''); } } as unknown as typeof silentLogger;
  const wrong = new StateAuthKeyStore(state, new KeyRing(kek()), { logger, registry });
  assert.equal(await wrong.get(id), undefined);
  assert.equal(await wrong.get(id), undefined);
  assert.equal(await metricValue(registry, 'switchboard_mtproto_auth_keys_unreadable_total', { reason: 'unknown-key' }), 2);
  assert.equal(errors.length, 1, 'one log line per missing KEK, not one per frame');
  assert.match(errors[0]!, /key-encryption key/);
  const none = new StateAuthKeyStore(state, KeyRing.plaintext(), { logger: silentLogger, registry });
  assert.equal(await none.get(id), undefined);
  assert.equal(await metricValue(registry, 'switchboard_mtproto_auth_keys_unreadable_total', { reason: 'not-configured' }), 1);
});

test('rotation: keys sealed under the previous KEK open and are re-sealed under the new one on first use; plaintext ones too', async () => {
  const state = new LocalState().store('mtproto');
  const oldKek = kek();
  const newKek = kek();
  const idOld = newId();
  const idPlain = newId();
  const keyOld = newKey();
  const keyPlain = newKey();
  await new StateAuthKeyStore(state, new KeyRing(oldKek), { logger: silentLogger }).create(idOld, { key: keyOld });
  await new StateAuthKeyStore(state, KeyRing.plaintext(), { logger: silentLogger }).create(idPlain, { key: keyPlain });
  assert.match((await state.get(`authkey:${authKeyIdHex(idPlain)}`))!, /^plain1:/);

  const registry = createRegistry(false);
  const rotating = new StateAuthKeyStore(state, new KeyRing(newKek, [oldKek]), { logger: silentLogger, registry });
  assert.deepEqual((await rotating.get(idOld))?.key, keyOld);
  assert.deepEqual((await rotating.get(idPlain))?.key, keyPlain);
  assert.equal(await metricValue(registry, 'switchboard_mtproto_auth_keys_resealed_total'), 2);
  assert.match((await state.get(`authkey:${authKeyIdHex(idOld)}`))!, new RegExp(`^enc1:${newKek.id}:`));
  assert.match((await state.get(`authkey:${authKeyIdHex(idPlain)}`))!, new RegExp(`^enc1:${newKek.id}:`));
  // Once re-sealed, the old KEK can go.
  const retired = new StateAuthKeyStore(state, new KeyRing(newKek), { logger: silentLogger });
  assert.deepEqual((await retired.get(idOld))?.key, keyOld);
  assert.equal(await metricValue(registry, 'switchboard_mtproto_auth_keys_resealed_total'), 2, 'nothing left to re-seal');
});

test('start-time check: fresh store, same key, rotation, and a wrong or missing KEK refused with a message naming the key ids', async () => {
  const state = new LocalState().store('mtproto');
  const k1 = kek();
  const k2 = kek();
  await checkKeyRing(state, new KeyRing(k1), silentLogger); // fresh: writes the marker
  await checkKeyRing(state, new KeyRing(k1), silentLogger);

  const wrong = await checkKeyRing(state, new KeyRing(k2), silentLogger).then(() => undefined, (e: unknown) => e);
  assert.ok(wrong instanceof KeyRingMismatch);
  assert.match(wrong.message, new RegExp(`sealed with key-encryption key ${k1.id}, but the configured one is ${k2.id}`));
  assert.match(wrong.message, /previousKeyEncryptionKeys/);

  const missing = await checkKeyRing(state, KeyRing.plaintext(), silentLogger).then(() => undefined, (e: unknown) => e);
  assert.ok(missing instanceof KeyRingMismatch);
  assert.match(missing.message, new RegExp(`sealed with key-encryption key ${k1.id}, but no key-encryption key is configured`));

  await checkKeyRing(state, new KeyRing(k2, [k1]), silentLogger); // rotating: accepted, marker moves to k2
  await checkKeyRing(state, new KeyRing(k2), silentLogger);
  await assert.rejects(checkKeyRing(state, new KeyRing(k1), silentLogger), KeyRingMismatch, 'the marker now names the new key');

  // A marker someone altered: refused too (not "garbage accepted").
  const altered = await state.get('kek-check');
  await state.set('kek-check', altered!.replace(/.$/, altered!.endsWith('A') ? 'B' : 'A'));
  await assert.rejects(checkKeyRing(state, new KeyRing(k2), silentLogger), /does not open|altered/);

  // Plaintext store, then encryption turned on: accepted and marked.
  const plainState = new LocalState().store('mtproto');
  await checkKeyRing(plainState, KeyRing.plaintext(), silentLogger);
  await checkKeyRing(plainState, new KeyRing(k1), silentLogger);
  await assert.rejects(checkKeyRing(plainState, KeyRing.plaintext(), silentLogger), KeyRingMismatch);
});

test('salt secret: drawn once, sealed, shared by every instance on the store and kept across restarts; a configured one wins', async () => {
  await withStateFile(async (file) => {
    const ring = new KeyRing(kek());
    const a = new LocalState(file);
    const open = (s: StateStore, saltSecret?: Uint8Array) => openMtprotoStores({ state: s, driver: 'memory', ring, logger: silentLogger, registry: createRegistry(false), ...(saltSecret ? { saltSecret } : {}) });
    const first = await open(a.store('mtproto'));
    const second = await open(a.store('mtproto'));
    assert.equal(first.saltSecret.length, 32);
    assert.deepEqual(second.saltSecret, first.saltSecret);
    assert.equal(first.replayGuard, undefined, 'memory driver: the restart floor, no shared guard');
    assert.match((await a.store('mtproto').get('salt-secret'))!, new RegExp(`^enc1:${ring.current!.id}:`));
    a.close();
    const b = new LocalState(file);
    try {
      assert.deepEqual((await open(b.store('mtproto'))).saltSecret, first.saltSecret, 'after a restart');
      const pinned = new Uint8Array(32).fill(3);
      assert.deepEqual((await open(b.store('mtproto'), pinned)).saltSecret, pinned);
    } finally {
      b.close();
    }
  });
});

test('temporary keys: stored with their ttl, gone after it (also when the store still had them), bound one per permanent key', async () => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const state = new LocalState(undefined, clock).store('mtproto');
  const store = new StateAuthKeyStore(state, new KeyRing(kek()), { logger: silentLogger, now: clock });
  const perm = newId();
  const temp1 = newId();
  const temp2 = newId();
  await store.create(perm, { key: newKey() });
  await store.create(temp1, { key: newKey(), expiresAt: now + 60_000 });
  await store.create(temp2, { key: newKey(), expiresAt: now + 120_000 });
  assert.equal((await store.get(temp1))?.expiresAt, now + 60_000);

  assert.equal(await store.bind(perm, authKeyIdHex(temp1), undefined), 'not-temporary');
  assert.equal(await store.bind(temp1, authKeyIdHex(perm), now + 30_000), 'bound');
  assert.deepEqual({ ...(await store.get(temp1)), key: undefined }, { key: undefined, expiresAt: now + 30_000, boundTo: authKeyIdHex(perm) }, 'expires_at shortens the key');
  assert.equal(await store.bind(temp1, authKeyIdHex(perm), now + 50_000), 'bound', 'rebinding to the same key is fine');
  assert.equal((await store.get(temp1))?.expiresAt, now + 30_000, 'never lengthens it');
  assert.equal(await store.bind(temp1, authKeyIdHex(newId()), undefined), 'already-bound');

  // A second temporary key for the same permanent key: the first goes back to unbound.
  assert.equal(await store.bind(temp2, authKeyIdHex(perm), 0), 'bound', 'a past expires_at is ignored');
  assert.equal((await store.get(temp2))?.expiresAt, now + 120_000);
  assert.equal((await store.get(temp1))?.boundTo, undefined);

  now += 30_001;
  assert.equal(await store.get(temp1), undefined, 'expired');
  assert.equal(await store.bind(temp1, authKeyIdHex(perm), undefined), 'gone');
  // Destroying the permanent key takes its bound temporary key along.
  await store.delete(perm);
  assert.equal(await store.get(temp2), undefined);
  assert.equal(await store.get(perm), undefined);
});

test('client info: written when it changes, preloaded for a key by a restarted process, gone with the key', async () => {
  await withStateFile(async (file) => {
    const ring = new KeyRing(kek());
    const a = new LocalState(file);
    const stores = await openMtprotoStores({ state: a.store('mtproto'), driver: 'memory', ring, logger: silentLogger, registry: createRegistry(false) });
    const id = newId();
    const hex = authKeyIdHex(id);
    await stores.keyStore.create(id, { key: newKey() });
    const info = { apiId: 6, deviceModel: 'Pixel', systemVersion: 'Android 14', appVersion: '10.1', systemLangCode: 'en', langPack: 'android', langCode: 'en' };
    stores.clientInfo.setLayer(hex, 140);
    stores.clientInfo.setInfo(hex, info);
    await new Promise((r) => setImmediate(r));
    a.close();

    const b = new LocalState(file);
    try {
      const again = await openMtprotoStores({ state: b.store('mtproto'), driver: 'memory', ring, logger: silentLogger, registry: createRegistry(false) });
      assert.equal(again.clientInfo.get(hex), undefined, 'nothing before the key is used');
      assert.ok(await again.keyStore.get(id));
      assert.deepEqual(again.clientInfo.get(hex), { layer: 140, info }, 'loading the key brought its client info');
      await again.keyStore.delete(id);
      await new Promise((r) => setImmediate(r));
      assert.equal(again.clientInfo.get(hex), undefined);
      assert.equal(await b.store('mtproto').get(`client:${hex}`), undefined);
      // A malformed record is ignored, not served.
      await b.store('mtproto').set('client:00000000000000aa', '{"layer":"x"}');
      const fresh = new StoredClientInfo(b.store('mtproto'), silentLogger);
      await fresh.preload('00000000000000aa');
      assert.equal(fresh.get('00000000000000aa'), undefined);
    } finally {
      b.close();
    }
  });
});

test('on a real redis-server: the same contract, temporary keys carry a Redis ttl, and a second instance reads the first one\'s key', async () => {
  const r = await startRedis();
  const redisA = new Redis(r.url, { maxRetriesPerRequest: 1 });
  const redisB = new Redis(r.url, { maxRetriesPerRequest: 1 });
  try {
    const ring = new KeyRing(kek());
    const a = new StateAuthKeyStore(redisStateStore(redisA, 'sbt', 'mtproto'), ring, { logger: silentLogger });
    const b = new StateAuthKeyStore(redisStateStore(redisB, 'sbt', 'mtproto'), ring, { logger: silentLogger });
    const id = newId();
    const key = newKey();
    assert.equal(await a.create(id, { key }), true);
    assert.equal(await b.create(id, { key: newKey() }), false, 'SET NX across instances');
    const redisKey = `sbt:state:mtproto:authkey:${authKeyIdHex(id)}`;
    const unused = await redisA.pttl(redisKey);
    assert.ok(unused > 3_500_000 && unused <= 3_600_000, `a key not used yet goes after an hour (pttl ${unused})`);
    assert.deepEqual((await b.get(id))?.key, key);
    const idle = await redisA.pttl(redisKey);
    assert.ok(idle > 179 * 86_400_000 && idle <= 180 * 86_400_000, `used: kept 180 days from now (pttl ${idle})`);
    const temp = newId();
    await a.create(temp, { key: newKey(), expiresAt: Date.now() + 90_000 });
    const pttl = await redisA.pttl(`sbt:state:mtproto:authkey:${authKeyIdHex(temp)}`);
    assert.ok(pttl > 80_000 && pttl <= 90_000, `pttl ${pttl}`);
    await b.delete(id);
    assert.equal(await a.get(id), undefined);
  } finally {
    redisA.disconnect();
    redisB.disconnect();
    await r.stop();
  }
});
