import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandBack, retryInlineFor } from '../../src/bus/redis/retry.ts';
import { silentLogger } from '../../src/core/logger.ts';

const delivery = { maxAttempts: 5, backoffMs: 5, maxBackoffMs: 20 };

test('retryInlineFor: a step that succeeds at once runs once', async () => {
  let calls = 0;
  assert.equal(await retryInlineFor('step', async () => { calls++; return 42; }, delivery, 1_000, silentLogger), 42);
  assert.equal(calls, 1);
});

test('retryInlineFor: a failing step is retried with backoff until it succeeds', async () => {
  let calls = 0;
  const result = await retryInlineFor('step', async () => {
    calls++;
    if (calls < 3) throw new Error(`transient ${calls}`);
    return 'done';
  }, delivery, 5_000, silentLogger);
  assert.equal(result, 'done');
  assert.equal(calls, 3);
});

test('retryInlineFor: past its deadline it gives up with HandBack instead of retrying forever', async () => {
  let calls = 0;
  const startedAt = Date.now();
  await assert.rejects(retryInlineFor('step', async () => { calls++; throw new Error('down'); }, delivery, 100, silentLogger), HandBack);
  assert.ok(calls >= 2, 'retried before the deadline');
  assert.ok(Date.now() - startedAt < 1_000, 'stopped near the deadline');
});
