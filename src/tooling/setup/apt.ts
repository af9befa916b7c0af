import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { log } from '../../common/log.js';
import { onPathOr } from '../pypiBinary.js';

const run = promisify(execFile);

/**
 * Debian's postinst scripts start a package's system service (sysvinit and systemd alike) through
 * invoke-rc.d / deb-systemd-invoke, both of which ask this helper first; exit 101 means "not now".
 */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const POLICY_MARK = '# written by ipa setup while installing';
const policyScript = (pkg: string, services: string[]) => `#!/bin/sh
${POLICY_MARK} ${pkg}: keep the package's service from starting
case "$1" in ${services.flatMap((s) => [s, `${s}.service`]).join('|')}) exit 101 ;; esac
exit 0
`;

/**
 * Runs `fn` with a policy-rc.d that forbids starting `services`. An existing policy-rc.d is the
 * machine's own policy (Docker images ship one denying everything): left as is.
 */
async function withoutServiceStart<T>(pkg: string, services: string[], fn: () => Promise<T>): Promise<T> {
  let ours = false;
  try {
    await writeFile(POLICY_RC_D, policyScript(pkg, services), { flag: 'wx', mode: 0o755 });
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
 * installs packages as tools, so it undoes that; best effort, as either helper may be absent.
 */
async function disableAtBoot(service: string): Promise<void> {
  for (const [command, args] of [
    ['update-rc.d', [service, 'disable']],
    ['deb-systemd-helper', ['disable', `${service}.service`]],
  ] as const) {
    await run(command, [...args]).catch((err) =>
      log.debug({ command, service, error: (err as Error).message }, 'could not disable the service at boot'),
    );
  }
}

/**
 * A machine whose own policy-rc.d allows everything, or another process that removed ours while
 * dpkg ran, lets the postinst start the service anyway: stop it if so. `status` exits 0 only
 * while it runs, so a machine without systemd or without the init script skips quietly.
 */
async function stopIfRunning(service: string): Promise<void> {
  const attempts: [string, string[], string[]][] = [
    ['systemctl', ['is-active', '--quiet', `${service}.service`], ['systemctl', 'stop', `${service}.service`]],
    [`/etc/init.d/${service}`, ['status'], [`/etc/init.d/${service}`, 'stop']],
  ];
  for (const [probe, probeArgs, [stop, ...stopArgs]] of attempts) {
    const running = await run(probe, probeArgs).then(
      () => true,
      () => false,
    );
    if (!running || !stop) continue;
    log.info({ service }, 'the package started its system service: stopping it');
    await run(stop, stopArgs).catch((err) => log.warn({ service, error: (err as Error).message }, 'could not stop the service'));
  }
}

const aptEnv = () => ({ ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
// Waits for another apt/dpkg (a parallel test file installing the same package) instead of failing.
const aptLockWait = ['-o', 'DPkg::Lock::Timeout=300'];

async function aptGet(aptGetPath: string, args: string[]): Promise<void> {
  await run(aptGetPath, [...aptLockWait, ...args], { env: aptEnv(), maxBuffer: 64 * 1024 * 1024 });
}

/** apt-get when this process may use it (root, and apt-get exists), else why not. */
export async function usableAptGet(): Promise<{ aptGet: string } | { why: string }> {
  const aptGetPath = await onPathOr('apt-get', '/usr/bin/apt-get');
  if (!aptGetPath) return { why: 'no apt-get to install it with' };
  if (process.getuid?.() !== 0) return { why: 'not running as root, so not installing it with apt-get' };
  return { aptGet: aptGetPath };
}

// One apt-get at a time per process: each install's policy-rc.d must outlive its dpkg run.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Installs a Debian package as a tool: its system `services` are neither started by the install
 * nor enabled for the next boot, as ipa runs its own instances. Runs `apt-get update` only when
 * the first install fails (fresh images often have no package lists; updating costs time).
 * Errors carry apt's last lines (E: …), the rest being progress.
 */
export async function aptInstall(aptGetPath: string, pkg: string, services: string[]): Promise<void> {
  const install = async () => {
    const args = ['install', '-y', '--no-install-recommends', pkg];
    log.info({ command: `apt-get ${args.join(' ')}` }, `installing ${pkg}`);
    try {
      await withoutServiceStart(pkg, services, async () => {
        try {
          await aptGet(aptGetPath, args);
        } catch (first) {
          log.info(
            { error: (first as Error).message.trim().split('\n').slice(-1)[0] },
            'apt-get install failed: running apt-get update and retrying',
          );
          await aptGet(aptGetPath, ['update']);
          await aptGet(aptGetPath, args);
        }
      });
    } catch (err) {
      const detail = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').slice(-3).join(' / ');
      throw new Error(`\`apt-get install ${pkg}\` failed (${detail})`);
    }
    for (const service of services) {
      await disableAtBoot(service);
      await stopIfRunning(service);
    }
  };
  const turn = queue.then(install, install);
  queue = turn.catch(() => undefined);
  return turn;
}
