import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findPrometheus } from '../../src/tooling/setup/prometheus.js';
import { freePort } from './ports.js';
import { type Started, startInGroup, stopGroup } from './processes.js';

export interface TestPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Everything Prometheus logged so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function untilReady(url: string, started: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void started.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`prometheus exited before it was ready:\n${started.output()}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus at ${url} not ready within ${timeoutMs} ms:\n${started.output()}`);
    await sleep(100);
  }
}

/**
 * A real Prometheus on a free loopback port, scraping `targets` (host:port) as job `ipa-test`,
 * with its config and TSDB in a temporary folder that stop() removes with the process group.
 */
export async function startPrometheus(options: { targets: string[]; scrapeIntervalSeconds?: number }): Promise<TestPrometheus> {
  const binary = await findPrometheus();
  const interval = options.scrapeIntervalSeconds ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'ipa-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  // JSON is YAML: no YAML library needed. The timeout may not exceed the interval.
  await writeFile(
    config,
    JSON.stringify({
      global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${interval}s` },
      scrape_configs: [{ job_name: 'ipa-test', static_configs: [{ targets: options.targets }] }],
    }),
  );
  // freePort() only says the port was free a moment ago: on a lost race, try another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = startInGroup(
      binary,
      [
        `--config.file=${config}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${join(dir, `data-${port}`)}`,
        '--storage.tsdb.retention.time=1h',
      ],
      { cwd: dir, env: process.env },
    );
    try {
      await untilReady(url, started, 30_000);
      const stop = async () => {
        try {
          await stopGroup(started);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      };
      return { url, output: started.output, stop };
    } catch (err) {
      await stopGroup(started);
      if (attempt < 3 && /address already in use/.test(started.output())) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}
