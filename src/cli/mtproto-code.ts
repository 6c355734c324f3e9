import { loadConfig, resolveFromConfig, type LoadedConfig } from '../config/load.ts';
import { phoneDigits } from '../config/schema.ts';
import { codeKey, parsePendingCode, type PendingCode } from '../connectors/mtproto/chat/login-codes.ts';
import { chatKey, STATE_NAMESPACE } from '../connectors/mtproto/chat/state-namespace.ts';
import { readStateFileKey } from '../connectors/mtproto/store/state-file-reader.ts';
import { ExitCode, UsageError, configPath, parseOptions, type Io } from './args.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const MTPROTO_CODE_OPTIONS = { phone: { type: 'string', short: 'p' }, config: { type: 'string', short: 'c' } } as const;

export const MTPROTO_CODE_HELP = `Usage: switchboard mtproto-code --phone NUMBER [--config FILE]

Shows the login code waiting for a person's MTProto login (their client called auth.sendCode),
so the admin can pass it on out of band. Reads the running bridge's state (Redis, or the memory
driver's state file, read only) and changes nothing. Exit 0 with the code, 3 when none is waiting.`;

/** The same key in Redis (src/bus/redis/services.ts: `<prefix>:state:<namespace>:<key>`). */
async function fromRedis(loaded: LoadedConfig, key: string): Promise<string | undefined> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(loaded.config.bus.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', () => { /* reported by the failed command */ });
  try {
    await redis.connect();
    return (await redis.get(`${loaded.config.bus.redis.prefix}:state:${STATE_NAMESPACE}:${key}`)) ?? undefined;
  } finally {
    redis.disconnect();
  }
}

export async function pendingLoginCode(loaded: LoadedConfig, phone: string, now = Date.now()): Promise<PendingCode | undefined> {
  const key = chatKey(codeKey(phoneDigits(phone)));
  const raw = loaded.config.bus.driver === 'redis'
    ? await fromRedis(loaded, key)
    : await readStateFileKey(resolveFromConfig(loaded, loaded.config.bus.stateFile), `${STATE_NAMESPACE}:${key}`, now);
  const code = parsePendingCode(raw);
  return code !== undefined && code.expiresAt > now ? code : undefined;
}

export async function mtprotoCodeCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, MTPROTO_CODE_OPTIONS);
  if (opts['help']) { io.out(MTPROTO_CODE_HELP); return ExitCode.Ok; }
  if (typeof opts['phone'] !== 'string' || phoneDigits(opts['phone']) === '') throw new UsageError('--phone is required (the number the person logs in with)');
  const loaded = await loadConfig(configPath(opts['config']));
  const digits = phoneDigits(opts['phone']);
  const account = loaded.config.mtproto.accounts.find((a) => a.phone !== undefined && phoneDigits(a.phone) === digits);
  if (account === undefined) {
    io.err(`no MTProto account has the phone number ${opts['phone']} (mtproto.accounts in ${loaded.configFile})`);
    return ExitCode.Failed;
  }
  const code = await pendingLoginCode(loaded, digits);
  if (code === undefined) {
    io.err(`no login code is waiting for ${opts['phone']}: the person's client asks for one (auth.sendCode) when they log in`);
    return ExitCode.Failed;
  }
  const seconds = Math.max(0, Math.round((code.expiresAt - Date.now()) / 1000));
  io.out(`Login code for ${account.firstName} (user ${account.id}, ${opts['phone']}): ${code.code}`);
  io.out(`valid for ${seconds} more seconds, once; pass it on through a channel you trust.`);
  return ExitCode.Ok;
}
