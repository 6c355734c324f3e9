import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { DeadLetterStream } from '../../src/bus/redis/dead-letters.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { DeadLetter } from '../../src/bus/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { message } from './harness.ts';

/** The redis driver's dead-letter store: a capped stream, read newest last. */

let redis: RedisServer;
let conn: Redis;
before(async () => {
  redis = await startRedis();
  conn = new Redis(redis.url);
});
after(async () => {
  await conn.quit();
  await redis.stop();
});

const letter = (i: number): DeadLetter => ({ reason: `failed ${i}`, stage: 'egress', connector: 'xmpp', event: message(`m${i}`), at: 1_700_000_000_000 + i });

test('dead letters are kept up to their cap, the oldest trimmed first; newest(limit) reads the newest, newest last', async () => {
  const key = `d${randomUUID().slice(0, 8)}:dead`;
  const dead = new DeadLetterStream(conn, key, silentLogger, 5);
  const letters = Array.from({ length: 8 }, (_, i) => letter(i));
  await dead.add(letters.slice(0, 3));
  await dead.add(letters.slice(3));
  assert.equal(await dead.count(), 5, 'capped');
  assert.deepEqual((await dead.newest(10)).map((l) => l.reason), ['failed 3', 'failed 4', 'failed 5', 'failed 6', 'failed 7']);
  assert.deepEqual((await dead.newest(2)).map((l) => l.reason), ['failed 6', 'failed 7']);
  assert.deepEqual(await dead.newest(0), []);
  assert.deepEqual((await dead.newest(1))[0], letters[7], 'a letter reads back whole');
});

test('an entry that does not parse is skipped, not thrown at the reader', async () => {
  const key = `d${randomUUID().slice(0, 8)}:dead`;
  const dead = new DeadLetterStream(conn, key, silentLogger, 5);
  await dead.add([letter(1)]);
  await conn.xadd(key, '*', 'l', '{not json');
  await conn.xadd(key, '*', 'other', 'field');
  await dead.add([letter(2)]);
  assert.deepEqual((await dead.newest(10)).map((l) => l.reason), ['failed 1', 'failed 2']);
});
