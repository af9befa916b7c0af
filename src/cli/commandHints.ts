import { realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { projectRoot } from '../common/paths.js';
import { findTemporalCli } from '../tooling/cliBinary.js';
import { onPath } from '../tooling/pypiBinary.js';

/**
 * Hints ipa prints are commands that run as printed in the user's shell: a bare name only where
 * the user's PATH finds the same program, else a form that works without it. npm and npx put
 * node_modules/.bin on the PATH of the process they start, not on the user's, so those entries
 * do not count.
 */
async function onUserPath(name: string, target: string): Promise<boolean> {
  const found = await onPath(name, (dir) => !dir.endsWith(join('node_modules', '.bin')));
  if (!found) return false;
  const real = (path: string) => realpath(path).catch(() => path);
  return (await real(found)) === (await real(target));
}

const insideProject = () => {
  const rel = relative(projectRoot, process.cwd());
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep));
};

/** `ipa ARGS` as the user can run it: `ipa`, `npx ipa` in the project, else the absolute path. */
export async function ipaCommand(args: string): Promise<string> {
  const bin = join(projectRoot, 'bin', 'ipa.js');
  if (await onUserPath('ipa', bin)) return `ipa ${args}`;
  return insideProject() ? `npx ipa ${args}` : `${bin} ${args}`;
}

/** `temporal ARGS` with the Temporal CLI ipa uses: the bare name when the user's PATH has it, else its path. */
export async function temporalCommand(args: string): Promise<string> {
  const binary = await findTemporalCli({ install: false }).catch(() => undefined);
  if (!binary || (await onUserPath('temporal', binary))) return `temporal ${args}`;
  return `${binary} ${args}`;
}
