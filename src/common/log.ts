import { pino } from 'pino';
import { humanLine } from './logFormat.js';

export type LogFormat = 'human' | 'json';

/**
 * Who reads the logs decides their form: a person at a terminal gets one readable line per event,
 * anything else (a pipe, a file, a log collector) JSON lines. `--json-logs` / `--pretty` or
 * IPA_LOG_FORMAT=json|human override it.
 */
export function logFormat(explicit?: LogFormat): LogFormat {
  if (explicit) return explicit;
  const env = process.env.IPA_LOG_FORMAT;
  if (env === 'json' || env === 'human') return env;
  if (['1', 'true'].includes(process.env.IPA_LOG_PRETTY ?? '')) return 'human';
  return process.stdout.isTTY ? 'human' : 'json';
}

/** The one logger. Level from IPA_LOG_LEVEL (default info). */
export function createLogger(options: { format?: LogFormat; level?: string } = {}) {
  const level = options.level ?? process.env.IPA_LOG_LEVEL ?? 'info';
  if (logFormat(options.format) === 'json') return pino({ level, base: { pid: process.pid } });
  const colors = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  // Synchronous: a line is on the terminal before the next one, and before the process exits.
  const destination = { write: (line: string) => process.stdout.write(humanLine(line, colors)) };
  return pino({ level, base: {} }, destination);
}

export type Logger = ReturnType<typeof createLogger>;

export let log: Logger = createLogger();

/** Replaces the process logger once CLI flags are known. */
export function configureLogger(options: { format?: LogFormat; level?: string }): Logger {
  log = createLogger(options);
  return log;
}
