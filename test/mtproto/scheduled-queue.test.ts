// The queue of scheduled messages (chat/scheduled-queue.ts) and the scheduler that sends them
// (chat/scheduler.ts), on the memory state store: limits, ids never given twice, a malformed
// record, what the scheduler sends when, and that a failed send is tried again, not in a loop.
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { LeaseCallbacks } from '../../src/bus/types.ts';
import { MAX_QUEUE_BYTES, MAX_SCHEDULED_PER_ACCOUNT, MAX_SCHEDULED_PER_CHAT, ScheduledQueue, idsOfItem, txnOf, type ScheduledItem } from '../../src/connectors/mtproto/chat/scheduled-queue.ts';
import { RETRY_MS, Scheduler } from '../../src/connectors/mtproto/chat/scheduler.ts';

const BOB = 777n;
const item = (chat: string, at: number, text = 'x') => ({ chat, at, made: 1_000, text });

test('the queue: ids in order and never given twice, per-chat and per-account limits, edits and takes by chat, a malformed record is an empty queue', async () => {
  const state = new LocalState().store('mtproto');
  const queue = new ScheduledQueue(state);
  const a = await queue.add(BOB, item('1001', 500, 'a'));
  const b = await queue.add(BOB, item('1001', 400, 'b'));
  assert.ok(typeof a === 'object' && typeof b === 'object');
  assert.deepEqual([a.id, b.id], [1, 2]);
  assert.deepEqual((await queue.list(BOB)).map((i) => i.text), ['b', 'a'], 'in the order they are due');
  // An edit names its chat: the same id in another chat is not it.
  assert.equal(await queue.edit(BOB, 'other', a.id, (i) => ({ ...i, text: 'no' })), undefined);
  assert.equal((await queue.edit(BOB, '1001', a.id, (i) => ({ ...i, text: 'a2', chat: 'moved', id: 99 })) as ScheduledItem).text, 'a2');
  assert.deepEqual((await queue.list(BOB, '1001')).map((i) => [i.id, i.text]), [[2, 'b'], [1, 'a2']], 'an edit keeps its id and chat');
  assert.deepEqual(await queue.take(BOB, [a.id], 'other'), []);
  assert.deepEqual((await queue.take(BOB, [a.id, b.id, 42])).map((i) => i.id), [1, 2]);
  // Emptied, the next id still goes on: a send's transaction (txnOf) is never another's.
  const c = await queue.add(BOB, item('1001', 600));
  assert.equal(typeof c === 'object' && c.id, 3);
  assert.notEqual(txnOf(c as ScheduledItem), txnOf({ ...(c as ScheduledItem), id: 1 }));
  // An album is one item that shows as a message a file: its ids are consecutive, and any of them names it.
  const file = { kind: 'document' as const, file: '1', name: 'f', mime: 'text/plain', size: 1, sha256: 'x' };
  const album = await queue.add(BOB, { ...item('album', 650), files: [file, file, file] });
  assert.equal(typeof album === 'object' && album.id, 4);
  assert.equal(typeof album === 'object' && idsOfItem(album).join(), '4,5,6');
  assert.equal((await queue.edit(BOB, 'album', 6, (i) => ({ ...i, text: 'caption' })) as ScheduledItem).id, 4);
  assert.deepEqual((await queue.take(BOB, [5], 'album')).map((i) => i.id), [4]);
  const afterAlbum = await queue.add(BOB, item('1001', 660));
  assert.equal(typeof afterAlbum === 'object' && afterAlbum.id, 7, 'the album\'s ids are never given again');
  await queue.take(BOB, [7]);
  // At most MAX_SCHEDULED_PER_CHAT in one chat; the account's other chats still take more.
  for (let n = 1; n < MAX_SCHEDULED_PER_CHAT; n++) assert.equal(typeof await queue.add(BOB, item('1001', 700 + n)), 'object');
  assert.equal(await queue.add(BOB, item('1001', 900)), 'SCHEDULE_TOO_MUCH');
  assert.equal((await queue.list(BOB, '1001')).length, MAX_SCHEDULED_PER_CHAT);
  // Several of one call go all or none: one free place in a chat and two to queue is neither.
  await queue.take(BOB, [(await queue.list(BOB, '1001'))[0]!.id]);
  assert.equal(await queue.addAll(BOB, [item('1001', 901), item('1001', 902)]), 'SCHEDULE_TOO_MUCH');
  assert.equal((await queue.list(BOB, '1001')).length, MAX_SCHEDULED_PER_CHAT - 1, 'nothing of it queued');
  assert.equal((await queue.addAll(BOB, [item('1001', 903)]) as ScheduledItem[]).length, 1);
  let chat = 0;
  while ((await queue.list(BOB)).length < MAX_SCHEDULED_PER_ACCOUNT) assert.equal(typeof await queue.add(BOB, item(`dm:${chat++ % 5}`, 800)), 'object');
  assert.equal(await queue.add(BOB, item('dm:new', 800)), 'SCHEDULE_TOO_MUCH', 'the account\'s own limit');
  // Someone else's queue is another record.
  assert.equal(typeof await queue.add(BOB + 1n, item('1001', 5)), 'object');
  // A record that is no queue reads as an empty one (and is written over by the next add).
  await state.set(`sched:${BOB}`, '{"next":"x"}');
  assert.deepEqual(await queue.list(BOB), []);
  assert.equal(typeof await queue.add(BOB, item('1001', 1)), 'object');
});

test('the queue\'s stored size is bounded: long messages are refused before the count limits, and an edit that would pass the bound changes nothing', async () => {
  const queue = new ScheduledQueue(new LocalState().store('mtproto'));
  const long = 'x'.repeat(4096);
  let queued = 0;
  let refused: unknown;
  for (let n = 0; n < MAX_SCHEDULED_PER_ACCOUNT && refused === undefined; n++) {
    const r = await queue.add(BOB, item(`chat${n % 3}`, 1000 + n, long.repeat(n === 0 ? 1 : 20)));
    if (typeof r === 'object') queued++;
    else refused = r;
  }
  assert.equal(refused, 'SCHEDULE_TOO_MUCH');
  assert.ok(queued > 0 && queued < MAX_SCHEDULED_PER_CHAT, `refused by size after ${queued}, not by count`);
  const first = (await queue.list(BOB))[0]!;
  assert.equal(await queue.edit(BOB, first.chat, first.id, (i) => ({ ...i, text: long.repeat(300) })), 'SCHEDULE_TOO_MUCH');
  assert.equal((await queue.list(BOB))[0]!.text, first.text, 'unchanged');
  assert.equal(Buffer.byteLength(JSON.stringify({ next: 1, items: await queue.list(BOB) })) <= MAX_QUEUE_BYTES, true);
});

/** A lease granted at once, as the memory bus does, that the test can take away. */
function lease() {
  let callbacks: LeaseCallbacks | undefined;
  return {
    bus: { holdLease: (_name: string, cb: LeaseCallbacks) => { callbacks = cb; queueMicrotask(() => cb.onAcquired()); return { held: true, close: async () => undefined }; } },
    lose: () => callbacks?.onLost(),
  };
}

test('the scheduler sends what is due, in order, when it is due; a queue changed here is looked at at once; a failed send is tried again after RETRY_MS; without the lease nothing goes', { timeout: 30_000 }, async () => {
  const state = new LocalState().store('mtproto');
  const queue = new ScheduledQueue(state);
  const now = () => Math.floor(Date.now() / 1000);
  await queue.add(BOB, item('1001', now() - 5, 'overdue'));
  await queue.add(BOB, item('1001', now() + 3600, 'later'));
  const sent: Array<{ text: string; at: number }> = [];
  let fail = 1;
  const { bus, lose } = lease();
  const scheduler = new Scheduler({
    bus, queue, logger: silentLogger, accounts: () => [BOB],
    send: async (account, items) => {
      if (fail-- > 0) return false;
      for (const i of items) sent.push({ text: i.text, at: Date.now() });
      await queue.take(account, items.map((i) => i.id));
      return true;
    },
  });
  try {
    // The first try fails: nothing goes before RETRY_MS, then the overdue one goes (and only it).
    const started = Date.now();
    while (sent.length === 0 && Date.now() - started < RETRY_MS + 3_000) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent.map((s) => s.text), ['overdue']);
    assert.ok(sent[0]!.at - started >= RETRY_MS - 200, `tried again after ${sent[0]!.at - started} ms, not in a loop`);
    // One queued for 1 s from now, here: the scheduler wakes for it, not at its next sweep.
    await queue.add(BOB, item('1001', now() + 1, 'soon'));
    const asked = Date.now();
    while (sent.length < 2 && Date.now() - asked < 4_000) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sent.map((s) => s.text), ['overdue', 'soon']);
    // The lease lost: a due message waits.
    lose();
    await queue.add(BOB, item('1001', now() - 1, 'while not holding'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sent.length, 2);
    assert.deepEqual((await queue.list(BOB)).map((i) => i.text), ['while not holding', 'later']);
  } finally {
    await scheduler.close();
  }
});

test('property: whatever adds, edits and takes come, the queue holds its limits, every id is given once, and an item is found by each of its ids', async () => {
  const file = { kind: 'document' as const, file: '1', name: 'f', mime: 'text/plain', size: 1, sha256: 'x' };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), chat: fc.constantFrom('a', 'b'), files: fc.integer({ min: 0, max: 10 }), text: fc.integer({ min: 0, max: 3000 }), random: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) }),
    fc.record({ kind: fc.constant('addAll' as const), chat: fc.constantFrom('a', 'b'), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('edit' as const), pick: fc.nat(), text: fc.integer({ min: 0, max: 200_000 }) }),
    fc.record({ kind: fc.constant('take' as const), pick: fc.nat() }),
  );
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
    const queue = new ScheduledQueue(new LocalState().store('mtproto'));
    const given = new Set<number>();
    const record = (item: ScheduledItem) => {
      for (const id of idsOfItem(item)) {
        if (given.has(id) && !seenItems.has(item.id)) throw new Error(`id ${id} given twice`);
        given.add(id);
      }
      seenItems.add(item.id);
    };
    const seenItems = new Set<number>();
    for (const o of ops) {
      const items = await queue.list(BOB);
      if (o.kind === 'add') {
        const r = await queue.add(BOB, { ...item(o.chat, 1_000 + given.size, 'x'.repeat(o.text)), ...(o.files > 0 ? { files: Array(o.files).fill(file) } : {}), ...(o.random !== undefined ? { random: String(o.random) } : {}) });
        if (typeof r === 'object') record(r);
        else assert.equal(r, 'SCHEDULE_TOO_MUCH');
      } else if (o.kind === 'addAll') {
        const before = (await queue.list(BOB)).length;
        const r = await queue.addAll(BOB, Array.from({ length: o.n }, (_, k) => item(o.chat, 2_000 + k, 'y'.repeat(200))));
        if (typeof r === 'string') assert.equal((await queue.list(BOB)).length, before, 'all or none');
        else r.forEach(record);
      } else if (items.length > 0) {
        const target = items[o.pick % items.length]!;
        const ids = idsOfItem(target);
        const id = ids[o.pick % ids.length]!;
        if (o.kind === 'edit') {
          const r = await queue.edit(BOB, target.chat, id, (i) => ({ ...i, text: 'z'.repeat(o.text) }));
          assert.ok(r === 'SCHEDULE_TOO_MUCH' || (typeof r === 'object' && r.id === target.id), 'found by any of its ids');
        } else {
          assert.deepEqual((await queue.take(BOB, [id], target.chat)).map((i) => i.id), [target.id], 'taken by any of its ids');
        }
      }
      const now = await queue.list(BOB);
      assert.ok(now.length <= MAX_SCHEDULED_PER_ACCOUNT);
      for (const chat of ['a', 'b']) assert.ok(now.filter((i) => i.chat === chat).length <= MAX_SCHEDULED_PER_CHAT);
      assert.ok(Buffer.byteLength(JSON.stringify({ next: 1, items: now })) <= MAX_QUEUE_BYTES);
      const all = now.flatMap(idsOfItem);
      assert.equal(new Set(all).size, all.length, 'no id shows twice');
    }
  }), { numRuns: 40 });
});
