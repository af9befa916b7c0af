import type { Command } from 'commander';
import { findTemporalCli, temporalCliVersion } from '../temporal/cliBinary.js';

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description('find or install the tools ipa runs locally (the Temporal CLI) and print where they are')
    .action(async () => {
      const temporal = await findTemporalCli();
      process.stdout.write(`temporal: ${temporal} (${await temporalCliVersion(temporal)})\n`);
    });
}
