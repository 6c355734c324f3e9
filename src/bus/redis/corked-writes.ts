import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** Sockets already patched (ioredis makes a new one on each reconnect). */
const CORKED = new WeakSet<Socket>();

/**
 * The fast path `corkWrites` (docs/bus.md, "Fast paths"): the commands one tick issues on the
 * bus's command connection leave in one socket write (a writev) instead of one write each.
 * ioredis writes every command the moment it is issued, and a message's path issues several in
 * one go (a publish's ingress add and append, a chat log's blocks and id-map link); each write is
 * a system call, the largest single item of the bridge's CPU profile. The bytes and their order
 * are unchanged, only the system calls merge; the cork is lifted at the end of the tick
 * (`process.nextTick`), so no command waits longer than the code already running. The auto-
 * pipelining ioredis offers would merge the same writes, but builds a Pipeline per tick that
 * copies every script defined on the connection (BullMQ defines dozens).
 */
export function corkWritesPerTick(redis: Redis): void {
  const patch = (): void => {
    const stream = (redis as unknown as { stream?: Socket }).stream;
    if (stream === undefined || CORKED.has(stream)) return;
    CORKED.add(stream);
    const write = stream.write.bind(stream);
    let corked = false;
    const uncork = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = ((...args: Parameters<Socket['write']>): boolean => {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return (write as (...a: Parameters<Socket['write']>) => boolean)(...args);
    }) as Socket['write'];
  };
  // Commands queued before the connection was up are written once it is: after 'connect'.
  redis.on('connect', patch);
  patch();
}
