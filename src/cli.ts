import { pathToFileURL } from 'node:url';
import { ExitCode, UsageError, processIo, type Io } from './cli/args.ts';
import { ConfigError, formatIssue } from './config/errors.ts';
import { startCommand, START_HELP, START_OPTIONS } from './cli/start.ts';
import { checkCommand, CHECK_HELP, CHECK_OPTIONS } from './cli/check.ts';
import { tokenCommand, TOKEN_HELP, TOKEN_OPTIONS } from './cli/token.ts';
import { keygenCommand, KEYGEN_HELP, KEYGEN_OPTIONS } from './cli/keygen.ts';
import { mtprotoCodeCommand, MTPROTO_CODE_HELP, MTPROTO_CODE_OPTIONS } from './cli/mtproto-code.ts';
import { mtprotoKeyCommand, MTPROTO_KEY_HELP, MTPROTO_KEY_OPTIONS } from './cli/mtproto-key.ts';
import { reloadCommand, RELOAD_HELP, RELOAD_OPTIONS } from './cli/reload.ts';

export const HELP = `Switchboard: a multi-protocol chat bridge (WebSocket, XMPP, MTProto on one canonical bus).

Usage: switchboard <command> [options]

Commands:
  start   [--config FILE]      run the bridge; prints where to connect
  check   [--config FILE]      validate the config, bridges/, mappings/ and keys; starts nothing
  reload  [--config FILE] [--wait-ms MS]
                               every instance on this Redis bus reloads its files (as SIGHUP); prints each answer
  token   --name NAME [--scope client|bot] [--rooms a,b] [--display-name TEXT] [--moderator]
                               make an access token; prints it once and its config entry
  token   --mtproto-bot ID --name NAME [--rooms a,b] [--display-name TEXT]
                               make an MTProto bot token; prints it once and its account entry
  keygen  [--out FILE] [--kek KEKFILE] [--force]
                               make the MTProto server RSA key and the KEK; prints what clients pin
  keygen  --kek-only [--out FILE] [--kek KEKFILE]
                               make only the KEK (default: beside FILE), for a key that predates it
  mtproto-code --phone NUMBER [--config FILE]
                               show the login code waiting for a person's MTProto login
  mtproto-key [--config FILE | --key PEMFILE]
                               print the server key's fingerprint, modulus, exponent and PEM for clients

Short forms: -c --config, -n --name, -s --scope, -r --rooms, -o --out, -p --phone, -k --key, -h --help.
--config defaults to $SWITCHBOARD_CONFIG, else ./config.yaml. \`switchboard <command> --help\` for more.

Exit codes:
  0  success (start: stopped by SIGTERM/SIGINT after draining)
  1  invalid configuration: every problem printed as file:line: field: message (reload: an instance refused)
  2  usage error: unknown command or option, missing argument
  3  runtime failure: could not start (port in use, Redis unreachable), key file exists, no instance answered a reload, ...
  130  start: a second SIGINT/SIGTERM cut the drain short

Environment: SWITCHBOARD_CONFIG (config path), SWITCHBOARD_LOG_LEVEL (overrides log.level),
and any \${VAR} the config refers to.`;

/** Every command: what runs it, its --help text, and the options it parses (besides --help). */
export const COMMANDS: Record<string, {
  run: (args: readonly string[], io: Io) => Promise<ExitCode>;
  help: string;
  options: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string }>>;
}> = {
  start: { run: startCommand, help: START_HELP, options: START_OPTIONS },
  check: { run: checkCommand, help: CHECK_HELP, options: CHECK_OPTIONS },
  reload: { run: reloadCommand, help: RELOAD_HELP, options: RELOAD_OPTIONS },
  token: { run: tokenCommand, help: TOKEN_HELP, options: TOKEN_OPTIONS },
  keygen: { run: keygenCommand, help: KEYGEN_HELP, options: KEYGEN_OPTIONS },
  'mtproto-code': { run: mtprotoCodeCommand, help: MTPROTO_CODE_HELP, options: MTPROTO_CODE_OPTIONS },
  'mtproto-key': { run: mtprotoKeyCommand, help: MTPROTO_KEY_HELP, options: MTPROTO_KEY_OPTIONS },
};

export async function main(argv: readonly string[], io: Io = processIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(HELP);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  // Own keys only: "constructor" or "toString" is an unknown command, not Object.prototype's.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`unknown command "${name}"\n\n${HELP}`);
    return ExitCode.Usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${name}: ${err.message}\n\n${command.help}`);
      return ExitCode.Usage;
    }
    // Any command that reads the config (a missing file, a bad field): exit 1, each problem as
    // file:line: field: message, no stack (check and start print their own summary too).
    if (err instanceof ConfigError) {
      for (const issue of err.issues) io.err(formatIssue(issue));
      return ExitCode.ConfigInvalid;
    }
    io.err(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    return ExitCode.Failed;
  }
}

// Run when executed (node --import tsx src/cli.ts, or bin/switchboard.mjs), not when imported by tests.
// `switchboard check | head`: a reader that stops reading is not an error of ours.
const quietOnEpipe = (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; };
if ((process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) || process.env['SWITCHBOARD_CLI_MAIN'] === '1') {
  process.stdout.on('error', quietOnEpipe);
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // A started bridge has closed everything by now; exit so no stray timer keeps the process alive.
    if (process.argv[2] === 'start') process.exit(code);
  }, (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(ExitCode.Failed);
  });
}
