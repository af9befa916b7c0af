import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheusServer } from '../../src/tooling/prometheusServer.js';

export interface TestPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Everything Prometheus logged so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free loopback port, scraping `targets` (host:port) as job `ipa-test`,
 * with its config and TSDB in a temporary folder that stop() removes with the process group.
 */
export async function startPrometheus(options: {
  targets: string[];
  scrapeIntervalSeconds?: number;
  ruleFiles?: string[];
}): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'ipa-prometheus-'));
  try {
    const { url, group } = await startPrometheusServer({
      dir,
      job: 'ipa-test',
      targets: options.targets,
      intervalSeconds: options.scrapeIntervalSeconds ?? 1,
      retention: '1h',
      readyTimeoutMs: 30_000,
      ...(options.ruleFiles ? { ruleFiles: options.ruleFiles } : {}),
    });
    const stop = async () => {
      try {
        await group.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    return { url, output: group.output, stop };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
