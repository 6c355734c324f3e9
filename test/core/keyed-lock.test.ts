import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedLock } from '../../src/core/keyed-lock.ts';

test('KeyedLock runs work for one key one at a time, other keys in parallel, and forgets idle keys', async () => {
  const lock = new KeyedLock();
  const order: string[] = [];
  const slow = (tag: string, ms: number) => async () => { order.push(`${tag}+`); await new Promise((r) => setTimeout(r, ms)); order.push(`${tag}-`); return tag; };
  const results = await Promise.all([lock.run('a', slow('a1', 30)), lock.run('a', slow('a2', 1)), lock.run('b', slow('b1', 1))]);
  assert.deepEqual(results, ['a1', 'a2', 'b1']);
  assert.ok(order.indexOf('a1-') < order.indexOf('a2+'), order.join(' '));
  assert.ok(order.indexOf('b1-') < order.indexOf('a1-'), 'b did not wait for a');
  await assert.rejects(lock.run('a', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await lock.run('a', async () => 'after a failure'), 'after a failure');
  assert.equal(lock.size, 0);
});

test('KeyedLock.idle resolves once every key\'s queued work is over, failed work included', async () => {
  const lock = new KeyedLock();
  const done: string[] = [];
  const later = (tag: string, ms: number, fail = false) => async () => {
    await new Promise((r) => setTimeout(r, ms));
    done.push(tag);
    if (fail) throw new Error(tag);
  };
  void lock.run('a', later('a1', 20)).catch(() => {});
  void lock.run('a', later('a2', 5, true)).catch(() => {});
  void lock.run('b', later('b1', 10)).catch(() => {});
  await lock.idle();
  assert.deepEqual(done.sort(), ['a1', 'a2', 'b1']);
  assert.equal(lock.size, 0);
  await lock.idle(); // nothing queued: at once
});
