import type { Command } from 'commander';
import { findPrometheus, prometheusVersion } from '../setup/prometheus.js';
import { findTemporalCli, findTemporalTestServer, temporalCliVersion } from '../temporal/cliBinary.js';

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      'find or install the tools ipa runs locally (Temporal CLI and time-skipping test server, Prometheus) and print where they are',
    )
    .action(async () => {
      const temporal = await findTemporalCli();
      process.stdout.write(`temporal: ${temporal} (${await temporalCliVersion(temporal)})\n`);
      process.stdout.write(`temporal-test-server: ${await findTemporalTestServer()}\n`);
      const prometheus = await findPrometheus();
      process.stdout.write(`prometheus: ${prometheus} (${await prometheusVersion(prometheus)})\n`);
    });
}
