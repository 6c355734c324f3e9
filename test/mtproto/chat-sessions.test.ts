// An account's active sessions with stock gramjs clients: account.getAuthorizations lists the
// auth keys it is logged in on; account.resetAuthorization ends one, auth.resetAuthorizations all
// the others; an ended session gets AUTH_KEY_UNREGISTERED. Not within a day of the caller's own
// login (FRESH_RESET_AUTHORISATION_FORBIDDEN), and bad hashes change nothing. The bound on the
// list is a unit test on the state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { Authorizations } from '../../src/connectors/mtproto/chat/authorizations.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { loginsKey, MAX_LOGINS, parseLogins } from '../../src/connectors/mtproto/chat/login-list.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { Api, BOT_ID, PERSON_ID, bigInt, chatClient, loginBot, loginPerson, rpcError, shutdown, updateRecorder, withChatClient, type ChatBridge, type ChatClient } from './chat-harness.ts';

type Ctor = new (x?: Record<string, unknown>) => object;
/** The requests of this test, beside the harness' typed ones. */
const SessionApi = Api as unknown as { account: Record<'GetAuthorizations' | 'ResetAuthorization', Ctor>; auth: Record<'ResetAuthorizations', Ctor> };

interface GramAuthorization { current?: boolean; hash: { toString(): string }; apiId: number; deviceModel: string; appVersion: string; dateCreated: number }

async function sessionsOf(client: ChatClient): Promise<GramAuthorization[]> {
  const r = await client.invoke(new SessionApi.account.GetAuthorizations()) as { authorizations: GramAuthorization[] };
  return r.authorizations;
}

/** Moves every login of the person a day and a minute into the past (what waiting would do). */
async function ageLogins(bridge: ChatBridge): Promise<void> {
  const state = chatState(bridge.app.bus.state(STATE_NAMESPACE));
  const key = loginsKey(BigInt(PERSON_ID));
  const list = parseLogins(await state.get(key));
  assert.ok(list.length > 0);
  await state.set(key, JSON.stringify(list.map((e) => ({ ...e, at: e.at - 86_460_000 }))));
}

async function loggedIn(bridge: ChatBridge): Promise<ChatClient> {
  const client = chatClient(bridge.mtprotoPort());
  await loginPerson(bridge, client);
  return client;
}

test('active sessions: listed with the calling one first (hash 0); one ended by hash, then all others; the ended ones are logged out', { timeout: 90_000 }, async () => {
  await withChatClient(loginPerson, async (bridge, phone, ws) => {
    const laptop = await loggedIn(bridge);
    let tablet: ChatClient | undefined;
    try {
      const listed = await sessionsOf(phone);
      assert.equal(listed.length, 2);
      assert.deepEqual(listed.map((a) => Boolean(a.current)), [true, false]);
      assert.equal(listed[0]!.hash.toString(), '0');
      assert.notEqual(listed[1]!.hash.toString(), '0');
      // What the client said in initConnection (the harness' api_id, gramjs' own app version).
      assert.deepEqual(listed.map((a) => a.apiId), [12345, 12345]);
      assert.ok(listed.every((a) => a.deviceModel !== '' && a.appVersion !== '' && a.dateCreated > 0), JSON.stringify(listed));
      // The laptop sees the same two, itself first.
      const fromLaptop = await sessionsOf(laptop);
      assert.equal(fromLaptop[0]!.hash.toString(), '0');
      assert.equal(fromLaptop.length, 2);
      assert.notEqual(fromLaptop[1]!.hash.toString(), listed[1]!.hash.toString(), 'each session its own hash');

      // Within a day of its own login, a session may end no other (someone who just got hold of a code cannot lock the owner out).
      const laptopHash = listed[1]!.hash.toString();
      assert.equal(await rpcError(phone.invoke(new SessionApi.account.ResetAuthorization({ hash: bigInt(laptopHash) }))), 'FRESH_RESET_AUTHORISATION_FORBIDDEN');
      assert.equal(await rpcError(phone.invoke(new SessionApi.auth.ResetAuthorizations())), 'FRESH_RESET_AUTHORISATION_FORBIDDEN');
      assert.equal((await sessionsOf(phone)).length, 2, 'nothing ended');
      await ageLogins(bridge);

      // Bad hashes: refused, nothing ended.
      assert.equal(await rpcError(phone.invoke(new SessionApi.account.ResetAuthorization({ hash: bigInt(0) }))), 'HASH_INVALID');
      assert.equal(await rpcError(phone.invoke(new SessionApi.account.ResetAuthorization({ hash: bigInt('1234567890123') }))), 'HASH_INVALID');
      assert.equal((await sessionsOf(phone)).length, 2, 'nothing ended');

      await laptop.getDialogs();
      const laptopUpdates = updateRecorder(laptop);
      const phoneUpdates = updateRecorder(phone);
      assert.equal(await phone.invoke(new SessionApi.account.ResetAuthorization({ hash: bigInt(laptopHash) })), true);
      // The ended session gets no more updates: alice's next message reaches the phone, not the laptop.
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the reset' } });
      await phoneUpdates.next((u) => JSON.stringify(u).includes('after the reset'));
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!laptopUpdates.all.some((u) => JSON.stringify(u).includes('after the reset')), 'the ended session was told');
      assert.equal(await rpcError(laptop.getMe()), 'AUTH_KEY_UNREGISTERED');
      assert.equal((await sessionsOf(phone)).length, 1);
      // The hash of an ended session names nothing any more.
      assert.equal(await rpcError(phone.invoke(new SessionApi.account.ResetAuthorization({ hash: bigInt(laptopHash) }))), 'HASH_INVALID');

      // A new device, then every session but the caller's ended at once.
      tablet = await loggedIn(bridge);
      const third = await loggedIn(bridge);
      try {
        assert.equal((await sessionsOf(phone)).length, 3);
        assert.equal(await phone.invoke(new SessionApi.auth.ResetAuthorizations()), true);
        assert.equal(await rpcError(tablet.getMe()), 'AUTH_KEY_UNREGISTERED');
        assert.equal(await rpcError(third.getMe()), 'AUTH_KEY_UNREGISTERED');
        const left = await sessionsOf(phone);
        assert.deepEqual(left.map((a) => [Boolean(a.current), a.hash.toString()]), [[true, '0']]);
        assert.equal(((await phone.getMe()) as { id: { toString(): string } }).id.toString(), String(PERSON_ID), 'the caller goes on');
      } finally {
        await shutdown(third);
      }
    } finally {
      await shutdown(laptop);
      if (tablet !== undefined) await shutdown(tablet);
    }
  });
});

test('the login list: at most MAX_LOGINS, the oldest login past it is logged out (not just hidden); a logout, an expired or re-used key leaves the list', async () => {
  let now = 1_000_000;
  const state = new LocalState(undefined, () => now).store('mtproto');
  const routing: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
  const directory = new Directory([
    { id: 5, firstName: 'p5', bot: false, phone: '15550005', rooms: [] },
    { id: 6, firstName: 'p6', bot: false, phone: '15550006', rooms: [] },
  ], [], routing);
  const logins = new Authorizations(state, directory, () => now);
  const key = (i: number) => i.toString(16).padStart(16, '0');
  for (let i = 1; i <= MAX_LOGINS + 1; i++) {
    now += 1000;
    await logins.logIn(key(i), 5n);
  }
  const listed = await logins.loginsOf(5n);
  assert.equal(listed.length, MAX_LOGINS);
  assert.equal(listed[0]!.key, key(2));
  assert.equal(await logins.userOf(key(1)), undefined, 'the oldest login ended');
  assert.deepEqual(await logins.userOf(key(2)), { userId: 5n, bot: false });
  // A logout leaves the list.
  await logins.logOut(key(2));
  assert.ok(!(await logins.loginsOf(5n)).some((e) => e.key === key(2)));
  // A key that logs in as someone else leaves the first one's list.
  await logins.logIn(key(3), 6n);
  assert.ok(!(await logins.loginsOf(5n)).some((e) => e.key === key(3)));
  assert.deepEqual((await logins.loginsOf(6n)).map((e) => e.key), [key(3)]);
  // A login whose record is gone (its key expired) is dropped from the list when read.
  await state.delete(`auth:${key(4)}`);
  assert.ok(!(await logins.loginsOf(5n)).some((e) => e.key === key(4)));
  assert.ok(!parseLogins(await state.get(loginsKey(5n))).some((e) => e.key === key(4)), 'and from the stored list');
  // A login made before logins were listed (or whose list was lost) is listed when it asks, with its own login time.
  await state.delete(loginsKey(6n));
  await logins.ensureListed(key(3), 6n);
  assert.deepEqual((await logins.loginsOf(6n)).map((e) => [e.key, e.at]), [[key(3), JSON.parse((await state.get(`auth:${key(3)}`))!).at]]);
  await logins.ensureListed(key(3), 5n);
  assert.ok(!(await logins.loginsOf(5n)).some((e) => e.key === key(3)), 'not for someone it is not logged in as');
  // A stored login that does not read as one is no login (not an error on every call).
  await state.set(`auth:${key(9)}`, '{not json');
  assert.equal(await logins.userOf(key(9)), undefined);
  // Unreadable lists are empty lists, not errors.
  assert.deepEqual(parseLogins('{"not":"a list"}'), []);
  assert.deepEqual(parseLogins('[{"key":"zz","hash":"1","at":1}]'), []);
});

test('bots have no active sessions: never listed (a bot run as many processes keeps every login), the methods refused', { timeout: 60_000 }, async () => {
  await withChatClient(loginBot, async (bridge, bot) => {
    const others: ChatClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = chatClient(bridge.mtprotoPort());
        others.push(c);
        await loginBot(bridge, c);
      }
      assert.equal(await rpcError(bot.invoke(new SessionApi.account.GetAuthorizations())), 'BOT_METHOD_INVALID');
      assert.equal(await rpcError(bot.invoke(new SessionApi.auth.ResetAuthorizations())), 'BOT_METHOD_INVALID');
      const state = chatState(bridge.app.bus.state(STATE_NAMESPACE));
      assert.equal(await state.get(loginsKey(BigInt(BOT_ID))), undefined, 'no list kept');
      for (const c of [bot, ...others]) assert.equal(((await c.getMe()) as { id: { toString(): string } }).id.toString(), String(BOT_ID));
    } finally {
      for (const c of others) await shutdown(c);
    }
  });
});
