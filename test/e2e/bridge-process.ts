import { spawn, type ChildProcess } from 'node:child_process';

/** A `switchboard start` child process, as an operator runs it. */
export interface BridgeProcess {
  readonly pid: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** Everything it printed so far (banner and JSON log lines). */
  output(): string;
  /** Resolves when it exited, with its code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal by PID (no-op when it already exited). */
  signal(signal: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
// A failing test still leaves no bridge behind: everything started here is killed by PID on exit.
process.on('exit', () => {
  for (const child of live) {
    try { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

/** Kills every bridge this process started that is still running (for after() hooks). */
export async function killAllBridges(): Promise<void> {
  await Promise.all([...live].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) { live.delete(child); return; }
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* raced with its exit */ }
    await gone;
    live.delete(child);
  }));
}

/**
 * Spawns `node --import tsx src/cli.ts start --config <file>` and resolves once its banner says
 * where to connect (or rejects with its output if it exits or takes longer than timeoutMs).
 */
export async function spawnBridge(configFile: string, timeoutMs = 20_000, logLevel = 'info'): Promise<BridgeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SWITCHBOARD_LOG_LEVEL: logLevel, NODE_TEST_CONTEXT: '' },
  });
  live.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
  });

  const urls = await new Promise<{ wsUrl: string; httpUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => { fail(new Error(`bridge did not start in ${timeoutMs} ms:\n${out}`)); }, timeoutMs);
    const check = () => {
      const ws = /WebSocket: +(ws:\/\/\S+)/.exec(out);
      const http = /Health: +(http:\/\/\S+)\/healthz/.exec(out);
      if (ws?.[1] && http?.[1]) { cleanup(); resolve({ wsUrl: ws[1], httpUrl: http[1] }); }
    };
    const onExit = () => fail(new Error(`bridge exited before it started:\n${out}`));
    const cleanup = () => { clearTimeout(timer); child.stdout?.off('data', check); child.off('exit', onExit); };
    const fail = (err: Error) => {
      cleanup();
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      reject(err);
    };
    child.stdout?.on('data', check);
    child.once('exit', onExit);
    check();
  });

  return {
    pid, ...urls, exited,
    output: () => out,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) {
        try { process.kill(pid, signal); } catch { /* raced with its exit */ }
      }
    },
  };
}

/** The first match of `pattern` in what the bridge printed after offset `from`, waiting up to timeoutMs for it. */
export async function waitForOutput(bridge: BridgeProcess, pattern: RegExp, from: number, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = pattern.exec(bridge.output().slice(from));
    if (found) return found[0];
    if (Date.now() > until) throw new Error(`no ${pattern} in the output after ${timeoutMs} ms:\n${bridge.output().slice(from)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
