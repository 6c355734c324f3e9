import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes of every command (README "Exit codes"). */
export const ExitCode = {
  Ok: 0,
  /** The configuration (or a file it names) is invalid; every problem was printed as file:line: field: message. */
  ConfigInvalid: 1,
  /** Unknown command or option, missing argument. */
  Usage: 2,
  /** Start failed at runtime: port taken, Redis unreachable, a key file unwritable... */
  Failed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Output sinks, so tests and the commands don't reach for process.stdout directly. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => { process.stdout.write(`${line}\n`); },
  err: (line) => { process.stderr.write(`${line}\n`); },
};

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs in strict mode; its errors become UsageError (exit 2). */
export function parseOptions<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** --config, else $SWITCHBOARD_CONFIG, else ./config.yaml. */
export function configPath(value: unknown): string {
  return typeof value === 'string' ? value : process.env['SWITCHBOARD_CONFIG'] ?? 'config.yaml';
}

/** "Label:" then the value, the values in one column at least one space after the longest label (12 columns at least). */
export function labelled(rows: readonly { label: string; value: string }[], minWidth = 12): string[] {
  const width = Math.max(minWidth, ...rows.map((r) => r.label.length + 2));
  return rows.map(({ label, value }) => `${`${label}:`.padEnd(width)}${value}`);
}
