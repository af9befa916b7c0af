import { Command } from 'commander';
import { configureLogger } from '../common/log.js';
import { ipaVersion } from '../common/version.js';
import { registerAdaptCommand } from './adapt.js';
import { registerDevCommand } from './dev.js';
import { registerForecastCommand } from './forecast.js';
import { registerLiveCommand } from './live.js';
import { registerOptimizeCommand } from './optimize.js';
import { registerPingCommand } from './ping.js';
import { registerProfileCommand } from './profile.js';
import { registerProfilesCommand } from './profiles.js';
import { registerSetupCommand } from './setup.js';
import { registerShellenvCommand } from './shellenv.js';
import { registerSimulateCommand } from './simulate.js';
import { registerWorkerCommand } from './worker.js';

const program = new Command('ipa')
  .description('Inference pipeline adaptation: per pipeline, the most accurate config for the cost under a latency SLA')
  .version(ipaVersion)
  .option('--pretty', 'human-readable log lines (the default when stdout is a terminal)')
  .option('--json-logs', 'JSON log lines (the default when stdout is not a terminal)')
  .option('--log-level <level>', 'trace, debug, info, warn, error', process.env.IPA_LOG_LEVEL ?? 'info')
  .showHelpAfterError()
  .hook('preAction', (cmd) => {
    const { pretty, jsonLogs, logLevel } = cmd.optsWithGlobals() as { pretty?: boolean; jsonLogs?: boolean; logLevel: string };
    const format = jsonLogs ? 'json' : pretty ? 'human' : undefined;
    configureLogger({ ...(format ? { format } : {}), level: logLevel });
  });

registerDevCommand(program);
registerWorkerCommand(program);
registerOptimizeCommand(program);
registerAdaptCommand(program);
registerForecastCommand(program);
registerLiveCommand(program);
registerPingCommand(program);
registerProfileCommand(program);
registerProfilesCommand(program);
registerSetupCommand(program);
registerShellenvCommand(program);
registerSimulateCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Temporal wraps the useful message (an update validator's, an activity's) in causes.
  const messages: string[] = [];
  for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) if (e.message) messages.push(e.message);
  process.stderr.write(`ipa: ${messages.join(': ')}\n`);
  process.exitCode = 1;
}
