import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replayStorm } from '../../bench/presence-storm.ts';

test('a presence storm: every target gets >= 10x fewer presence updates than a forward-everything bridge, and every final state is right', async () => {
  const outcome = await replayStorm();
  assert.ok(outcome.events > 5_000 && outcome.people >= 200, 'a storm worth the name');
  for (const t of outcome.targets) {
    assert.deepEqual(t.wrongFinal, [], `${t.target}: final states`);
    assert.ok(t.checked >= 100, `${t.target}: ${t.checked} people checked`);
    const ratio = t.forwarded / t.delivered;
    assert.ok(ratio >= 10, `${t.target}: ${t.forwarded} forwarded vs ${t.delivered} delivered = ${ratio.toFixed(1)}x`);
    assert.ok(t.membershipDelivered < t.membershipForwarded);
  }
});

test('with the window off (coalesceMs 0) only no-ops are dropped, and the final states are still right', async () => {
  const outcome = await replayStorm(undefined, 0);
  for (const t of outcome.targets) {
    assert.deepEqual(t.wrongFinal, [], `${t.target}: final states`);
    assert.ok(t.delivered < t.forwarded);
  }
});
