import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '../common/pollUntil.js';
import { freePort } from './freePort.js';
import { type ProcessGroup, startProcessGroup } from './processGroup.js';
import { findPrometheus } from './setup/prometheus.js';

export interface PrometheusServerOptions {
  /** Its folder: `prometheus.yml` and the TSDB (`prometheus-data/`) go there. */
  dir: string;
  /** One scrape job of these `host:port` targets, every `intervalSeconds`. */
  job: string;
  targets: string[];
  intervalSeconds: number;
  /** e.g. `1h`, `7d`. */
  retention: string;
  /** Alerting and recording rule files it evaluates every `intervalSeconds`. */
  ruleFiles?: string[];
  /** Append its output to this file, and let it outlive this process (a detached server). */
  logFile?: string;
  outlive?: boolean;
  /** Longest wait for `/-/ready`. */
  readyTimeoutMs: number;
}

export interface PrometheusServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  group: ProcessGroup;
}

async function untilReady(url: string, group: ProcessGroup, timeoutMs: number): Promise<void> {
  const ready = await pollUntil(
    () =>
      fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.ok,
        () => false,
      ),
    { timeoutMs, everyMs: 200, stopped: () => group.hasExited() },
  );
  if (ready === 'stopped') throw new Error(`prometheus exited before it was ready:\n${group.output().slice(-2000)}`);
  if (ready === 'timeout') throw new Error(`prometheus at ${url} not ready within ${timeoutMs} ms:\n${group.output().slice(-2000)}`);
}

/**
 * A real Prometheus on a free loopback port scraping one job, resolved once `/-/ready` answers.
 * One that does not get ready is stopped before this throws.
 */
export async function startPrometheusServer(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const binary = await findPrometheus();
  await mkdir(options.dir, { recursive: true });
  const config = join(options.dir, 'prometheus.yml');
  const interval = `${options.intervalSeconds}s`;
  // JSON is YAML: no YAML library needed. The scrape timeout may not exceed the interval.
  await writeFile(
    config,
    `${JSON.stringify(
      {
        global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
        scrape_configs: [{ job_name: options.job, metrics_path: '/metrics', static_configs: [{ targets: options.targets }] }],
        ...(options.ruleFiles ? { rule_files: options.ruleFiles } : {}),
      },
      null,
      2,
    )}\n`,
  );
  // freePort() only says the port was free a moment ago: on a lost race, try another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const group = startProcessGroup(
      binary,
      [
        `--config.file=${config}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${join(options.dir, 'prometheus-data')}`,
        `--storage.tsdb.retention.time=${options.retention}`,
      ],
      {
        cwd: options.dir,
        env: process.env,
        ...(options.logFile ? { logFile: options.logFile } : {}),
        ...(options.outlive ? { outlive: true } : {}),
      },
    );
    try {
      await untilReady(url, group, options.readyTimeoutMs);
      return { url, group };
    } catch (error) {
      await group.stop(5_000).catch(() => undefined);
      if (attempt < 3 && /address already in use/.test(group.output().slice(-2000))) continue;
      throw error;
    }
  }
}
