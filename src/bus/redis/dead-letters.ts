import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import { MAX_DEAD_LETTERS } from '../retention.ts';
import type { DeadLetter } from '../types.ts';

/**
 * The dead-letter store: one Redis Stream, `<prefix>:dead`, one entry per letter (field `l`: the
 * letter's JSON), capped at MAX_DEAD_LETTERS (the oldest are trimmed as new ones come). A plain
 * stream rather than a queue: nobody consumes it, operators read it (docs/bus.md).
 */
export class DeadLetterStream {
  constructor(private readonly redis: Redis, private readonly key: string, private readonly logger: Logger,
    private readonly max = MAX_DEAD_LETTERS) {}

  /** Appends the letters in one round trip, trimming the stream to its cap (exactly). */
  async add(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const letter of letters) pipeline.xadd(this.key, 'MAXLEN', String(this.max), '*', 'l', JSON.stringify(letter));
    const replies = await pipeline.exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (!replies || failed) throw failed ?? new Error('dead-letter write was not executed');
  }

  /** The newest `limit` letters, newest last. An entry that does not parse is logged and skipped. */
  async newest(limit: number): Promise<DeadLetter[]> {
    if (limit <= 0) return [];
    const raw = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', limit)) as [string, string[]][];
    const out: DeadLetter[] = [];
    for (const [id, fields] of raw.reverse()) {
      const at = fields.indexOf('l');
      try {
        if (at < 0) throw new Error('no letter field');
        out.push(JSON.parse(fields[at + 1] ?? '') as DeadLetter);
      } catch {
        this.logger.error({ id }, 'unreadable dead letter skipped');
      }
    }
    return out;
  }

  count(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
