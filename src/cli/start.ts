import { ConfigError, formatIssue } from '../config/errors.ts';
import type { App } from '../app.ts';
import { configuredDemoTokens } from '../connectors/websocket/demo-tokens.ts';
import { loadAndVerify, printConfigError } from './check.ts';
import { ExitCode, configPath, labelled, parseOptions, type Io } from './args.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const START_OPTIONS = { config: { type: 'string', short: 'c' } } as const;

export const START_HELP = `Usage: switchboard start [--config FILE]

Starts Switchboard and prints where to connect. SIGTERM or SIGINT (Ctrl-C) shut it down
gracefully: new connections are refused, in-flight work drains (shutdown.drainTimeoutMs), then it
exits 0. A second signal exits at once with code 130. SIGHUP reloads, without a restart,
bridges/ (rooms linked, unlinked, moved), config.yaml's WebSocket tokens and MTProto accounts
(new, changed, revoked) and mappings/: all checked as a start checks them and put in force together, or, with
any problem, refused with file:line:field while what is in force stays. Other changed settings
of config.yaml are named as needing a restart.`;

/** Extra time over drainTimeoutMs before a stuck shutdown is cut short: the process must always exit. */
const EXIT_GRACE_MS = 10_000;

function banner(app: App, io: Io, config: Awaited<ReturnType<typeof loadAndVerify>>): void {
  const { config: c } = config;
  io.out('');
  io.out(`Switchboard is running (instance ${app.instanceId}, bus: ${app.bus.driver}${app.bus.durable ? '' : ' - NOT durable'})`);
  const rows: { label: string; value: string }[] = [
    ...app.listings(),
    { label: 'Health', value: `${app.httpUrl}/healthz` },
    ...(c.http.metrics ? [{ label: 'Metrics', value: `${app.httpUrl}/metrics` }] : []),
    { label: 'Rooms', value: config.bridges.map((b) => b.room).join(', ') || '(none: add a file to bridges/)' },
  ];
  for (const line of labelled(rows)) io.out(`  ${line}`);
  const demos = configuredDemoTokens(c);
  if (demos.length > 0) {
    io.out('');
    io.out('  DEMO tokens are configured. They are published in the README, so anyone can use them:');
    for (const demo of demos) io.out(`    ${demo.name.padEnd(12)} ${demo.token}`);
    io.out('  Delete them from websocket.tokens before exposing Switchboard beyond this machine.');
  } else if (c.websocket.enabled && c.websocket.tokens.length === 0) {
    io.out('');
    io.out('  No tokens configured: nobody can connect yet. Make one with');
    io.out('    npx switchboard token --name alice');
    io.out('  and paste its entry under websocket.tokens.');
  }
  io.out('');
  io.out('Stop with Ctrl-C or SIGTERM: it drains in-flight work before exiting.');
}

export async function startCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, START_OPTIONS);
  if (opts['help']) { io.out(START_HELP); return ExitCode.Ok; }

  let loaded: Awaited<ReturnType<typeof loadAndVerify>>;
  try {
    loaded = await loadAndVerify(configPath(opts['config']));
  } catch (err) {
    if (err instanceof ConfigError) { printConfigError(err, io); return ExitCode.ConfigInvalid; }
    throw err;
  }

  let app: App;
  try {
    // Imported here, not at the top: `check`, `token` and `keygen` share this CLI and need none of it.
    const { startApp } = await import('../app.ts');
    app = await startApp(loaded);
  } catch (err) {
    if (err instanceof ConfigError) { printConfigError(err, io); return ExitCode.ConfigInvalid; }
    io.err(`switchboard could not start: ${(err as Error).message}`);
    return ExitCode.Failed;
  }
  banner(app, io, loaded);

  // Stays pending while running; resolves with the exit code once a signal has shut it down.
  return await new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.err(`${signal} again: exiting without waiting for the drain`);
        process.exit(130);
      }
      stopping = true;
      app.logger.info({ signal }, 'signal received');
      const force = setTimeout(() => {
        io.err('shutdown did not finish in time: exiting');
        process.exit(ExitCode.Failed);
      }, loaded.config.shutdown.drainTimeoutMs + EXIT_GRACE_MS);
      force.unref();
      app.close().then(
        () => resolve(ExitCode.Ok),
        (err: unknown) => { app.logger.error({ err }, 'shutdown failed'); resolve(ExitCode.Failed); },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP: config.yaml, bridges/ and mappings/ again, without a restart: checked whole and put
    // in force together, or refused (what is in force stays).
    process.on('SIGHUP', () => {
      void app.reload().then((outcome) => {
        if (!outcome.ok) io.err(`reload refused (what is in force stays):\n${outcome.issues.map(formatIssue).join('\n')}`);
        else if (outcome.needsRestart.length > 0) io.err(`reloaded; these config.yaml settings need a restart to change: ${outcome.needsRestart.join(', ')}`);
      });
    });
  });
}
