// The profile photos accounts set (chat/account-avatars.ts): kept in the shared state, loaded at
// start, and read again in the background once older than REFRESH_MS, so a photo one instance
// set shows on another soon after; a stored value that is not a photo is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { AccountAvatars, REFRESH_MS } from '../../src/connectors/mtproto/chat/account-avatars.ts';
import { AccountProfiles } from '../../src/connectors/mtproto/chat/account-profiles.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import type { MediaInfo } from '../../src/connectors/mtproto/chat/message-box.ts';

const NO_ROUTES: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
const BOB = 6001n;
const PHOTO: MediaInfo = { kind: 'photo', file: '42', name: 'me.png', mime: 'image/png', size: 70, sha256: 'ab'.repeat(32), w: 1, h: 1 };

test('a photo set on one instance shows on another once its copy is older than REFRESH_MS; removed likewise; a malformed stored value is no photo', async () => {
  const state = new LocalState().store('mtproto');
  const directory = new Directory([{ id: Number(BOB), bot: false, firstName: 'Bob', phone: '+15550100', rooms: ['*'] }], [], NO_ROUTES);
  let now = 1_000_000;
  const a = new AccountAvatars(state, directory, silentLogger, () => now);
  const b = new AccountAvatars(state, directory, silentLogger, () => now);
  await Promise.all([a.load(), b.load()]);
  assert.equal(b.of(BOB), undefined);

  await a.set(BOB, PHOTO);
  assert.deepEqual(a.of(BOB), PHOTO, 'at once where it was set');
  assert.equal(b.of(BOB), undefined, 'the other instance still has what it read');
  now += REFRESH_MS + 1;
  assert.equal(b.of(BOB), undefined, 'an old copy is answered while it is read again');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(b.of(BOB), PHOTO, 'then the new one');

  await a.set(BOB, undefined);
  assert.equal(await state.get(`avatar:${BOB}`), undefined, 'removed from the state');
  now += REFRESH_MS + 1;
  b.of(BOB);
  await new Promise((r) => setImmediate(r));
  assert.equal(b.of(BOB), undefined);

  await state.set(`avatar:${BOB}`, '{"kind":"document","file":"1"}');
  const c = new AccountAvatars(state, directory, silentLogger, () => now);
  await c.load();
  assert.equal(c.of(BOB), undefined, 'not a photo: none');
  assert.equal(c.of(777n), undefined, 'no such account');
});

test('a name an account set shows over the provisioned one; a malformed stored value is none (the provisioned name shows)', async () => {
  const state = new LocalState().store('mtproto');
  const directory = new Directory([{ id: Number(BOB), bot: false, firstName: 'Bob', lastName: 'Smith', phone: '+15550100', rooms: ['*'] }], [], NO_ROUTES);
  const account = directory.account(BOB)!;
  const profiles = new AccountProfiles(state, directory, silentLogger);
  await profiles.set(BOB, { name: { first: 'Robert' } });
  assert.deepEqual([profiles.shown(account).firstName, profiles.shown(account).lastName], ['Robert', undefined], 'a profile without a last name has none');
  for (const bad of ['{"name":{"first":""}}', '{"name":{"first":7}}', '{"name":{"first":"R"},"about":[1]}', '{"name":"R"}', 'not json']) {
    await state.set(`profile:${BOB}`, bad);
    const fresh = new AccountProfiles(state, directory, silentLogger);
    await fresh.load();
    assert.equal(fresh.shown(account), account, bad);
  }
});
