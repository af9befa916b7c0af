import { pino } from 'pino';

/**
 * The one logger: JSON lines by default (for log collectors), human-readable with
 * IPA_LOG_PRETTY=1 or `--pretty`. Level from IPA_LOG_LEVEL (default info).
 */
export function createLogger(options: { pretty?: boolean; level?: string } = {}) {
  const pretty = options.pretty ?? ['1', 'true'].includes(process.env.IPA_LOG_PRETTY ?? '');
  return pino({
    level: options.level ?? process.env.IPA_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } } }
      : {}),
  });
}

export type Logger = ReturnType<typeof createLogger>;

export let log: Logger = createLogger();

/** Replaces the process logger once CLI flags are known. */
export function configureLogger(options: { pretty?: boolean; level?: string }): Logger {
  log = createLogger(options);
  return log;
}
