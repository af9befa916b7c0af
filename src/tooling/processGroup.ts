import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A command started as the leader of its own process group, so stopping it also stops what it
 * forked (MLServer runs inference in worker processes), with the last output kept for errors.
 */
export interface ProcessGroup {
  child: ChildProcess;
  pgid: number;
  /** stdout and stderr as they came, the last `outputLimit` characters of them. */
  output(): string;
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; throws if the group survives both. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<number>();
let exitHookInstalled = false;

/** Last resort when the Node process exits with groups still running: no orphan servers. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of running) signalGroup(pgid, 'SIGKILL');
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** True while `pid` (or, negative, any process of that group) exists, ours to signal or not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process of the group led by `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  return isAlive(-pgid);
}

/** Waits until the group led by `pgid` is gone; false if it is still there after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return true;
    await sleep(100);
  }
  return !groupAlive(pgid);
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How much output to keep for messages (default 20,000 characters, the most recent). */
  outputLimit?: number;
  /** Append stdout and stderr to this file instead of keeping them: a server's log outlives us. */
  logFile?: string;
}

export function startProcessGroup(command: string, args: string[], options: StartOptions): ProcessGroup {
  const { outputLimit = 20_000, logFile, ...spawnOptions } = options;
  const logFd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const output = logFd ?? 'pipe';
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', output, output] });
  if (logFd !== undefined) closeSync(logFd);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${command} ${args.join(' ')} in ${options.cwd}`);
  installExitHook();
  running.add(pgid);
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-outputLimit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    });
    child.once('error', (error) => {
      text += `\n${error.message}`;
      done = true;
      resolve(null);
    });
  });
  const stop = async (graceMs = 10_000) => {
    if (groupAlive(pgid)) {
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitGroupGone(pgid, graceMs))) {
        signalGroup(pgid, 'SIGKILL');
        if (!(await waitGroupGone(pgid, 5_000))) throw new Error(`process group ${pgid} (${command}) survived SIGKILL`);
      }
    }
    running.delete(pgid);
    // Reap the leader so no zombie keeps its pid.
    if (!done) await Promise.race([exited, sleep(2_000)]);
  };
  return { child, pgid, output: () => text, exited, hasExited: () => done, stop };
}
