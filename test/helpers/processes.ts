import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** A command started in its own process group, as a terminal would, with its output collected. */
export interface Started {
  child: ChildProcess;
  output: () => string;
  /** Resolves when a line matching `pattern` appears; rejects on exit or after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function startInGroup(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Started {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = text.match(pattern);
      if (match) return match;
      if (done) throw new Error(`${command} exited before printing ${pattern}:\n${text}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`);
      await sleep(100);
    }
  };
  return { child, output: () => text, waitFor, exited };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group led by `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  return isAlive(-pgid);
}

export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

/** `waitUntil` for checks that must await (a query, an HTTP call). */
export async function waitUntilAsync(check: () => Promise<boolean>, timeoutMs: number, pollMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(pollMs);
  }
  return check();
}

/** Stops a process group: SIGTERM, then SIGKILL if it lingers; throws if it survives both. */
export async function stopGroup(started: Started): Promise<void> {
  const pgid = started.child.pid;
  if (pgid === undefined || !groupAlive(pgid)) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pgid, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  if (await waitUntil(() => !groupAlive(pgid), 10_000)) return;
  signal('SIGKILL');
  if (!(await waitUntil(() => !groupAlive(pgid), 5_000))) throw new Error(`process group ${pgid} survived SIGKILL`);
}
