import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killNow, track } from './children.ts';
import { Socket } from 'node:net';
import { freePort } from './ports.ts';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Kills it (-9) and, `downMs` later, starts it again on the same port and data dir (its AOF: what was synced stays). */
  crashAndRestart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}


function requireRedisBinary(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('redis-server is not installed: install it with `apt-get install redis-server` (npm test does this itself when run as root)');
  }
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => { s.destroy(); resolve(false); });
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on 127.0.0.1:${port} in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a real, throwaway redis-server on a free loopback port with its own data dir (AOF on). */
export async function startRedis(): Promise<RedisServer> {
  requireRedisBinary();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--protected-mode', 'yes',
      '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      await waitForPort(port, 10_000);
    } catch (err) {
      await killNow(child);
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
    return child;
  };
  let child = await launch();
  const server = {
    port, pid: child.pid ?? -1, url: `redis://127.0.0.1:${port}`,
    async crashAndRestart(downMs: number) {
      await killNow(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = await launch();
      server.pid = child.pid ?? -1;
    },
    async stop() {
      await killNow(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
