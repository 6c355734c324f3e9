import type { ChildProcess } from 'node:child_process';

/**
 * The servers tests start (redis-server, prosody, the S3 server) as child processes, and their
 * one guarantee: a test that throws, or a runner that exits early, still stops them, by PID, when
 * this process exits.
 */
const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of live) {
    try { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

/** Stops `child` when this process exits, unless it exited before (then it is forgotten by itself). */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** SIGKILL by PID and wait for the exit (nothing to do when it is gone already). */
export async function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    await exited;
  }
  live.delete(child);
}

/**
 * Stops a server the way it is asked to at the end of its life: SIGCONT (a SIGSTOPped process cannot
 * handle SIGTERM), SIGTERM (Prosody and Erlang shut down cleanly on it), and SIGKILL if it has not
 * exited `graceMs` later; resolves once it has exited (at once when it is gone already).
 */
export async function stopGracefully(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
  try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((r) => {
    timer = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } r(); }, graceMs);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}
