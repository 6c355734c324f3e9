import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (pino). `SWITCHBOARD_LOG_LEVEL` overrides the level; tests default to silent. */
export function createLogger(level?: string): Logger {
  const chosen = level ?? process.env['SWITCHBOARD_LOG_LEVEL'] ?? (process.env['NODE_TEST_CONTEXT'] ? 'silent' : 'info');
  return pino({ level: chosen, base: { app: 'switchboard' } });
}

/** A logger that writes nothing: for unit tests and library use without a sink. */
export const silentLogger: Logger = pino({ level: 'silent' });
