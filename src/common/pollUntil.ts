import { setTimeout as sleep } from 'node:timers/promises';

/** How a poll ended: the probe said yes, the time ran out, or `stopped` said there is no point going on. */
export type PollEnd = 'done' | 'timeout' | 'stopped';

export interface PollOptions {
  timeoutMs: number;
  everyMs: number;
  /** Checked before each probe: a process that exited will never become ready. */
  stopped?: () => boolean;
  /** Rejects with its reason once aborted. */
  signal?: AbortSignal;
}

/**
 * Probes until it says yes, `stopped` says stop or the time is up. The probe always runs at least
 * once and once more at the deadline, so a slow last wait never turns a success into a timeout.
 * Callers turn a timeout into their own error, which knows what to show (a log tail, a status).
 */
export async function pollUntil(probe: () => boolean | Promise<boolean>, options: PollOptions): Promise<PollEnd> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (options.stopped?.()) return 'stopped';
    if (await probe()) return 'done';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(Math.min(options.everyMs, Math.max(0, deadline - Date.now())));
  }
}
