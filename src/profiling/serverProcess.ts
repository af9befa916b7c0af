import { cpuLimitUnavailable, createCpuLimit, type StartPriority } from '../tooling/cpuLimit.js';
import { type ProcessGroup, startProcessGroup } from '../tooling/processGroup.js';
import { type InferenceEndpoint, waitUntilReady } from './inferenceEndpoint.js';

export interface ServerProcessOptions {
  /** The server's command; it must serve OIP v2 at `endpoint`. */
  command: string[];
  endpoint: InferenceEndpoint;
  /** Cores it may run on (`taskset`); all when absent. */
  cores?: number[];
  /** A CPU limit in cores, enforced once it is ready (a start-up boost); its cgroup is `ipa/limitName`. */
  cpuLimit?: number;
  limitName: string;
  /**
   * Default `low`: until ready it runs at the lowest CPU weight (cpuLimit.ts says why), in a
   * cgroup of its own even without a limit, where this host has cgroups.
   */
  startPriority?: StartPriority;
  /** Default STARVED_AFTER_MS: when a start at the lowest weight gets the normal one. */
  starvedAfterMs?: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Its output goes to this file and it outlives this process (a replica a restarted worker adopts). */
  logFile?: string;
  readyTimeoutMs: number;
  /**
   * Output that means it will never answer ready though it keeps running: MLServer stays up when
   * its gRPC or metrics port was taken, so without this the start waits out the ready timeout.
   */
  stuckOn?: RegExp;
  signal?: AbortSignal;
}

/** How long a start runs at the lowest weight before it gets the normal one: an MLServer alone starts in 5-10 s here. */
export const STARVED_AFTER_MS = 30_000;

/** A model server that answers ready, or why it did not (it is stopped then, and its cgroup removed). */
export type ServerStart =
  | { ready: true; group: ProcessGroup; cgroup?: string; stop(): Promise<void> }
  | { ready: false; why: string; output: string };

/**
 * Starts a model server's command in its own process group, pinned or CPU-limited, and waits for
 * its model to answer ready: the testbed's MLServer and a user's server command both start here.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerStart> {
  const pinned = options.cores ? ['taskset', '--cpu-list', options.cores.join(','), ...options.command] : options.command;
  const startPriority = options.startPriority ?? 'low';
  const grouped = options.cpuLimit !== undefined || (startPriority === 'low' && !(await cpuLimitUnavailable()));
  const limit = grouped ? await createCpuLimit(options.limitName, options.cpuLimit, startPriority) : undefined;
  const command = limit ? limit.wrap(pinned) : pinned;
  const group = startProcessGroup(command[0] as string, command.slice(1), {
    cwd: options.cwd,
    env: options.env,
    ...(options.logFile ? { logFile: options.logFile, outlive: true } : {}),
  });
  const stop = async () => {
    await group.stop();
    await limit?.remove();
  };
  // The lowest weight is a preference, not a starvation: a start still not ready after a while
  // (busy neighbours at the normal weight take every cycle from it) competes as they do.
  const lifting =
    limit && startPriority === 'low'
      ? setTimeout(() => void limit.lift().catch(() => {}), options.starvedAfterMs ?? STARVED_AFTER_MS)
      : undefined;
  try {
    const ready = await waitUntilReady(options.endpoint, {
      timeoutMs: options.readyTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      gaveUp: () => group.hasExited() || (options.stuckOn?.test(group.output()) ?? false),
    });
    if (ready) {
      await limit?.enforce();
      return { ready: true, group, ...(limit ? { cgroup: limit.dir } : {}), stop };
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(lifting);
  }
  const output = group.output();
  const why = group.hasExited()
    ? 'exited before it was ready'
    : options.stuckOn?.test(output)
      ? 'stopped short of ready (its output below says why)'
      : `was not ready within ${options.readyTimeoutMs} ms`;
  await stop();
  return { ready: false, why, output };
}
