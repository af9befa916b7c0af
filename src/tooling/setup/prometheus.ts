import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { binaryFromEnv, isExecutable, onPathOr } from '../pypiBinary.js';
import { aptInstall, usableAptGet } from './apt.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/** Where the Debian/Ubuntu package puts the binary; checked even when PATH lacks /usr/bin. */
export const DEBIAN_PROMETHEUS = '/usr/bin/prometheus';

async function installWithApt(aptGetPath: string): Promise<string> {
  await aptInstall(aptGetPath, 'prometheus', ['prometheus']);
  if (!(await isExecutable(DEBIAN_PROMETHEUS))) throw new Error(`apt-get installed prometheus but ${DEBIAN_PROMETHEUS} is not executable`);
  return DEBIAN_PROMETHEUS;
}

async function locate(): Promise<string> {
  const explicit = await binaryFromEnv('PROMETHEUS_BIN');
  if (explicit) return explicit;
  const existing = await onPathOr('prometheus', DEBIAN_PROMETHEUS);
  if (existing) return existing;
  const howTo =
    'install Prometheus 2.x (Debian/Ubuntu: `apt-get install --no-install-recommends prometheus`; ' +
    'elsewhere https://prometheus.io/download/) and put `prometheus` on PATH or set PROMETHEUS_BIN';
  const apt = await usableAptGet();
  if ('why' in apt) throw new Error(`no prometheus binary found (${apt.why}): ${howTo}`);
  try {
    return await installWithApt(apt.aptGet);
  } catch (err) {
    throw new Error(`no prometheus binary found and ${(err as Error).message}: ${howTo}`);
  }
}

/**
 * The path of a `prometheus` binary: PROMETHEUS_BIN, else `prometheus` on PATH or in /usr/bin,
 * else the Debian package installed with apt-get when running as root. The package's system
 * service is neither started by the install nor enabled for the next boot: ipa runs its own
 * instances. Remembered per process, so parallel callers share one lookup (and one install).
 */
export const findPrometheus = sharedLookup(locate);

/** The first line of `prometheus --version`, e.g. `prometheus, version 2.42.0+ds (branch: …)`. */
export async function prometheusVersion(binary: string): Promise<string> {
  const { stdout, stderr } = await run(binary, ['--version']);
  return (stdout.trim() || stderr.trim()).split('\n')[0] ?? '';
}
