import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, TokenBuckets } from '../../src/core/token-bucket.ts';

test('token buckets per key: each key its own bucket; past the bound the least recently used is forgotten and starts full again', () => {
  let now = 0;
  const made: string[] = [];
  const buckets = new TokenBuckets(2, (key) => { made.push(key); return new TokenBucket(1, 2, () => now); });
  assert.equal(buckets.of('a').tryTake(), true);
  assert.equal(buckets.of('a').tryTake(), true);
  assert.equal(buckets.of('a').tryTake(), false, 'a is empty');
  assert.equal(buckets.of('b').tryTake(), true, 'b has its own');
  assert.equal(buckets.of('a').msUntilToken(), 1_000, 'a is the most recently used now');
  assert.equal(buckets.of('c').tryTake(), true);
  assert.equal(buckets.size, 2, 'bounded');
  assert.deepEqual(made, ['a', 'b', 'c'], 'b, the least recently used, was forgotten, not a');
  assert.equal(buckets.of('a').tryTake(), false, 'a is still empty');
  now = 1_000;
  assert.equal(buckets.of('a').tryTake(), true, 'refilled with time');
  assert.equal(buckets.of('b').take(), 'taken-full', 'b starts again full');
  assert.deepEqual(made, ['a', 'b', 'c', 'b']);
});
