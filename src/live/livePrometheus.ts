import { join } from 'node:path';
import { startPrometheusServer } from '../tooling/prometheusServer.js';
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

/**
 * Starts the Prometheus of a live pipeline, detached (it outlives `ipa live up`), on a free
 * loopback port, with its config, TSDB and log in the pipeline's folder, scraping the gateway as
 * job `ipa-gateway` every second; resolves once it is ready and recorded as `prometheus.json`.
 * A Prometheus that does not get ready is stopped before this throws.
 */
export async function startLivePrometheus(options: LivePrometheusOptions): Promise<LiveServer> {
  const dir = pipelineDir(options.pipeline, options.stateDir);
  const logFile = join(dir, 'prometheus.log');
  try {
    const { url, group } = await startPrometheusServer({
      dir,
      job: GATEWAY_JOB,
      targets: [new URL(options.gatewayUrl).host],
      intervalSeconds: 1,
      retention: '7d',
      logFile,
      outlive: true,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });
    const server: LiveServer = { url, process: await processRef(group.pgid), startedAt: new Date().toISOString(), logFile };
    await writeServer(options.pipeline, 'prometheus', server, options.stateDir);
    return server;
  } catch (error) {
    throw new Error(`could not start the Prometheus of ${options.pipeline} (log ${logFile}): ${(error as Error).message}`);
  }
}
