import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** Where and on what a run happened: recorded beside its numbers, since they mean nothing without it. */
export interface RunContext {
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly redis: string;
  /** 1-minute load average at the start: other work on the machine skews every figure. */
  readonly loadAverage: number;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeRun(): RunContext {
  const redisVersion = /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? 'unknown';
  return {
    date: new Date().toISOString(),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    dirty: run('git', ['status', '--porcelain', '--untracked-files=no']).length > 0,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redisVersion,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
