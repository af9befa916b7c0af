import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isExecutable } from '../pypiBinary.js';
import { aptInstall, usableAptGet } from './apt.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/** Debian keeps each major version's server programs here, off PATH. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';
const PROGRAMS = ['initdb', 'postgres', 'psql'] as const;

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  psql: string;
  version: string;
}

async function complete(binDir: string): Promise<boolean> {
  for (const program of PROGRAMS) if (!(await isExecutable(join(binDir, program)))) return false;
  return true;
}

/** The newest major version Debian installed, e.g. `/usr/lib/postgresql/15/bin`. */
async function debianBinDir(): Promise<string | undefined> {
  const majors = (await readdir(DEBIAN_POSTGRES_ROOT).catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const major of majors.sort((a, b) => Number(b) - Number(a))) {
    const binDir = join(DEBIAN_POSTGRES_ROOT, major, 'bin');
    if (await complete(binDir)) return binDir;
  }
  return undefined;
}

async function locate(): Promise<PostgresBinaries> {
  const explicit = process.env.IPA_POSTGRES_BIN_DIR;
  let binDir: string | undefined;
  if (explicit) {
    if (!(await complete(explicit)))
      throw new Error(`IPA_POSTGRES_BIN_DIR=${JSON.stringify(explicit)} lacks one of ${PROGRAMS.join(', ')}`);
    binDir = explicit;
  }
  binDir ??= await debianBinDir();
  if (!binDir) {
    const howTo =
      'install PostgreSQL 12 or newer (Debian/Ubuntu: `apt-get install --no-install-recommends postgresql`) or set IPA_POSTGRES_BIN_DIR';
    const apt = await usableAptGet();
    if ('why' in apt) throw new Error(`no PostgreSQL server programs found (${apt.why}): ${howTo}`);
    // Its cluster service is not started: ipa runs its own PostgreSQL in a folder of its own.
    await aptInstall(apt.aptGet, 'postgresql', ['postgresql']);
    binDir = await debianBinDir();
    if (!binDir) throw new Error(`apt-get installed postgresql but ${DEBIAN_POSTGRES_ROOT}/*/bin lacks ${PROGRAMS.join(', ')}`);
  }
  const { stdout } = await run(join(binDir, 'postgres'), ['--version']);
  return {
    initdb: join(binDir, 'initdb'),
    postgres: join(binDir, 'postgres'),
    psql: join(binDir, 'psql'),
    version: stdout.trim().replace(/^postgres \(PostgreSQL\) /, ''),
  };
}

/**
 * PostgreSQL's server programs, for the Temporal cluster the tests run: IPA_POSTGRES_BIN_DIR, else
 * Debian's newest, else Debian's package installed with apt-get when root. Remembered per process.
 */
export const findPostgres = sharedLookup(locate);
