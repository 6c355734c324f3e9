import type { Redis } from 'ioredis';
import type { ReplayGuard } from '../session/replay-guard.ts';

export const REPLAY_PREFIX = 'sb:mtproto:seen:';

/**
 * Client msg_ids older than 300 s (or more than 30 s ahead) are refused by the time check, so an
 * id only needs remembering for about 330 s; 600 leaves room for clock skew between instances.
 */
export const REPLAY_TTL_S = 600;

/**
 * Seen msg_ids in the Redis that also holds the auth keys: `SET <prefix><key>:<session>:<msg_id>
 * 1 NX EX 600` per id, pipelined, so a frame replayed to any instance is recognised.
 */
export class RedisReplayGuard implements ReplayGuard {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlS: number;

  constructor(redis: Redis, prefix: string = REPLAY_PREFIX, ttlS: number = REPLAY_TTL_S) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlS = ttlS;
  }

  async firstSeen(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<boolean[]> {
    if (msgIds.length === 0) return [];
    const base = `${this.#prefix}${keyHex}:${BigInt.asUintN(64, sessionId).toString(16)}:`;
    const pipe = this.#redis.pipeline();
    for (const id of msgIds) pipe.set(base + id.toString(16), '1', 'EX', this.#ttlS, 'NX');
    const replies = await pipe.exec();
    if (replies === null || replies.length !== msgIds.length) throw new Error('replay guard: incomplete pipeline reply');
    return replies.map(([err, reply]) => {
      if (err) throw err;
      // 'OK' = we set it (first sighting); null = the key existed (seen on some instance).
      return reply === 'OK';
    });
  }
}
