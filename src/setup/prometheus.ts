import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { log } from '../log.js';
import { isExecutable, onPath } from '../temporal/pypiBinary.js';

const run = promisify(execFile);

/** Where the Debian/Ubuntu package puts the binary; checked even when PATH lacks /usr/bin. */
export const DEBIAN_PROMETHEUS = '/usr/bin/prometheus';

/**
 * Debian's postinst starts a system `prometheus` service (sysvinit and systemd alike) through
 * invoke-rc.d / deb-systemd-invoke, both of which ask this helper first; exit 101 means "not now".
 */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const POLICY_MARK = '# written by ipa setup while installing prometheus';
const POLICY_SCRIPT = `#!/bin/sh
${POLICY_MARK}: keep the package's service from starting
case "$1" in prometheus|prometheus.service) exit 101 ;; esac
exit 0
`;

/**
 * Runs `fn` with a policy-rc.d that forbids starting the prometheus service. An existing
 * policy-rc.d is the machine's own policy (Docker images ship one denying everything): left as is.
 */
async function withoutServiceStart<T>(fn: () => Promise<T>): Promise<T> {
  let ours = false;
  try {
    await writeFile(POLICY_RC_D, POLICY_SCRIPT, { flag: 'wx', mode: 0o755 });
    ours = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  try {
    return await fn();
  } finally {
    // Removed only while it is still ours: someone may have replaced it meanwhile.
    if (ours && (await readFile(POLICY_RC_D, 'utf8').catch(() => '')).includes(POLICY_MARK)) await rm(POLICY_RC_D, { force: true });
  }
}

/**
 * The postinst also enables the service for the next boot (sysvinit links, systemd wants). ipa
 * installed the package as a tool, so it undoes that; best effort, as either helper may be absent.
 */
async function disableAtBoot(): Promise<void> {
  for (const [command, args] of [
    ['update-rc.d', ['prometheus', 'disable']],
    ['deb-systemd-helper', ['disable', 'prometheus.service']],
  ] as const) {
    await run(command, [...args]).catch((err) =>
      log.debug({ command, error: (err as Error).message }, 'could not disable the prometheus service'),
    );
  }
}

const aptEnv = () => ({ ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
// Waits for another apt/dpkg (a parallel test file installing the same package) instead of failing.
const aptLockWait = ['-o', 'DPkg::Lock::Timeout=300'];

async function aptGet(aptGetPath: string, args: string[]): Promise<void> {
  await run(aptGetPath, [...aptLockWait, ...args], { env: aptEnv(), maxBuffer: 64 * 1024 * 1024 });
}

async function installWithApt(aptGetPath: string): Promise<string> {
  const install = ['install', '-y', '--no-install-recommends', 'prometheus'];
  log.info({ command: `apt-get ${install.join(' ')}` }, 'installing Prometheus');
  await withoutServiceStart(async () => {
    try {
      await aptGet(aptGetPath, install);
    } catch (first) {
      // Fresh images often have no package lists; updating costs time, so only when needed.
      log.info(
        { error: (first as Error).message.trim().split('\n').slice(-1)[0] },
        'apt-get install failed: running apt-get update and retrying',
      );
      await aptGet(aptGetPath, ['update']);
      await aptGet(aptGetPath, install);
    }
  });
  if (!(await isExecutable(DEBIAN_PROMETHEUS))) throw new Error(`apt-get installed prometheus but ${DEBIAN_PROMETHEUS} is not executable`);
  await disableAtBoot();
  return DEBIAN_PROMETHEUS;
}

async function locate(): Promise<string> {
  const explicit = process.env.PROMETHEUS_BIN;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`PROMETHEUS_BIN=${JSON.stringify(explicit)} is not an executable file`);
  }
  const existing = (await onPath('prometheus')) ?? ((await isExecutable(DEBIAN_PROMETHEUS)) ? DEBIAN_PROMETHEUS : undefined);
  if (existing) return existing;
  const howTo =
    'install Prometheus 2.x (Debian/Ubuntu: `apt-get install --no-install-recommends prometheus`; ' +
    'elsewhere https://prometheus.io/download/) and put `prometheus` on PATH or set PROMETHEUS_BIN';
  const aptGetPath = (await onPath('apt-get')) ?? ((await isExecutable('/usr/bin/apt-get')) ? '/usr/bin/apt-get' : undefined);
  if (process.getuid?.() !== 0 || !aptGetPath) {
    const why = aptGetPath ? 'not running as root, so not installing it with apt-get' : 'no apt-get to install it with';
    throw new Error(`no prometheus binary found (${why}): ${howTo}`);
  }
  try {
    return await installWithApt(aptGetPath);
  } catch (err) {
    // apt's last lines carry the reason (E: …); the rest is progress.
    const detail = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').slice(-3).join(' / ');
    throw new Error(`no prometheus binary found and \`apt-get install prometheus\` failed (${detail}): ${howTo}`);
  }
}

let found: Promise<string> | undefined;

/**
 * The path of a `prometheus` binary: PROMETHEUS_BIN, else `prometheus` on PATH or in /usr/bin,
 * else the Debian package installed with apt-get when running as root. The package's system
 * service is neither started by the install nor enabled for the next boot: ipa runs its own
 * instances. Remembered per process, so parallel callers share one lookup (and one install).
 */
export async function findPrometheus(): Promise<string> {
  found ??= locate();
  // A failed lookup is not remembered: the user may fix PATH or PROMETHEUS_BIN and ask again.
  return found.catch((err) => {
    found = undefined;
    throw err;
  });
}

/** The first line of `prometheus --version`, e.g. `prometheus, version 2.42.0+ds (branch: …)`. */
export async function prometheusVersion(binary: string): Promise<string> {
  const { stdout, stderr } = await run(binary, ['--version']);
  return (stdout.trim() || stderr.trim()).split('\n')[0] ?? '';
}
