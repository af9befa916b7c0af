import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import { log } from '../common/log.js';

const pinoLevel: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's logger interface over pino, for the runtime and the workflow bundler. */
export const sdkLogger = new DefaultLogger('WARN', (entry) => log[pinoLevel[entry.level]]({ sdk: true, ...entry.meta }, entry.message));

let installed = false;

/**
 * Routes the SDK's logs into pino and leaves signal handling to ipa, which must stop the worker
 * before the dev server it may have started.
 */
export function installRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: sdkLogger,
    shutdownSignals: [],
  });
}
