import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startInGroup, stopGroup } from './processes.js';

/** What the generator reports about itself (GET /loads). */
export interface LoadGeneratorInfo {
  pipeline: string;
  loads: number[];
  /** Start of second 0 of `loads`, ms since the epoch; null until Prometheus first scraped it. */
  startedAtMs: number | null;
  scrapes: number;
}

export interface LoadGenerator {
  /** `127.0.0.1:<port>`, for a Prometheus static config. */
  target: string;
  info(): Promise<LoadGeneratorInfo>;
  /** Resolves once the first scrape has fixed `startedAtMs`. */
  started(timeoutMs: number): Promise<LoadGeneratorInfo & { startedAtMs: number }>;
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL('./loadGeneratorProcess.js', import.meta.url));

/**
 * Starts loadGeneratorProcess (see there for how the counter follows `loads`) in its own
 * process group on a port the OS picks, so parallel tests never race for one.
 */
export async function startLoadGenerator(options: { pipeline: string; loads: number[] }): Promise<LoadGenerator> {
  const started = startInGroup(process.execPath, [entry, '--pipeline', options.pipeline, '--loads', JSON.stringify(options.loads)], {
    cwd: process.cwd(),
    env: process.env,
  });
  let port: string;
  try {
    const match = await started.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000);
    port = match[1] as string;
  } catch (err) {
    await stopGroup(started);
    throw err;
  }
  const target = `127.0.0.1:${port}`;
  const info = async (): Promise<LoadGeneratorInfo> => {
    const response = await fetch(`http://${target}/loads`);
    if (!response.ok) throw new Error(`load generator ${target}: GET /loads answered ${response.status}`);
    return (await response.json()) as LoadGeneratorInfo;
  };
  const startedAt = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await info();
      if (current.startedAtMs !== null) return { ...current, startedAtMs: current.startedAtMs };
      if (Date.now() > deadline) throw new Error(`load generator ${target} was not scraped within ${timeoutMs} ms`);
      await sleep(100);
    }
  };
  return { target, info, started: startedAt, stop: () => stopGroup(started) };
}
