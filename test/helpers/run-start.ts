import { spawn } from 'node:child_process';
import { killNow, track } from './children.ts';

export interface StartRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * `switchboard start --config FILE` (src/cli.ts through tsx) as a child process, run until it
 * exits: what a user's `start` does, exit code and output included. Rejects when it has not
 * exited within `timeoutMs` (a retry loop where one error was due); SIGKILLed by PID either way.
 */
export async function runStart(configFile: string, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<StartRun> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env, SWITCHBOARD_LOG_LEVEL: 'silent', NODE_TEST_CONTEXT: '' },
  });
  track(child);
  try {
    return await new Promise<StartRun>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => reject(new Error(`start did not exit within ${timeoutMs} ms (a retry loop?):\n${stdout}\n${stderr}`)), timeoutMs);
      child.on('error', (err) => { clearTimeout(timer); reject(err); });
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    });
  } finally {
    await killNow(child);
  }
}
