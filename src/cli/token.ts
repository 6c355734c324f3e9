import { stringify } from 'yaml';
import { TokenSchema } from '../config/schema.ts';
import { generateToken, hashToken } from '../connectors/websocket/tokens.ts';
import { ExitCode, UsageError, parseOptions, type Io } from './args.ts';

export const TOKEN_HELP = `Usage: switchboard token --name NAME [--scope client|bot] [--rooms ROOM,ROOM] [--display-name TEXT]

Makes a new access token for a WebSocket client or bot. Prints the token ONCE (it is not stored
anywhere) and the entry with its SHA-256 hash to paste under websocket.tokens in config.yaml.
  --scope   client (default): joins rooms and talks; bot: also reads the canonical stream
  --rooms   canonical rooms it may use (default: all, '*')`;

export async function tokenCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, {
    name: { type: 'string', short: 'n' },
    scope: { type: 'string', short: 's' },
    rooms: { type: 'string', short: 'r' },
    'display-name': { type: 'string' },
  });
  if (opts['help']) { io.out(TOKEN_HELP); return ExitCode.Ok; }
  if (typeof opts['name'] !== 'string') throw new UsageError('--name is required');
  const token = generateToken();
  const rooms = typeof opts['rooms'] === 'string' ? opts['rooms'].split(',').map((r) => r.trim()).filter((r) => r.length > 0) : ['*'];
  // Validated with the same schema config.yaml is, so the snippet always pastes cleanly.
  const entry = TokenSchema.safeParse({
    name: opts['name'],
    hash: hashToken(token),
    scope: opts['scope'] ?? 'client',
    rooms,
    ...(typeof opts['display-name'] === 'string' ? { displayName: opts['display-name'] } : {}),
  });
  if (!entry.success) {
    const issue = entry.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? 'name')}: ${issue?.message ?? 'invalid'}`);
  }
  io.out(`Token for "${entry.data.name}" (shown only now: give it to the client, it is not stored anywhere):`);
  io.out('');
  io.out(`  ${token}`);
  io.out('');
  io.out('Add this under websocket.tokens in config.yaml, then restart (or run `switchboard check`):');
  io.out('');
  for (const line of stringify([entry.data], { flowCollectionPadding: false }).trimEnd().split('\n')) io.out(`    ${line}`);
  return ExitCode.Ok;
}
