// Per-account pts derived from the chats' logs (chat/pts.ts, chat/message-box.ts, chat/chat-log.ts),
// checked against a model: random appends to several chats, accounts that see different sets of
// chats; every account's pts moves by one exactly for the entries of its chats, and getDifference
// from any earlier pts returns exactly the entries since, in order, whole or in slices, also after
// a reload from the state store and after retention dropped old blocks. Private chats join an
// account's chats as they begin (direct-chats.ts) and count whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { Bridge, Endpoint, RoutingView } from '../../src/core/endpoint.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MessageBox } from '../../src/connectors/mtproto/chat/message-box.ts';
import { PtsBook } from '../../src/connectors/mtproto/chat/pts.ts';
import { DirectChats } from '../../src/connectors/mtproto/chat/direct-chats.ts';
import { People } from '../../src/connectors/mtproto/chat/people.ts';
import type { StateStore } from '../../src/bus/types.ts';
import { Directory, type Account } from '../../src/connectors/mtproto/chat/directory.ts';
import { BLOCK, ChatLog } from '../../src/connectors/mtproto/chat/chat-log.ts';
import type { MtprotoAccountConfig } from '../../src/config/schema.ts';

const CHATS = ['11', '12', '13'] as const;
/** Private chats of the accounts below: with people of other networks, and between two accounts. */
const DIRECTS = ['dm:mtproto:1|websocket:carol', 'dm:mtproto:1|mtproto:2', 'dm:mtproto:3|xmpp:dave@example.org', 'dm:mtproto:2|websocket:carol'] as const;

/** The routing table of three rooms, one MTProto chat each (what the router would say). */
function routing(): { view: RoutingView; endpoints: Endpoint[] } {
  const bridges: Bridge[] = CHATS.map((c) => ({ room: `room${c}`, endpoints: [{ connector: 'mtproto', address: c }], source: 'test' }));
  const view: RoutingView = {
    roomOf: (e) => bridges.find((b) => b.endpoints.some((x) => x.connector === e.connector && x.address === e.address))?.room,
    endpointsOf: (room) => bridges.find((b) => b.room === room)?.endpoints ?? [],
    rooms: bridges.map((b) => b.room),
    route: () => [], directionOf: () => 'both',
  };
  return { view, endpoints: bridges.flatMap((b) => b.endpoints) };
}

function account(id: number, rooms: string[]): MtprotoAccountConfig {
  return { id, firstName: `u${id}`, bot: true, tokenHash: `sha256:${'0'.repeat(64)}`, rooms };
}

function directory(accounts: MtprotoAccountConfig[]): Directory {
  const { view, endpoints } = routing();
  return new Directory(accounts, endpoints, view);
}

function directsOf(state: StateStore, dir: Directory): DirectChats {
  return new DirectChats(state, dir, new People(dir, [], state, silentLogger), silentLogger);
}

const ACCOUNTS = [account(1, ['room11', 'room12']), account(2, ['room12', 'room13']), account(3, ['*'])];

/** Appends one message and writes it (a batch of one). */
async function append(box: MessageBox, chat: string, key: string): Promise<number> {
  const r = await box.append(chat, { kind: 'new', eventKey: key, time: 1, from: '9' }, (g) => ({ id: g, chat, ev: key, from: '9', date: 1, text: key }));
  await box.flush();
  return r.entry.g;
}

test('pts moves by one per entry of the account\'s chats and private chats; getDifference from any earlier pts is exact, whole and sliced', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom(...CHATS, ...DIRECTS), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (ops, slice) => {
    const state = new LocalState();
    const dir = directory(ACCOUNTS);
    const box = new MessageBox(state.store('mtproto'), 1_000, silentLogger);
    await box.start();
    const directs = directsOf(state.store('mtproto'), dir);
    const book = new PtsBook(state.store('mtproto'), box, dir, directs);
    const accounts = dir.accounts;
    // A private chat counts for the accounts among its parties (from its first entry: before it, it has none).
    const chatsOf = (a: Account) => new Set([...dir.chatsOf(a).map((c) => c.address), ...DIRECTS.filter((d) => d.split(/[:|]/).includes(String(a.id)))]);
    // Snapshots: the pts of each account before op i.
    const snapshots: number[][] = [];
    const appended: { chat: string; key: string }[] = [];
    for (const [i, chat] of ops.entries()) {
      snapshots.push(await Promise.all(accounts.map((a) => book.current(a))));
      const key = `e${i}`;
      // The writer opens a private chat before its first entry (outbound.ts).
      const direct = directs.chatOf(chat);
      if (direct !== undefined) assert.equal(await directs.open(direct), true);
      await append(box, chat, key);
      appended.push({ chat, key });
      const after = await Promise.all(accounts.map((a) => book.current(a)));
      accounts.forEach((a, j) => assert.equal(after[j], snapshots[i]![j]! + (chatsOf(a).has(chat) ? 1 : 0)));
    }
    for (const [j, a] of accounts.entries()) {
      const now = await book.current(a);
      for (const [i, snapshot] of snapshots.entries()) {
        const from = snapshot[j]!;
        const expected = appended.slice(i).filter((x) => chatsOf(a).has(x.chat)).map((x) => x.key);
        const whole = await book.difference(a, from, 10_000);
        if (expected.length === 0) {
          assert.equal(whole.type, 'empty');
          continue;
        }
        assert.equal(whole.type, 'entries');
        if (whole.type !== 'entries') return;
        assert.deepEqual(whole.items.map((x) => x.entry.e), expected);
        assert.deepEqual(whole.items.map((x) => x.pts), expected.map((_, k) => from + k + 1));
        assert.equal(whole.pts, now);
        // Sliced: the same entries, each slice ending where the next begins.
        const keys: string[] = [];
        let at = from;
        for (let guard = 0; guard < 100; guard++) {
          const part = await book.difference(a, at, slice);
          if (part.type === 'empty') break;
          assert.equal(part.type, 'entries');
          if (part.type !== 'entries') return;
          keys.push(...part.items.map((x) => x.entry.e));
          at = part.pts;
          if (part.final) break;
        }
        assert.deepEqual(keys, expected);
        assert.equal(at, now);
      }
    }
    // Another process (or a restart) reads the same pts from the state.
    const box2 = new MessageBox(state.store('mtproto'), 1_000, silentLogger);
    await box2.start();
    const book2 = new PtsBook(state.store('mtproto'), box2, dir, directsOf(state.store('mtproto'), dir));
    for (const a of accounts) assert.equal(await book2.current(a), await book.current(a));
  }), { numRuns: 40 });
});

test('the logs and pts survive a reload from the state store; a re-delivered event is not appended twice', async () => {
  const state = new LocalState();
  const dir = directory(ACCOUNTS);
  const box = new MessageBox(state.store('mtproto'), 1_000, silentLogger);
  await box.start();
  for (let i = 0; i < 250; i++) await append(box, CHATS[i % 3]!, `k${i}`);
  const book = new PtsBook(state.store('mtproto'), box, dir, directsOf(state.store('mtproto'), dir));
  const before = await Promise.all(dir.accounts.map((a) => book.current(a)));
  const again = await box.append('11', { kind: 'new', eventKey: 'k0', time: 1 }, () => assert.fail('not called for a known event'));
  await box.flush();
  assert.equal(again.fresh, false);

  const box2 = new MessageBox(state.store('mtproto'), 1_000, silentLogger);
  await box2.start();
  const book2 = new PtsBook(state.store('mtproto'), box2, dir, directsOf(state.store('mtproto'), dir));
  assert.deepEqual(await Promise.all(dir.accounts.map((a) => book2.current(a))), before);
  const a = dir.accounts[0]!;
  const diff = await book2.difference(a, before[0]! - 5, 100);
  assert.equal(diff.type, 'entries');
  const g = await append(box2, '11', 'after-reload');
  assert.ok(g > 250, 'the sequence goes on past what was used before the reload');
  assert.equal(await book2.current(a), before[0]! + 1);
  assert.equal((await box2.record(g))?.text, 'after-reload');
});

test('retention drops whole old blocks: getDifference from before them is differenceTooLong, from after them exact', async () => {
  const state = new LocalState();
  const dir = directory([account(1, ['room11'])]);
  const retain = 150;
  const box = new MessageBox(state.store('mtproto'), retain, silentLogger);
  await box.start();
  const book = new PtsBook(state.store('mtproto'), box, dir, directsOf(state.store('mtproto'), dir));
  const a = dir.accounts[0]!;
  const start = await book.current(a);
  const total = Math.ceil(retain / BLOCK) * BLOCK + 3 * BLOCK;
  for (let i = 0; i < total; i++) await append(box, '11', `r${i}`);
  const log = await box.chat('11');
  assert.ok(log.entries.length >= retain && log.entries.length < retain + BLOCK, `kept ${log.entries.length}`);
  assert.equal(log.count, total);
  assert.equal((await book.difference(a, start + 10, 50)).type, 'tooLong');
  const now = await book.current(a);
  const recent = await book.difference(a, now - 3, 50);
  assert.equal(recent.type, 'entries');
  if (recent.type === 'entries') assert.deepEqual(recent.items.map((x) => x.entry.e), [`r${total - 3}`, `r${total - 2}`, `r${total - 1}`]);
  assert.equal(await box.record(1), undefined, 'messages of dropped blocks are deleted');
  // A reload keeps the window.
  const reloaded = await ChatLog.load('11', state.store('mtproto'), retain);
  assert.deepEqual([reloaded.count, reloaded.entries.length, reloaded.droppedG], [log.count, log.entries.length, log.droppedG]);
});

test('an account whose chats change keeps its pts: it goes on from where it was', async () => {
  const state = new LocalState();
  const box = new MessageBox(state.store('mtproto'), 1_000, silentLogger);
  await box.start();
  const narrow = directory([account(1, ['room11'])]);
  const book = new PtsBook(state.store('mtproto'), box, narrow, directsOf(state.store('mtproto'), narrow));
  for (let i = 0; i < 5; i++) await append(box, '11', `a${i}`);
  for (let i = 0; i < 7; i++) await append(box, '13', `c${i}`);
  const was = await book.current(narrow.accounts[0]!);
  // The config now gives the account a second chat (a restart with another config).
  const wide = directory([account(1, ['room11', 'room13'])]);
  const book2 = new PtsBook(state.store('mtproto'), box, wide, directsOf(state.store('mtproto'), wide));
  const a = wide.accounts[0]!;
  assert.equal(await book2.current(a), was);
  await append(box, '13', 'c-new');
  assert.equal(await book2.current(a), was + 1);
  const diff = await book2.difference(a, was, 10);
  assert.equal(diff.type, 'entries');
  if (diff.type === 'entries') assert.deepEqual(diff.items.map((x) => x.entry.e), ['c-new']);
});

test('a batch is invisible until written; a failed write leaves nothing and the batch goes through again', async () => {
  const local = new LocalState();
  const real = local.store('mtproto');
  let failWrites = false;
  // The connector's state store with writes that fail on demand (Redis gone mid-batch).
  const state = {
    get: (k: string) => real.get(k),
    set: async (k: string, v: string, ttl?: number) => { if (failWrites && k.startsWith('log:')) throw new Error('state store down'); return real.set(k, v, ttl); },
    setIfAbsent: (k: string, v: string, ttl?: number) => real.setIfAbsent(k, v, ttl),
    delete: (k: string) => real.delete(k),
    expire: (k: string, ttl: number) => real.expire(k, ttl),
    replace: (k: string, e: string, v: string, ttl?: number) => real.replace(k, e, v, ttl),
  };
  const dir = directory([account(1, ['room11'])]);
  const box = new MessageBox(state, 1_000, silentLogger);
  await box.start();
  const book = new PtsBook(state, box, dir, directsOf(state, dir));
  const a = dir.accounts[0]!;
  const before = await book.current(a);
  const batch = async () => {
    const m = await box.append('11', { kind: 'new', eventKey: 'b1', time: 1, from: '9' }, (g) => ({ id: g, chat: '11', ev: 'b1', from: '9', date: 1, text: 'one' }));
    // An edit of that message in the same batch finds it.
    await box.append('11', { kind: 'edit', eventKey: 'b2', time: 2, target: m.entry.m }, async () => ({ ...(await box.record(m.entry.m))!, text: 'one (edited)' }));
    assert.equal(await book.current(a), before, 'nothing of the batch is visible before its write');
    assert.equal(await box.find('11', 'b1'), undefined);
    return m.entry.m;
  };
  failWrites = true;
  await batch();
  await assert.rejects(box.flush(), /state store down/);
  assert.equal(await book.current(a), before, 'a failed batch leaves nothing');
  failWrites = false;
  const id = await batch();
  const waiting = box.waitFor('11', 'b1', 1_000);
  await box.flush();
  assert.equal((await waiting)?.entry.m, id, 'a waiter is answered once the batch is written');
  assert.equal(await book.current(a), before + 2);
  assert.equal((await box.record(id))?.text, 'one (edited)');
  const reloaded = new MessageBox(state, 1_000, silentLogger);
  await reloaded.start();
  assert.equal((await reloaded.record(id))?.text, 'one (edited)');
  assert.equal((await reloaded.chat('11')).count, (await box.chat('11')).count);
});
