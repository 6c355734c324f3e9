import type { ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = new Socket();
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
    s.connect(port, '127.0.0.1');
  });
}

export interface ServerStart {
  /** Its name in failure messages ("prosody", "ejabberd"). */
  readonly name: string;
  readonly proc: ChildProcess;
  /** What it logged since this start (its log file from the start's offset). */
  readonly log: () => string;
  /** Lines its log shows once each listener is up. */
  readonly wanted: readonly string[];
  /** What it says when a listener could not be opened (it may keep running without it), in `refusedIn()`. */
  readonly refused: RegExp;
  readonly refusedIn: () => string;
  /** Ports that must accept connections. */
  readonly ports: readonly number[];
  readonly timeoutMs: number;
  /** Stops it (a start that failed leaves nothing running). */
  readonly stop: () => Promise<void>;
  /** The log's and output's tails, for the failure message. */
  readonly tails: () => string;
}

/**
 * Waits until a throwaway server started by a test serves: every wanted log line is there and every
 * port accepts. Fails (having stopped it) when it exits, reports a listener it could not open (a
 * server that keeps running without a taken port would make the test talk to someone else), or is
 * not ready in time; the message carries its log's tail.
 */
export async function untilServing(o: ServerStart): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const fail = (why: string): Error => new Error(`${o.name} did not start: ${why}\n${o.tails()}`);
  for (;;) {
    if (o.proc.exitCode !== null || o.proc.signalCode !== null) throw fail(`it exited (${o.proc.exitCode ?? o.proc.signalCode})`);
    if (o.refused.test(o.refusedIn())) {
      await o.stop();
      throw fail('a port could not be opened, or a part of it did not start');
    }
    const log = o.log();
    if (o.wanted.every((w) => log.includes(w)) && (await Promise.all(o.ports.map(portAccepts))).every(Boolean)) return;
    if (Date.now() > deadline) {
      await o.stop();
      throw fail(`not ready within ${Math.round(o.timeoutMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
