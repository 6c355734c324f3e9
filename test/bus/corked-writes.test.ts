import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { corkWritesPerTick } from '../../src/bus/redis/corked-writes.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

/** Counts the socket's system-call level writes (one per `_write`, or one `_writev` for what a cork held). */
function countWrites(redis: Redis): { writes: number } {
  const stream = (redis as unknown as { stream: Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } }).stream;
  const counter = { writes: 0 };
  const w = stream._write.bind(stream);
  const wv = stream._writev.bind(stream);
  stream._write = (...a: unknown[]) => { counter.writes++; w(...a); };
  stream._writev = (...a: unknown[]) => { counter.writes++; wv(...a); };
  return counter;
}

async function tenInOneTick(redis: Redis, key: string): Promise<void> {
  await Promise.all(Array.from({ length: 10 }, (_, i) => redis.set(key, String(i))));
}

test('corkWrites: the commands of one tick leave in one socket write, in order; without it, one write each; a reconnected socket is corked too', async (t) => {
  const server = await startRedis();
  t.after(() => server.stop());
  const plain = new Redis(server.url);
  const corked = new Redis(server.url);
  t.after(() => { plain.disconnect(); corked.disconnect(); });
  corkWritesPerTick(corked);
  await Promise.all([plain.ping(), corked.ping()]);

  const plainWrites = countWrites(plain);
  await tenInOneTick(plain, 'p');
  assert.equal(plainWrites.writes, 10, 'ioredis writes each command as it is issued');

  const corkedWrites = countWrites(corked);
  await tenInOneTick(corked, 'c');
  assert.equal(corkedWrites.writes, 1, 'one write for the tick');
  // A later tick is a write of its own: nothing waits for a next command.
  assert.equal(await corked.get('c'), '9', 'applied in the order issued');
  assert.equal(corkedWrites.writes, 2);

  // ioredis makes a new socket when it reconnects: that one is corked as well.
  const before = (corked as unknown as { stream: Socket }).stream;
  corked.disconnect(true);
  await waitFor(() => corked.status === 'ready' && (corked as unknown as { stream: Socket }).stream !== before, { what: 'the reconnect' });
  const again = countWrites(corked);
  await tenInOneTick(corked, 'r');
  assert.equal(again.writes, 1);
  assert.equal(await corked.get('r'), '9');
});
