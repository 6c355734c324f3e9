import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishBatcher } from '../../src/bus/redis/publish-batcher.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { message } from './harness.ts';

/** The batcher under the redis driver's publish: order of writes, and what a failed write fails. */

function recorder(fail: (call: number) => boolean) {
  const written: string[][] = [];
  let calls = 0;
  const write = async (batches: CanonicalEvent[][]) => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    if (fail(calls)) throw new Error(`write ${calls} failed`);
    written.push(batches.flat().map((e) => (e.kind === 'message' ? e.text : e.kind)));
  };
  return { written, write };
}

test('calls are written in call order, one write in flight, the rest gathered behind it', async () => {
  const { written, write } = recorder(() => false);
  const batcher = new PublishBatcher(256, 0, write);
  await Promise.all(['a', 'b', 'c'].map((t) => batcher.publish([message(t)])));
  const later = [batcher.publish([message('d')]), batcher.publish([message('e')])];
  await Promise.all(later);
  assert.deepEqual(written.flat(), ['a', 'b', 'c', 'd', 'e']);
  await batcher.close();
});

test('a failed write fails its calls, the calls queued behind it and the calls made before the event loop turns; later ones go through', async () => {
  const { written, write } = recorder((n) => n === 1);
  const batcher = new PublishBatcher(256, 0, write);
  const outcome = (p: Promise<void>) => p.then(() => 'ok', (err: Error) => err.message);
  const first = outcome(batcher.publish([message('one')]));
  await new Promise((r) => setImmediate(r)); // 'one' is in flight now
  const behind = outcome(batcher.publish([message('queued behind')]));
  let sameTurn: Promise<string> | undefined;
  const failed = batcher.publish([message('x')]).catch(() => undefined);
  void failed;
  // Right when the failure is reported, a caller publishes again (as a client session would).
  await first.then(() => { sameTurn = outcome(batcher.publish([message('same turn')])); });
  assert.equal(await first, 'write 1 failed');
  assert.equal(await behind, 'write 1 failed');
  assert.equal(await sameTurn, 'write 1 failed', 'a publish made while the failure is being reported fails too');
  await new Promise((r) => setImmediate(r));
  assert.equal(await outcome(batcher.publish([message('next turn')])), 'ok');
  assert.deepEqual(written.flat(), ['next turn']);
  await batcher.close();
});

test('close() after a failed write resolves (no busy loop) and refuses new calls', async () => {
  const { write } = recorder(() => true);
  const batcher = new PublishBatcher(256, 0, write);
  const p = batcher.publish([message('doomed')]).catch((err: Error) => err.message);
  await batcher.close();
  assert.equal(await p, 'write 1 failed');
  await assert.rejects(batcher.publish([message('late')]), /closed/);
});
