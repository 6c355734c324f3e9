// Notes between instances (RedisNotes, on a real redis-server): a note reaches the other
// instances subscribed to its channel, once, and never its sender; another channel hears
// nothing; a malformed message is dropped; a note too long is refused; after close nothing more
// is heard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { RedisNotes } from '../../src/bus/redis/notes.ts';
import { busKeys } from '../../src/bus/redis/keys.ts';
import { MAX_NOTE_BYTES } from '../../src/bus/types.ts';
import { silentLogger } from '../../src/core/logger.ts';

let redis: RedisServer;
const connections: Redis[] = [];
before(async () => { redis = await startRedis(); });
after(async () => {
  for (const c of connections) c.disconnect();
  await redis?.stop();
});

function instance(id: string): RedisNotes {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  connections.push(conn);
  return new RedisNotes(redis.url, busKeys('sbnotes'), id, conn, silentLogger);
}

const settle = () => new Promise((r) => setTimeout(r, 150));

test('a note reaches the others on its channel once, never its sender; bad messages and long notes are not passed on', async () => {
  const a = instance('a');
  const b = instance('b');
  const c = instance('c');
  try {
    const heard: Record<string, string[]> = { a: [], b: [], c: [] };
    a.subscribe('x', (n) => heard['a']!.push(n));
    b.subscribe('x', (n) => heard['b']!.push(n));
    c.subscribe('y', (n) => heard['c']!.push(n));
    await settle(); // the subscriptions are in place
    await a.publish('x', 'hello');
    await settle();
    assert.deepEqual(heard, { a: [], b: ['hello'], c: [] });

    // What is not a note of ours on the channel is dropped (logged), the listener is not called.
    const raw = connections[0]!;
    await raw.publish('sbnotes:notes:x', 'not json');
    await raw.publish('sbnotes:notes:x', JSON.stringify({ from: 'z' }));
    await settle();
    assert.deepEqual(heard['b'], ['hello']);

    await assert.rejects(a.publish('x', 'x'.repeat(MAX_NOTE_BYTES + 1)), /more than/);
    await b.close();
    await a.publish('x', 'after b closed');
    await settle();
    assert.deepEqual(heard['b'], ['hello']);
  } finally {
    await a.close();
    await b.close();
    await c.close();
  }
});
