import { stringify } from 'yaml';
import { MtprotoAccountSchema, TokenSchema } from '../config/schema.ts';
import { generateToken, hashToken } from '../connectors/websocket/tokens.ts';
import { generateBotToken, hashBotToken } from '../connectors/mtproto/chat/bot-tokens.ts';
import { ExitCode, UsageError, parseOptions, type Io } from './args.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const TOKEN_OPTIONS = {
  name: { type: 'string', short: 'n' },
  scope: { type: 'string', short: 's' },
  rooms: { type: 'string', short: 'r' },
  'display-name': { type: 'string' },
  moderator: { type: 'boolean' },
  'mtproto-bot': { type: 'string' },
} as const;

export const TOKEN_HELP = `Usage: switchboard token --name NAME [--scope client|bot] [--rooms ROOM,ROOM] [--display-name TEXT] [--moderator]
       switchboard token --mtproto-bot ID --name NAME [--rooms ROOM,ROOM] [--display-name TEXT]

Makes a new access token for a WebSocket client or bot. Prints the token ONCE (it is not stored
anywhere) and the entry with its SHA-256 hash to paste under websocket.tokens in config.yaml.
  --scope   client (default): joins rooms and talks; bot: also reads the canonical stream
  --rooms   canonical rooms it may use (default: all, '*')
  --moderator  may remove anyone's message and set the topic in those rooms, on every network (anti-spam bots, admins)

With --mtproto-bot ID: a bot account of the MTProto server instead (user id ID, below 2^39):
the token, shaped like Telegram's "ID:secret", is what the bot's client passes to
auth.importBotAuthorization (gramjs: client.start({ botAuthToken })); the entry goes under
mtproto.accounts. NAME becomes its username when it is one (5-32 letters, digits, _), and its
first name unless --display-name gives one.`;

function roomsOf(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((r) => r.trim()).filter((r) => r.length > 0) : ['*'];
}

function mtprotoBotToken(opts: Record<string, unknown>, io: Io): ExitCode {
  const raw = String(opts['mtproto-bot']);
  if (!/^\d{1,12}$/.test(raw)) throw new UsageError('--mtproto-bot: a numeric user id');
  const name = String(opts['name']);
  const display = typeof opts['display-name'] === 'string' ? opts['display-name'] : name;
  const token = generateBotToken(Number(raw));
  const entry = MtprotoAccountSchema.safeParse({
    id: Number(raw), bot: true, firstName: display,
    ...(/^[A-Za-z]\w{4,31}$/.test(name) ? { username: name } : {}),
    tokenHash: hashBotToken(token), rooms: roomsOf(opts['rooms']),
  });
  if (!entry.success) {
    const issue = entry.error.issues[0];
    const field = String(issue?.path[0] ?? 'name');
    throw new UsageError(`--${field === 'id' ? 'mtproto-bot' : field === 'firstName' ? 'display-name' : field}: ${issue?.message ?? 'invalid'}`);
  }
  io.out(`MTProto bot token for user ${raw} (shown only now: give it to the bot, it is not stored anywhere):`);
  io.out('');
  io.out(`  ${token}`);
  io.out('');
  io.out('Add this under mtproto.accounts in config.yaml, then `kill -HUP` the running bridge (or restart it; `switchboard check` checks it first):');
  io.out('');
  for (const line of stringify([entry.data], { flowCollectionPadding: false }).trimEnd().split('\n')) io.out(`    ${line}`);
  return ExitCode.Ok;
}

export async function tokenCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, TOKEN_OPTIONS);
  if (opts['help']) { io.out(TOKEN_HELP); return ExitCode.Ok; }
  if (typeof opts['name'] !== 'string') throw new UsageError('--name is required');
  if (opts['mtproto-bot'] !== undefined) {
    if (opts['scope'] !== undefined) throw new UsageError('--scope is for WebSocket tokens, not --mtproto-bot');
    if (opts['moderator'] !== undefined) throw new UsageError('--moderator is for WebSocket tokens, not --mtproto-bot');
    return mtprotoBotToken(opts, io);
  }
  const token = generateToken();
  const rooms = roomsOf(opts['rooms']);
  // Validated with the same schema config.yaml is, so the snippet always pastes cleanly.
  const entry = TokenSchema.safeParse({
    name: opts['name'],
    hash: hashToken(token),
    scope: opts['scope'] ?? 'client',
    rooms,
    ...(typeof opts['display-name'] === 'string' ? { displayName: opts['display-name'] } : {}),
    ...(opts['moderator'] === true ? { moderator: true } : {}),
  });
  if (!entry.success) {
    const issue = entry.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? 'name')}: ${issue?.message ?? 'invalid'}`);
  }
  io.out(`Token for "${entry.data.name}" (shown only now: give it to the client, it is not stored anywhere):`);
  io.out('');
  io.out(`  ${token}`);
  io.out('');
  io.out('Add this under websocket.tokens in config.yaml, then `kill -HUP` the running bridge (or restart it; `switchboard check` checks it first):');
  io.out('');
  // `moderator: false` is the default: printed only when it is true.
  const { moderator, ...plain } = entry.data;
  for (const line of stringify([moderator ? entry.data : plain], { flowCollectionPadding: false }).trimEnd().split('\n')) io.out(`    ${line}`);
  return ExitCode.Ok;
}
