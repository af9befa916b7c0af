import { access, constants, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A CPU limit of a fraction of a core, as a Kubernetes CPU limit is: a CFS quota on a cgroup of
 * its own (cgroup v2's cpu.max, or v1's cpu.cfs_quota_us where the cpu controller is mounted on
 * its own). The period is 10 ms, not the kernel's default 100 ms: a replica that spends its quota
 * early waits out the rest of the period, and at 100 ms that stall alone would break a 200 ms SLA.
 *
 * A server starts unlimited (a start-up boost), but at the lowest CPU weight: it takes only what
 * the serving replicas leave. At equal weight an MLServer starting on a 2-core machine took CPU
 * from the replicas serving beside it, a sharing a Kubernetes node's per-pod limits would not
 * allow (`npm run bench:startup` measures both). A start not ready after 30 s gets the normal
 * weight (serverProcess.ts): busy neighbours must not starve it for good. Without a quota (`cores` undefined) the group
 * only gives that start-up priority.
 */
export interface CpuLimit {
  /** The cgroup folder; a restarted worker finds the limit again by it. */
  dir: string;
  /** The quota in cores; undefined for no quota. */
  cores: number | undefined;
  /** `command` started inside the cgroup, so it and everything it forks are limited from their first instruction. */
  wrap(command: string[]): string[];
  /** Sets the quota and the normal weight (until then the group is unlimited at the lowest weight). */
  enforce(): Promise<void>;
  /** The normal weight, still without the quota: a start that busy neighbours starved competes as they do. */
  lift(): Promise<void>;
  /** Removes the cgroup once its processes are gone; a no-op when it is already gone. */
  remove(): Promise<void>;
}

/** How a server starts: at the lowest weight (the default), or at the same weight as those serving (the earlier behaviour, a baseline). */
export type StartPriority = 'low' | 'equal';

export const CPU_PERIOD_US = 10_000;

interface Controller {
  root: string;
  procs: string;
  quota(cores: number): [file: string, value: string];
  unlimited: [file: string, value: string];
  /** The lowest weight and the default one. */
  weight: { file: string; lowest: string; normal: string };
}

const controllers: Controller[] = [
  {
    root: '/sys/fs/cgroup/cpu',
    procs: 'cgroup.procs',
    quota: (cores) => ['cpu.cfs_quota_us', String(Math.round(cores * CPU_PERIOD_US))],
    unlimited: ['cpu.cfs_quota_us', '-1'],
    weight: { file: 'cpu.shares', lowest: '2', normal: '1024' },
  },
  {
    root: '/sys/fs/cgroup',
    procs: 'cgroup.procs',
    quota: (cores) => ['cpu.max', `${Math.round(cores * CPU_PERIOD_US)} ${CPU_PERIOD_US}`],
    unlimited: ['cpu.max', `max ${CPU_PERIOD_US}`],
    weight: { file: 'cpu.weight', lowest: '1', normal: '100' },
  },
];

async function usable(controller: Controller): Promise<boolean> {
  try {
    await access(join(controller.root, controller.unlimited[0]), constants.R_OK);
    await access(controller.root, constants.W_OK);
    if (controller.root === '/sys/fs/cgroup') {
      // cgroup v2 gives a child cpu.max only when the parent delegates the cpu controller.
      const delegated = await readFile(join(controller.root, 'cgroup.subtree_control'), 'utf8');
      if (!delegated.split(/\s+/).includes('cpu')) return false;
    }
    return true;
  } catch {
    return false;
  }
}

let found: Promise<Controller | undefined> | undefined;

async function controller(): Promise<Controller | undefined> {
  found ??= (async () => {
    for (const c of controllers) if (await usable(c)) return c;
    return undefined;
  })();
  return found;
}

/** Why fractional CPU shapes cannot run here, or undefined when they can. */
export async function cpuLimitUnavailable(): Promise<string | undefined> {
  if (await controller()) return undefined;
  return 'no writable cgroup cpu controller (/sys/fs/cgroup/cpu or a cgroup v2 root delegating cpu): CPU limits need root on Linux';
}

/** Creates (or finds again) the cgroup `ipa/NAME` for a limit of `cores` cores (none when undefined). */
export async function createCpuLimit(name: string, cores: number | undefined, start: StartPriority = 'low'): Promise<CpuLimit> {
  if (cores !== undefined && !(Number.isFinite(cores) && cores > 0))
    throw new Error(`a CPU limit must be a number of cores > 0, got ${JSON.stringify(cores)}`);
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`a CPU limit's name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  const c = await controller();
  if (!c) throw new Error(`cannot limit CPU to ${cores} cores: ${await cpuLimitUnavailable()}`);
  const parent = join(c.root, 'ipa');
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true });
  if (c.root === '/sys/fs/cgroup') await writeFile(join(parent, 'cgroup.subtree_control'), '+cpu').catch(() => {});
  if (c.root === '/sys/fs/cgroup/cpu') await writeFile(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  await writeFile(join(dir, c.unlimited[0]), c.unlimited[1]);
  await writeFile(join(dir, c.weight.file), start === 'low' ? c.weight.lowest : c.weight.normal);
  const lift = () => writeFile(join(dir, c.weight.file), c.weight.normal);
  return {
    dir,
    cores,
    wrap: (command) => ['sh', '-c', `echo $$ > "$0/${c.procs}" && exec "$@"`, dir, ...command],
    enforce: async () => {
      if (cores !== undefined) {
        const [file, value] = c.quota(cores);
        await writeFile(join(dir, file), value);
      }
      await lift();
    },
    lift,
    remove: () => removeCgroup(dir),
  };
}

/** Removes a cgroup folder; its processes may take a moment to leave after they are killed. */
export async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw new Error(`could not remove cgroup ${dir}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
}
