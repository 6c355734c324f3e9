// Login epochs (chat/login-epochs.ts) with the logins that carry them (chat/authorizations.ts),
// on the memory driver's state: a raise ends the logins made before it and no other, once per
// change across instances; a login made while a raise is on its way waits for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { StateStore } from '../../src/bus/types.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { Authorizations } from '../../src/connectors/mtproto/chat/authorizations.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { credentialOf, LoginEpochs } from '../../src/connectors/mtproto/chat/login-epochs.ts';
import type { MtprotoAccountConfig } from '../../src/config/schema.ts';

const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
const bot = (tokenHash: string): MtprotoAccountConfig => ({ id: 5, bot: true, firstName: 'b', tokenHash, rooms: ['*'] } as MtprotoAccountConfig);
const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;
const key = (i: number) => i.toString(16).padStart(16, '0');

/** The state with its compare-and-set writes held back `ms` (a slow Redis). */
function slowWrites(state: StateStore, ms: number): StateStore {
  const later = <T>(p: () => Promise<T>) => new Promise<T>((resolve, reject) => setTimeout(() => p().then(resolve, reject), ms));
  return new Proxy(state, {
    get(target, prop, receiver) {
      if (prop === 'setIfAbsent') return (...args: Parameters<StateStore['setIfAbsent']>) => later(() => target.setIfAbsent(...args));
      if (prop === 'replace') return (...args: Parameters<StateStore['replace']>) => later(() => target.replace(...args));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a login made while the raise of a rotated token is on its way is made in the new epoch and holds; the one before ends', async () => {
  const state = slowWrites(new LocalState().store('mtproto'), 50);
  const directory = new Directory([bot(HASH_A)], [], routing);
  const epochs = new LoginEpochs(state);
  const logins = new Authorizations(state, directory, Date.now, undefined, epochs);
  await logins.logIn(key(1), 5n);
  directory.replaceAccounts([bot(HASH_B)]);
  const raising = epochs.raise(5n, credentialOf(directory.account(5n)), true);
  await logins.logIn(key(2), 5n); // the bot, restarted with its new token at once
  assert.equal(await raising, true);
  logins.accountsChanged();
  assert.equal(await logins.userOf(key(1)), undefined, 'the old token\'s login ended');
  assert.deepEqual(await logins.userOf(key(2)), { userId: 5n, bot: true }, 'the new one holds');
});

test('a person whose phone changed: his listed logins of before are deleted, one made with the new number meanwhile stays', async () => {
  const state = slowWrites(new LocalState().store('mtproto'), 50);
  const person = (phone: string): MtprotoAccountConfig => ({ id: 7, bot: false, firstName: 'p', phone, rooms: ['*'] } as MtprotoAccountConfig);
  const directory = new Directory([person('15550001')], [], routing);
  const epochs = new LoginEpochs(state);
  const logins = new Authorizations(state, directory, Date.now, undefined, epochs);
  await logins.logIn(key(1), 7n);
  directory.replaceAccounts([person('15550002')]);
  const raising = epochs.raise(7n, credentialOf(directory.account(7n)), true);
  await logins.logIn(key(2), 7n);
  await raising;
  await logins.endListed(7n);
  assert.equal(await state.get(`auth:${key(1)}`), undefined, 'the old number\'s login is gone from the state');
  assert.deepEqual((await logins.loginsOf(7n)).map((e) => e.key), [key(2)]);
  assert.deepEqual(await logins.userOf(key(2)), { userId: 7n, bot: false });
});

test('raises: none for an account added with nothing recorded; one per change across instances; an account removed and provisioned again ends what came between', async () => {
  const shared = new LocalState().store('mtproto');
  const a = new LoginEpochs(shared);
  const b = new LoginEpochs(shared);
  const cred = credentialOf(new Directory([bot(HASH_A)], [], routing).account(5n));
  assert.equal(await a.raise(5n, cred, false), false, 'added, never removed: its logins (made on instances that had it) stay');
  assert.equal(await a.of(5n), 0);
  assert.equal(await a.raise(5n, '', true), true, 'removed on A');
  assert.equal(await b.raise(5n, '', true), false, 'B\'s reload of the same change raises nothing more');
  assert.equal(await b.of(5n), 1);
  assert.equal(await b.raise(5n, cred, false), true, 'provisioned again after a removal');
  assert.equal(await a.raise(5n, cred, false), false);
  a.forget(5n);
  assert.equal(await a.of(5n), 2);
});
