import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEventId, newEventId } from '../../src/core/ids.ts';

test('ids are unique and sort in creation order, also within one millisecond', () => {
  const ids = Array.from({ length: 5_000 }, () => newEventId());
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  for (const id of ids) assert.ok(isEventId(id), id);
});

test('ids carry their millisecond: a later time sorts after an earlier one', () => {
  const early = newEventId(Date.now() + 10_000);
  const later = newEventId(Date.now() + 20_000);
  assert.ok(early < later);
  assert.equal(early.slice(0, 10) < later.slice(0, 10), true);
});

test('a clock that steps back never yields a smaller id', () => {
  const a = newEventId(Date.now() + 30_000);
  const b = newEventId(Date.now() - 30_000);
  assert.ok(b > a, `${b} should sort after ${a}`);
});

test('isEventId rejects what is not a canonical id', () => {
  for (const bad of ['', 'x', '01M85KW66037GRZZ9VA9GZYMG', '01M85KW66037GRZZ9VA9GZYMGDD', '01m85kw66037grzz9va9gzymgd', '01M85KW66037GRZZ9VA9GZYMGU', 42, null]) {
    assert.equal(isEventId(bad), false, String(bad));
  }
});

/** The 80-bit random part of an id, decoded from Crockford base32. */
function randomPart(id: string): bigint {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let n = 0n;
  for (const ch of id.slice(10)) n = n * 32n + BigInt(alphabet.indexOf(ch));
  return n;
}

test('within one millisecond the random part counts up by exactly one, across every 40-bit boundary of its encoding', () => {
  const ms = Date.now() + 40_000;
  let prev = newEventId(ms);
  assert.ok(randomPart(prev) < 2n ** 79n, 'the top bit stays clear for headroom');
  for (let i = 0; i < 3_000; i++) {
    const next = newEventId(ms);
    assert.equal(next.slice(0, 10), prev.slice(0, 10));
    assert.equal(randomPart(next), randomPart(prev) + 1n, `${prev} -> ${next}`);
    prev = next;
  }
  // Fresh milliseconds draw fresh random parts: spread over the whole 79-bit range, not stuck in one half.
  const parts = Array.from({ length: 400 }, (_, i) => randomPart(newEventId(ms + 1 + i)));
  assert.equal(new Set(parts).size, parts.length);
  assert.ok(parts.some((p) => p < 2n ** 78n) && parts.some((p) => p >= 2n ** 78n));
  assert.ok(parts.some((p) => (p & 0xffffffffffn) < 2n ** 39n) && parts.some((p) => (p & 0xffffffffffn) >= 2n ** 39n), 'the low half varies too');
});
