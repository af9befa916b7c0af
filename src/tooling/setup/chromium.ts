import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isExecutable } from '../pypiBinary.js';
import { aptInstall, usableAptGet } from './apt.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/** Where Debian's `chromium` package puts the browser the Web UI tests drive headless. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine without internet: without the background-networking
 * ones it keeps trying to reach Google's services and fails on the closed network.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function locate(): Promise<string> {
  if (await isExecutable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  const howTo = 'install Chromium (Debian: `apt-get install --no-install-recommends chromium`) so that /usr/bin/chromium exists';
  const apt = await usableAptGet();
  if ('why' in apt) throw new Error(`no ${DEBIAN_CHROMIUM} (${apt.why}): ${howTo}`);
  try {
    await aptInstall(apt.aptGet, 'chromium', []);
  } catch (err) {
    throw new Error(`no ${DEBIAN_CHROMIUM} and ${(err as Error).message}: ${howTo}`);
  }
  if (!(await isExecutable(DEBIAN_CHROMIUM))) throw new Error(`apt-get installed chromium but ${DEBIAN_CHROMIUM} is not executable`);
  return DEBIAN_CHROMIUM;
}

/**
 * /usr/bin/chromium, installed from Debian's package with apt-get when absent and running as root.
 * Remembered per process, so parallel callers share one lookup (and one install).
 */
export const findChromium = sharedLookup(locate);

/** `Chromium 120.0.6099.224 built on Debian …` from `chromium --version`. */
export async function chromiumVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version']);
  return stdout.trim().split('\n')[0] ?? '';
}
