import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../tooling/freePort.js';
import { type ProcessGroup, startProcessGroup } from '../tooling/processGroup.js';
import { findPrometheus } from '../tooling/setup/prometheus.js';
import { type LiveServer, pipelineDir, processRef, writeServer } from './liveState.js';

/**
 * The observe query of a loop on the live pipeline: the gateway counts every request it answers
 * (`ipa_gateway_requests_total`, by outcome), so their sum is the arrival rate. Scraped every
 * second, irate over 5 s gives one point per second, as `DEFAULT_PROMETHEUS_QUERY` explains.
 */
export const GATEWAY_LOAD_QUERY = 'sum(irate(ipa_gateway_requests_total{pipeline="$pipeline"}[5s]))';

/** The scrape job of the gateway in the live Prometheus. */
export const GATEWAY_JOB = 'ipa-gateway';

export interface LivePrometheusOptions {
  pipeline: string;
  stateDir?: string;
  /** The gateway's base URL; its `/metrics` is scraped every second. */
  gatewayUrl: string;
  /** Longest wait for `/-/ready` (default 60 s). */
  readyTimeoutMs?: number;
}

async function untilReady(url: string, group: ProcessGroup, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (group.hasExited()) throw new Error(`prometheus exited before it was ready:\n${group.output().slice(-2000)}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus at ${url} not ready within ${timeoutMs} ms:\n${group.output().slice(-2000)}`);
    await sleep(200);
  }
}

/**
 * Starts the Prometheus of a live pipeline, detached (it outlives `ipa live up`), on a free
 * loopback port, with its config, TSDB and log in the pipeline's folder, scraping the gateway as
 * job `ipa-gateway` every second; resolves once it is ready and recorded as `prometheus.json`.
 * A Prometheus that does not get ready is stopped before this throws.
 */
export async function startLivePrometheus(options: LivePrometheusOptions): Promise<LiveServer> {
  const binary = await findPrometheus();
  const dir = pipelineDir(options.pipeline, options.stateDir);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  const target = new URL(options.gatewayUrl).host;
  // JSON is YAML. The scrape timeout may not exceed the interval.
  await writeFile(
    config,
    `${JSON.stringify(
      {
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        scrape_configs: [{ job_name: GATEWAY_JOB, metrics_path: '/metrics', static_configs: [{ targets: [target] }] }],
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
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        '--storage.tsdb.retention.time=7d',
      ],
      { cwd: dir, env: process.env, logFile, outlive: true },
    );
    try {
      await untilReady(url, group, options.readyTimeoutMs ?? 60_000);
      const server: LiveServer = { url, process: await processRef(group.pgid), startedAt: new Date().toISOString(), logFile };
      await writeServer(options.pipeline, 'prometheus', server, options.stateDir);
      return server;
    } catch (error) {
      await group.stop(5_000).catch(() => undefined);
      if (attempt < 3 && /address already in use/.test(group.output().slice(-2000))) continue;
      throw new Error(`could not start the Prometheus of ${options.pipeline} (log ${logFile}): ${(error as Error).message}`);
    }
  }
}
