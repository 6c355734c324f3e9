import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, safeIndex } from '../../src/core/text.ts';

test('clip holds a text to a length in UTF-16 units without cutting a character in half', () => {
  assert.equal(clip('abc', 3), 'abc');
  assert.equal(clip('abcd', 3), 'abc');
  assert.equal(clip('ab😀', 3), 'ab', 'the emoji does not fit whole: it goes');
  assert.equal(clip('ab😀', 4), 'ab😀');
  assert.equal(clip('😀😀', 3), '😀');
  assert.equal(clip('e\u0301x', 2), 'e\u0301', 'a combining mark is a unit of its own');
  assert.equal(clip('abc', 0), '');
});

test('safeIndex moves an index off the middle of a surrogate pair, never past the text', () => {
  assert.equal(safeIndex('a😀b', 2), 1);
  assert.equal(safeIndex('a😀b', 3), 3);
  assert.equal(safeIndex('a😀b', 99), 4);
  assert.equal(safeIndex('a😀b', -1), 0);
});
