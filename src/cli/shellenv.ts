import { mkdir, realpath, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { cacheDir, projectRoot } from '../common/paths.js';
import { findTemporalCli } from '../tooling/cliBinary.js';

/** A folder of links to just the programs a user runs (not the Temporal venv's python and pip). */
export const shellBinDir = join(cacheDir, 'bin');

/** Replaced by a rename: a shell running the command meanwhile finds the old link or the new one. */
async function link(target: string, name: string): Promise<void> {
  const staging = join(shellBinDir, `.${name}.${process.pid}`);
  await rm(staging, { force: true });
  await symlink(target, staging);
  await rename(staging, join(shellBinDir, name));
}

/** Puts `temporal` (the CLI ipa installed, or found) and `ipa` in shellBinDir; returns that folder. */
export async function linkShellCommands(): Promise<string> {
  await mkdir(shellBinDir, { recursive: true });
  await link(await realpath(await findTemporalCli()), 'temporal');
  await link(join(projectRoot, 'bin', 'ipa.js'), 'ipa');
  return shellBinDir;
}

const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export function registerShellenvCommand(program: Command): void {
  program
    .command('shellenv')
    .description('print the shell line that puts `temporal` and `ipa` on PATH: eval "$(npx ipa shellenv)"')
    .action(async () => {
      const dir = await linkShellCommands();
      process.stdout.write(`export PATH=${shellQuote(dir)}":$PATH"\n`);
    });
}
