import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { loadConfig } from '../config/load.ts';
import { silentLogger } from '../core/logger.ts';
import { busKeys } from '../bus/redis/keys.ts';
import { RedisNotes } from '../bus/redis/notes.ts';
import { safeUrl } from '../bus/redis/redis-bus.ts';
import { RELOAD_ANSWERS, RELOAD_REQUESTS, ReloadAnswerSchema, type ReloadAnswer } from '../app/cluster-reload.ts';
import { parseJsonAs } from '../core/json.ts';
import { ExitCode, UsageError, configPath, parseOptions, type Io } from './args.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const RELOAD_OPTIONS = { config: { type: 'string', short: 'c' }, 'wait-ms': { type: 'string' } } as const;

const DEFAULT_WAIT_MS = 3_000;
const MAX_WAIT_MS = 60_000;

export const RELOAD_HELP = `Usage: switchboard reload [--config FILE] [--wait-ms MS]

Asks every running instance on the Redis bus of this config.yaml (bus.redis.url and prefix) to
reload, as its SIGHUP would: each reads its own config.yaml, bridges/ and mappings/ again and puts
them in force together, or refuses all of it. Prints each instance's answer heard within --wait-ms
(default ${DEFAULT_WAIT_MS}): reloaded (rooms, settings that need a restart) or refused (why).
Exit 0 when every answer is "reloaded", 1 when an instance refused, 3 when none answered. On the
memory driver there is one process: send it SIGHUP (kill -HUP <pid>, systemctl reload).`;

function waitMsOf(value: unknown): number {
  if (value === undefined) return DEFAULT_WAIT_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 100 || ms > MAX_WAIT_MS) throw new UsageError(`--wait-ms: a whole number of milliseconds from 100 to ${MAX_WAIT_MS}`);
  return ms;
}

function linesOf(answer: ReloadAnswer): string[] {
  if (answer.ok) {
    const restart = answer.needsRestart !== undefined ? `; these config.yaml settings need a restart to change: ${answer.needsRestart.join(', ')}` : '';
    return [`${answer.instance}: reloaded, ${answer.rooms ?? 0} linked rooms${restart}`];
  }
  return [
    `${answer.instance}: refused (what is in force there stays):`,
    ...(answer.issues ?? []).map((line) => `  ${line}`),
    ...(answer.moreIssues !== undefined ? [`  ... and ${answer.moreIssues} more`] : []),
  ];
}

export async function reloadCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, RELOAD_OPTIONS);
  if (opts['help']) { io.out(RELOAD_HELP); return ExitCode.Ok; }
  const waitMs = waitMsOf(opts['wait-ms']);
  const loaded = await loadConfig(configPath(opts['config']));
  const { bus } = loaded.config;
  if (bus.driver !== 'redis') {
    io.err(`bus.driver is memory in ${loaded.configFile}: one process, no bus to ask; send it SIGHUP (kill -HUP <pid>, or systemctl reload)`);
    return ExitCode.Failed;
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(bus.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', () => { /* reported by the failed command */ });
  const asker = `reload-${hostname()}-${process.pid}`;
  const notes = new RedisNotes(bus.redis.url, busKeys(bus.redis.prefix), asker, redis, silentLogger);
  const id = randomBytes(12).toString('base64url');
  const answers = new Map<string, ReloadAnswer>();
  try {
    try {
      await redis.connect();
    } catch (err) {
      io.err(`could not reach Redis at ${safeUrl(bus.redis.url)}: ${(err as Error).message}`);
      return ExitCode.Failed;
    }
    notes.subscribe(RELOAD_ANSWERS, (raw) => {
      const answer = parseJsonAs(ReloadAnswerSchema, raw);
      // Another asker's answers, or a note that is no answer: not ours to print.
      if (answer === undefined || answer.id !== id || answers.has(answer.instance)) return;
      answers.set(answer.instance, answer);
      for (const line of linesOf(answer)) (answer.ok ? io.out : io.err)(line);
    });
    await notes.listening(RELOAD_ANSWERS);
    await notes.publish(RELOAD_REQUESTS, JSON.stringify({ id, by: `switchboard reload on ${hostname()}` }));
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  } finally {
    await notes.close();
    redis.disconnect();
  }
  if (answers.size === 0) {
    io.err(`no instance answered within ${waitMs} ms: none runs on ${safeUrl(bus.redis.url)} with prefix "${bus.redis.prefix}" (or none is of a version that takes reload requests)`);
    return ExitCode.Failed;
  }
  const refused = [...answers.values()].filter((a) => !a.ok).length;
  io.out(`${answers.size} instance${answers.size === 1 ? '' : 's'} answered: ${answers.size - refused} reloaded, ${refused} refused`);
  return refused > 0 ? ExitCode.ConfigInvalid : ExitCode.Ok;
}
