import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalPublishes } from '../../src/bus/redis/local-publishes.ts';
import { message } from './harness.ts';

test('LocalPublishes: take hands the events back once; past its bound the oldest jobs are dropped first', () => {
  const local = new LocalPublishes(5);
  const a = [message('a1'), message('a2')];
  const b = [message('b1'), message('b2')];
  const c = [message('c1'), message('c2')];
  local.remember('a', a);
  local.remember('b', b);
  assert.equal(local.take('a'), a);
  assert.equal(local.take('a'), undefined, 'taken once');
  local.remember('a', a);
  local.remember('c', c); // 6 events > 5: the oldest (b) goes
  assert.equal(local.take('b'), undefined);
  assert.equal(local.take('a'), a);
  assert.equal(local.take('c'), c);
});
