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
