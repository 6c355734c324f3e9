// How long stored auth keys live without use: a key no message has used since its handshake goes
// after `unusedMs` (orphans of clients that failed their own handshake check, floods of
// handshakes), a used one `idleMs` after its last use. The store cannot be enumerated, so this is
// the store's own ttl, refreshed on use; checked on a fake clock (state file and key store share
// it), through a restart, on a real redis-server (key-store.test.ts) and through the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { StateStore } from '../../src/bus/types.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { authKeyIdHex } from '../../src/connectors/mtproto/store/auth-key-store.ts';
import { generateKek, KeyRing, parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { openMtprotoStores } from '../../src/connectors/mtproto/store/open-stores.ts';
import { StateAuthKeyStore, type KeyLifetimes } from '../../src/connectors/mtproto/store/state-auth-key-store.ts';
import { metricValue, pinned, startServer } from './harness.ts';
import { Authorizations } from '../../src/connectors/mtproto/chat/authorizations.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { SpecConnection, SpecSession, specHandshake } from './spec-client.ts';

const newId = () => new Uint8Array(randomBytes(8));
const newKey = () => new Uint8Array(randomBytes(256));
const MINUTE = 60_000;
const DAY = 86_400_000;
const lifetimes: KeyLifetimes = { unusedMs: 60 * MINUTE, idleMs: 180 * DAY };

/** A fake clock shared by the state file and the key store. */
function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => { now += ms; } };
}

/** Counts the writes that reach a state store. */
function counting(state: StateStore): { state: StateStore; writes: () => number } {
  let writes = 0;
  return {
    state: {
      get: (k) => state.get(k),
      set: async (k, v, ttl) => { writes++; await state.set(k, v, ttl); },
      setIfAbsent: async (k, v, ttl) => { writes++; return await state.setIfAbsent(k, v, ttl); },
      delete: (k) => state.delete(k),
      expire: async (k, ttl) => { writes++; return await state.expire(k, ttl); },
      replace: async (k, e, v, ttl) => { writes++; return await state.replace(k, e, v, ttl); },
    },
    writes: () => writes,
  };
}

/**
 * A state store that runs `race()` once, at the moment a read or an expire reaches `key` (another
 * instance acting between this one's read and write). `pending()`: whether it has not run yet.
 */
function racing(real: StateStore, key: string): { state: StateStore; arm(race: () => Promise<void>): void; pending(): boolean } {
  let race: (() => Promise<void>) | undefined;
  const fire = async (k: string): Promise<void> => {
    if (k !== key || race === undefined) return;
    const run = race;
    race = undefined;
    await run();
  };
  return {
    state: {
      get: async (k) => { const v = await real.get(k); await fire(k); return v; },
      set: (k, v, ttl) => real.set(k, v, ttl),
      setIfAbsent: (k, v, ttl) => real.setIfAbsent(k, v, ttl),
      delete: (k) => real.delete(k),
      expire: async (k, ttl) => { await fire(k); return await real.expire(k, ttl); },
      replace: async (k, e, v, ttl) => { await fire(k); return await real.replace(k, e, v, ttl); },
    },
    arm: (r) => { race = r; },
    pending: () => race !== undefined,
  };
}

function withStateFile(body: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-keylife-'));
  return body(join(dir, 'state.jsonl')).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a permanent key nobody used goes after the unused lifetime; a used one stays until it is idle that long, through a restart', async () => {
  await withStateFile(async (file) => {
    const t = clock();
    const ring = new KeyRing(parseKek(generateKek()));
    let local = new LocalState(file, t.now);
    const open = (s: StateStore) => new StateAuthKeyStore(s, ring, { logger: silentLogger, now: t.now, lifetimes });
    const counted = counting(local.store('mtproto'));
    let store = open(counted.state);
    const orphan = newId();
    const used = newId();
    await store.create(orphan, { key: newKey() });
    await store.create(used, { key: newKey() });
    t.advance(30 * MINUTE);
    assert.ok(await store.get(used), 'its first use');
    t.advance(30 * MINUTE + 1);
    assert.equal(await store.get(orphan), undefined, 'never used: gone after an hour');
    assert.ok(await store.get(used), 'used: still there');

    // Loads within a day write nothing; the first load a day after the last recorded use does.
    const before = counted.writes();
    for (let i = 0; i < 10; i++) {
      t.advance(2 * 3_600_000);
      assert.ok(await store.get(used));
    }
    assert.equal(counted.writes() - before, 0, 'no write within a day of the last recorded use');
    t.advance(4 * 3_600_000 - 30 * MINUTE);
    assert.ok(await store.get(used));
    assert.equal(counted.writes() - before, 1, 'a day after: the use is recorded once');

    // Restart: the ttl is in the state file; unused for 180 days, the key goes.
    local.close();
    local = new LocalState(file, t.now);
    store = open(local.store('mtproto'));
    t.advance(180 * DAY - 1);
    assert.ok(await store.get(used), 'a restarted process reads it within its idle lifetime (and records the use)');
    local.close();
    local = new LocalState(file, t.now);
    store = open(local.store('mtproto'));
    t.advance(180 * DAY + 1);
    assert.equal(await store.get(used), undefined, 'idle 180 days: gone');
    local.close();
  });
});

test('idle lifetime off (idleKeyDays 0): a used key is kept for good; an unused one still goes', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const store = new StateAuthKeyStore(local.store('mtproto'), KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes: { unusedMs: MINUTE, idleMs: undefined } });
  const orphan = newId();
  const used = newId();
  await store.create(orphan, { key: newKey() });
  await store.create(used, { key: newKey() });
  assert.ok(await store.get(used));
  t.advance(3_650 * DAY);
  assert.equal(await store.get(orphan), undefined);
  assert.ok(await store.get(used), 'kept for good');
});

test('temporary keys: unused, they go after the unused lifetime if that is sooner than their expiry; used, at their expiry; a bound one keeps its permanent key and its client info alive', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const state = local.store('mtproto');
  // Another process on the same state (this one's loads would record uses).
  const reader = () => new StateAuthKeyStore(state, KeyRing.plaintext(), { logger: silentLogger, now: t.now });
  const store = new StateAuthKeyStore(state, KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes: { unusedMs: 60 * MINUTE, idleMs: 8 * DAY } });

  const unusedTemp = newId();
  const usedTemp = newId();
  await store.create(unusedTemp, { key: newKey(), expiresAt: t.now() + DAY });
  await store.create(usedTemp, { key: newKey(), expiresAt: t.now() + DAY });
  assert.ok(await store.get(usedTemp));
  t.advance(60 * MINUTE + 1);
  assert.equal(await reader().get(unusedTemp), undefined, 'unused temporary key: gone after an hour');
  assert.ok(await reader().get(usedTemp), 'used: kept to its expiry');
  t.advance(DAY);
  assert.equal(await reader().get(usedTemp), undefined, 'expired');

  // PFS: the client talks over a temporary key bound to its permanent key, which it never uses itself.
  const perm = newId();
  const temp = newId();
  await store.create(perm, { key: newKey() });
  await store.create(temp, { key: newKey(), expiresAt: t.now() + 30 * DAY });
  assert.ok(await store.get(temp));
  assert.ok(await store.get(perm), 'the binding message is checked with the permanent key: its first use');
  assert.equal(await store.bind(temp, authKeyIdHex(perm), undefined), 'bound');
  for (let day = 0; day < 20; day++) {
    t.advance(DAY);
    assert.ok(await store.get(temp), `day ${day}: the bound temporary key is used`);
  }
  assert.ok(await reader().get(perm), '20 days later the permanent key (idle lifetime 8 days) is still there: its temporary key\'s use counts');
});

test('client info lives as long as its key and is extended with it', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const state = local.store('mtproto');
  const stores = await openMtprotoStores({ state, driver: 'memory', ring: KeyRing.plaintext(), logger: silentLogger, registry: createRegistry(false), keyLifetimes: { unusedMs: MINUTE, idleMs: 8 * DAY }, now: t.now });
  const id = newId();
  const hex = authKeyIdHex(id);
  await stores.keyStore.create(id, { key: newKey() });
  assert.ok(await stores.keyStore.get(id), 'first use');
  stores.clientInfo.setLayer(hex, 158);
  await new Promise((r) => setImmediate(r));
  t.advance(7 * DAY);
  assert.equal(await state.get(`client:${hex}`), '{"layer":158}', 'stored, kept while its key is');
  // Another process loads the key a week later: the key's use is recorded, the info's ttl follows.
  const other = await openMtprotoStores({ state, driver: 'memory', ring: KeyRing.plaintext(), logger: silentLogger, registry: createRegistry(false), keyLifetimes: { unusedMs: MINUTE, idleMs: 8 * DAY }, now: t.now });
  assert.ok(await other.keyStore.get(id));
  assert.equal(other.clientInfo.get(hex)?.layer, 158);
  await new Promise((r) => setImmediate(r));
  t.advance(7 * DAY);
  assert.equal(await state.get(`client:${hex}`), '{"layer":158}', 'extended with the key');
  assert.ok(await state.get(`authkey:${hex}`));
  t.advance(DAY + 1);
  assert.equal(await state.get(`client:${hex}`), undefined, 'gone with its key');
  assert.equal(await state.get(`authkey:${hex}`), undefined);
});

test('a record from before lifetimes (no use time, no ttl) gets its ttl on its first load; a malformed use time is refused; a failed write keeps the key usable', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const state = local.store('mtproto');
  const ring = KeyRing.plaintext();
  const store = new StateAuthKeyStore(state, ring, { logger: silentLogger, now: t.now, lifetimes });
  const legacy = newId();
  const hex = authKeyIdHex(legacy);
  const seal = (record: object) => ring.seal('auth key', hex, new Uint8Array(Buffer.from(JSON.stringify(record))));
  await state.set(`authkey:${hex}`, seal({ k: Buffer.from(newKey()).toString('base64') }));
  t.advance(1_000 * DAY);
  assert.ok(await store.get(legacy), 'an old record still opens');
  t.advance(180 * DAY + 1);
  assert.equal(await state.get(`authkey:${hex}`), undefined, 'and now expires when idle');

  await state.set(`authkey:${hex}`, seal({ k: Buffer.from(newKey()).toString('base64'), u: 'yesterday' }));
  assert.equal(await store.get(legacy), undefined, 'a malformed use time: refused like an unknown key');

  const id = newId();
  await store.create(id, { key: newKey() });
  const failing: StateStore = { ...state, get: (k) => state.get(k), delete: (k) => state.delete(k), setIfAbsent: (k, v, ttl) => state.setIfAbsent(k, v, ttl), expire: async () => { throw new Error('store down'); }, set: async () => { throw new Error('store down'); } };
  const broken = new StateAuthKeyStore(failing, ring, { logger: silentLogger, now: t.now, lifetimes });
  assert.ok(await broken.get(id), 'the key is served although its use could not be recorded');
  assert.ok(await store.get(id), 'the next load records it');
  t.advance(60 * MINUTE + 1);
  assert.ok(await store.get(id));
});

test('through the server: a key made by a handshake and never used is refused (-404) after the unused lifetime; a used one goes on working', async () => {
  const t = clock(Date.now());
  const local = new LocalState(undefined, t.now);
  const keyStore = new StateAuthKeyStore(local.store('mtproto'), KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes: { unusedMs: MINUTE, idleMs: DAY } });
  const srv = await startServer({ keyStore });
  const key = pinned(srv.rsaKey);
  const conns: SpecConnection[] = [];
  const connect = async () => {
    const c = await SpecConnection.connect(srv.port, 'intermediate');
    conns.push(c);
    return c;
  };
  try {
    const orphan = await specHandshake(await connect(), key);
    const used = await specHandshake(await connect(), key);
    const session = new SpecSession(conns[1]!, used);
    assert.ok(await session.ping(), 'the used key answers');
    t.advance(MINUTE + 1);
    assert.equal(await keyStore.get(orphan.authKeyId), undefined, 'the unused key is gone from the store');
    const late = new SpecSession(await connect(), orphan);
    late.send({ _: 'ping', ping_id: 7n });
    assert.deepEqual(await late.recv(), { kind: 'error', code: -404 }, 'its client is told the key is unknown');
    const again = new SpecSession(await connect(), used);
    assert.ok(await again.ping(), 'the used key still works on a new connection');
  } finally {
    for (const c of conns) c.close();
    await srv.stop();
  }
});

test('a login lives as long as its key: stored with the key\'s ttl, extended with it, removed when the key is destroyed', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const state = local.store('mtproto');
  const lifetimes8 = { unusedMs: MINUTE, idleMs: 8 * DAY };
  const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
  const directory = new Directory([{ id: 5, firstName: 'u5', bot: true, tokenHash: `sha256:${'0'.repeat(64)}`, rooms: [] }], [], routing);
  const instance = async () => {
    const stores = await openMtprotoStores({ state, driver: 'memory', ring: KeyRing.plaintext(), logger: silentLogger, registry: createRegistry(false), keyLifetimes: lifetimes8, now: t.now });
    const logins = new Authorizations(state, directory, t.now, stores.companions.ttlOf);
    stores.companions.add(logins);
    return { stores, logins };
  };
  const first = await instance();
  const id = newId();
  const hex = authKeyIdHex(id);
  await first.stores.keyStore.create(id, { key: newKey() });
  assert.ok(await first.stores.keyStore.get(id), 'the key\'s first use');
  await first.logins.logIn(hex, 5n);
  t.advance(7 * DAY);
  assert.ok(await state.get(`auth:${hex}`), 'logged in, within the key\'s lifetime');
  // Another process loads the key a week later: the key's use is recorded, the login's ttl follows.
  const second = await instance();
  assert.ok(await second.stores.keyStore.get(id));
  t.advance(7 * DAY);
  assert.ok(await state.get(`auth:${hex}`), 'extended with the key');
  t.advance(DAY + 1);
  assert.equal(await state.get(`authkey:${hex}`), undefined, 'the key went, idle');
  assert.equal(await state.get(`auth:${hex}`), undefined, 'and its login with it');

  // destroy_auth_key ends the login at once.
  const other = newId();
  const otherHex = authKeyIdHex(other);
  await second.stores.keyStore.create(other, { key: newKey() });
  assert.ok(await second.stores.keyStore.get(other));
  await second.logins.logIn(otherHex, 5n);
  assert.deepEqual(await second.logins.userOf(otherHex), { userId: 5n, bot: true });
  await second.stores.keyStore.delete(other);
  assert.equal(await state.get(`auth:${otherHex}`), undefined);
  assert.equal(await second.logins.userOf(otherHex), undefined);
});

test('a logout made while the key\'s use is being recorded stays a logout (the login\'s life is extended with expire, never read and written back)', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const real = local.store('mtproto');
  const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
  const directory = new Directory([{ id: 5, firstName: 'u5', bot: true, tokenHash: `sha256:${'0'.repeat(64)}`, rooms: [] }], [], routing);
  const id = newId();
  const hex = authKeyIdHex(id);
  // Another connection logs the key out at the very moment this instance touches the login.
  const race = racing(real, `auth:${hex}`);
  const stores = await openMtprotoStores({ state: race.state, driver: 'memory', ring: KeyRing.plaintext(), logger: silentLogger, registry: createRegistry(false), keyLifetimes: { unusedMs: MINUTE, idleMs: 8 * DAY }, now: t.now });
  const logins = new Authorizations(race.state, directory, t.now, stores.companions.ttlOf);
  stores.companions.add(logins);
  await stores.keyStore.create(id, { key: newKey() });
  assert.ok(await stores.keyStore.get(id));
  await logins.logIn(hex, 5n);
  // A day later another instance loads the key: the use is recorded, and the login's life extended.
  const elsewhere = new Authorizations(real, directory, t.now);
  race.arm(() => elsewhere.logOut(hex));
  t.advance(DAY + 1);
  const second = await openMtprotoStores({ state: race.state, driver: 'memory', ring: KeyRing.plaintext(), logger: silentLogger, registry: createRegistry(false), keyLifetimes: { unusedMs: MINUTE, idleMs: 8 * DAY }, now: t.now });
  second.companions.add(new Authorizations(race.state, directory, t.now, second.companions.ttlOf));
  assert.ok(await second.keyStore.get(id));
  assert.equal(race.pending(), false, 'the logout ran while the use was recorded');
  assert.equal(await real.get(`auth:${hex}`), undefined, 'logged out, and stays so');
});

test('a key destroyed on another instance while this one records its use stays destroyed (the use is an expire, never a read and a write back)', async () => {
  const t = clock();
  const local = new LocalState(undefined, t.now);
  const real = local.store('mtproto');
  const id = newId();
  const hex = authKeyIdHex(id);
  const race = racing(real, `authkey:${hex}`);
  const elsewhere = new StateAuthKeyStore(real, KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes });
  await elsewhere.create(id, { key: newKey() });
  race.arm(() => elsewhere.delete(id));
  const here = new StateAuthKeyStore(race.state, KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes });
  await here.get(id); // its first use, recorded while the other instance destroys it
  assert.equal(race.pending(), false, 'the destroy ran while the use was recorded');
  assert.equal(await real.get(`authkey:${hex}`), undefined, 'destroyed, and stays so');
  assert.equal(await elsewhere.get(id), undefined);
});

test('a key destroyed or rebound on another instance while this one re-seals it after a KEK rotation stays as that instance left it', async () => {
  const t = clock();
  const oldKek = parseKek(generateKek());
  const newKek = parseKek(generateKek());
  const perm = newId();
  for (const act of ['destroy', 'rebind'] as const) {
    const real = new LocalState(undefined, t.now).store('mtproto');
    const id = newId();
    const hex = authKeyIdHex(id);
    const race = racing(real, `authkey:${hex}`);
    // Stored under the old KEK; the other instance runs the new one too (it re-sealed nothing yet).
    await new StateAuthKeyStore(real, new KeyRing(oldKek), { logger: silentLogger, now: t.now, lifetimes }).create(id, { key: newKey(), expiresAt: t.now() + DAY });
    const registry = createRegistry(false);
    const elsewhere = new StateAuthKeyStore(real, new KeyRing(newKek, [oldKek]), { logger: silentLogger, now: t.now, lifetimes });
    race.arm(async () => {
      if (act === 'destroy') await elsewhere.delete(id);
      else await elsewhere.bind(id, authKeyIdHex(perm), t.now() + DAY);
    });
    const here = new StateAuthKeyStore(race.state, new KeyRing(newKek, [oldKek]), { logger: silentLogger, now: t.now, lifetimes, registry });
    await here.get(id); // read under the old KEK, then re-sealed while the other instance acts
    assert.equal(race.pending(), false, `the ${act} ran between the read and the re-seal`);
    if (act === 'destroy') {
      assert.equal(await real.get(`authkey:${hex}`), undefined, 'destroyed, and stays so');
    } else {
      assert.equal((await new StateAuthKeyStore(real, new KeyRing(newKek), { logger: silentLogger, now: t.now, lifetimes }).get(id))?.boundTo, authKeyIdHex(perm), 'the binding is kept');
    }
    assert.equal(await metricValue(registry, 'switchboard_mtproto_auth_keys_resealed_total'), 0, `nothing re-sealed over the ${act}`);
  }
});

test('a temporary key destroyed on another instance while this one binds it stays destroyed, and the binding says gone', async () => {
  const t = clock();
  const real = new LocalState(undefined, t.now).store('mtproto');
  const id = newId();
  const hex = authKeyIdHex(id);
  const race = racing(real, `authkey:${hex}`);
  const elsewhere = new StateAuthKeyStore(real, KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes });
  await elsewhere.create(id, { key: newKey(), expiresAt: t.now() + DAY });
  race.arm(() => elsewhere.delete(id));
  const here = new StateAuthKeyStore(race.state, KeyRing.plaintext(), { logger: silentLogger, now: t.now, lifetimes });
  assert.equal(await here.bind(id, authKeyIdHex(newId()), t.now() + DAY), 'gone');
  assert.equal(race.pending(), false, 'the destroy ran between the read and the write');
  assert.equal(await real.get(`authkey:${hex}`), undefined, 'destroyed, and stays so');
});
