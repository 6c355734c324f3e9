import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentMessages } from '../../src/mapper/recent-messages.ts';
import { WS, event } from './harness.ts';

test('the recent-message cache is bounded (oldest first), edits and retractions apply only when their batch commits', () => {
  const cache = new RecentMessages(3); // messages and edits together
  const [a, b, c] = ['a', 'b', 'c'].map((text) => event('message', { text }, WS, 'demo-bob'));
  const batch = cache.batch();
  for (const m of [a!, b!]) batch.observe(m);
  batch.commit();
  assert.equal(cache.get(a!.id)?.text, 'a');

  const edit = event('edit', { target: a!.id, text: 'a2' }, WS, 'demo-bob');
  const refused = cache.batch();
  refused.observe(edit);
  assert.equal(refused.get(a!.id)?.text, 'a2', 'the batch sees its own edit');
  assert.equal(cache.get(a!.id)?.text, 'a', 'the cache does not, until commit');
  const retried = cache.batch();
  retried.observe(edit);
  assert.equal(retried.correctedBy(edit.id, a!.id), 'a');
  retried.commit();
  assert.equal(cache.get(a!.id)?.text, 'a2');
  assert.equal(cache.batch().correctedBy(edit.id, a!.id), 'a', 'what the edit replaced stays known');

  const retract = cache.batch();
  retract.observe(event('retract', { target: b!.id }, WS, 'demo-bob'));
  retract.commit();
  assert.equal(cache.get(b!.id), undefined);

  const more = cache.batch();
  more.observe(c!);
  more.commit();
  assert.equal(cache.get(a!.id), undefined, 'the oldest (a) went');
  assert.equal(cache.batch().correctedBy(edit.id, a!.id), 'a', 'the edit is younger: still known');
  assert.equal(cache.get(c!.id)?.text, 'c');

  const long = event('message', { text: '😀'.repeat(400) }, WS, 'demo-bob');
  cache.batch().observe(long);
  const kept = cache.get(long.id)?.text ?? '';
  assert.ok(kept.length <= 512 && !/[\ud800-\udbff]$/.test(kept), 'a long text is kept as its start, never half a pair');
});
