import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueWithin, within } from '../../src/core/within.ts';

test('valueWithin: the value when it comes in time, undefined when it does not, a rejection in time rejects', async () => {
  assert.equal(await valueWithin(Promise.resolve('now'), 1_000), 'now');
  const slow = new Promise<string>((resolve) => { setTimeout(() => resolve('late'), 200).unref(); });
  const started = Date.now();
  assert.equal(await valueWithin(slow, 20), undefined);
  assert.ok(Date.now() - started < 150, 'it did not wait for the work');
  await assert.rejects(valueWithin(Promise.reject(new Error('store away')), 1_000), /store away/);
});

test('within: true when the work settled in time (a rejection too), false when it did not', async () => {
  assert.equal(await within(Promise.resolve(), 1_000), true);
  assert.equal(await within(Promise.reject(new Error('x')), 1_000), true);
  assert.equal(await within(new Promise((resolve) => { setTimeout(resolve, 200).unref(); }), 20), false);
});
