import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil } from '../../src/common/pollUntil.js';
import { groupAlive, isAlive, type ProcessGroup, startProcessGroup } from '../../src/tooling/processGroup.js';

export { groupAlive, isAlive };

/** A command started in its own process group, as a terminal would, with all its output kept. */
export interface Started extends ProcessGroup {
  /** Resolves when a line matching `pattern` appears; rejects on exit or after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
}

export function startInGroup(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Started {
  // Tests match patterns anywhere in the output, so none of it is dropped.
  const group = startProcessGroup(command, args, { ...options, outputLimit: Number.POSITIVE_INFINITY });
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = group.output().match(pattern);
      if (match) return match;
      if (group.hasExited()) throw new Error(`${command} exited before printing ${pattern}:\n${group.output()}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${group.output()}`);
      await sleep(100);
    }
  };
  return { ...group, waitFor };
}

export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return (await pollUntil(check, { timeoutMs, everyMs: 100 })) === 'done';
}

/** `waitUntil` for checks that must await (a query, an HTTP call). */
export async function waitUntilAsync(check: () => Promise<boolean>, timeoutMs: number, pollMs = 200): Promise<boolean> {
  return (await pollUntil(check, { timeoutMs, everyMs: pollMs })) === 'done';
}

/** Stops a process group: SIGTERM, then SIGKILL if it lingers; throws if it survives both. */
export function stopGroup(started: Started): Promise<void> {
  return started.stop();
}
