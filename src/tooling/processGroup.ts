import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil } from '../common/pollUntil.js';

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
  return (await pollUntil(() => !groupAlive(pgid), { timeoutMs, everyMs: 100 })) === 'done';
}

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the pid, it names one
 * process, never a later one that reuses the pid. Empty for a process that is gone, or a zombie
 * (dead, waiting for a parent or an init that may reap it only seconds later).
 */
export async function processStartTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? '' : (fields[19] ?? '');
}

/** Stops the group led by `pgid` (SIGTERM, then SIGKILL after `graceMs`), whoever started it; false if it survives. */
export async function stopGroup(pgid: number, graceMs = 10_000): Promise<boolean> {
  if (!groupAlive(pgid)) return true;
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, 5_000);
}

function tailOf(file: string, limit: number): string {
  try {
    return readFileSync(file, 'utf8').slice(-limit);
  } catch {
    return '';
  }
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How much output to keep for messages (default 20,000 characters, the most recent). */
  outputLimit?: number;
  /** Append stdout and stderr to this file instead of keeping them: a server's log outlives us. */
  logFile?: string;
  /**
   * Leave the group running when this process exits (a replica a restarted worker adopts);
   * otherwise an exit hook kills it, so no server outlives the process that started it by accident.
   */
  outlive?: boolean;
}

export function startProcessGroup(command: string, args: string[], options: StartOptions): ProcessGroup {
  const { outputLimit = 20_000, logFile, outlive = false, ...spawnOptions } = options;
  const logFd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const stdio = logFd ?? 'pipe';
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', stdio, stdio] });
  if (logFd !== undefined) closeSync(logFd);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${command} ${args.join(' ')} in ${options.cwd}`);
  if (!outlive) {
    installExitHook();
    running.add(pgid);
  }
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
    if (!(await stopGroup(pgid, graceMs))) throw new Error(`process group ${pgid} (${command}) survived SIGKILL`);
    running.delete(pgid);
    // Reap the leader so no zombie keeps its pid.
    if (!done) await Promise.race([exited, sleep(2_000)]);
  };
  if (outlive) child.unref();
  const output = () => (logFile === undefined ? text : tailOf(logFile, outputLimit));
  return { child, pgid, output, exited, hasExited: () => done, stop };
}
