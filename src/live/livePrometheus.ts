import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { observePrometheus } from '../observe/prometheus.js';
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
  /** Longest wait for `/-/ready`, and again for the gateway's first load points (default 60 s each). */
  readyTimeoutMs?: number;
}

/**
 * Waits until the loop's observe query answers: irate needs two scrapes of the gateway, and a loop
 * started before them would skip its first step ("no series"), leaving the first replicas to
 * whatever load comes.
 */
async function untilObservable(url: string, pipeline: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const points = await observePrometheus({ url, query: GATEWAY_LOAD_QUERY, pipeline, endMs: Date.now(), seconds: 5 }).catch(
      (err: Error) => err,
    );
    if (Array.isArray(points) && points.length > 0) return;
    if (Date.now() > deadline) {
      const why = points instanceof Error ? points.message : 'no points';
      throw new Error(`Prometheus at ${url} has no load of the gateway within ${timeoutMs} ms: ${why}`);
    }
    await sleep(250);
  }
}

/**
 * Starts the Prometheus of a live pipeline, detached (it outlives `ipa live up`), on a free
 * loopback port, with its config, TSDB and log in the pipeline's folder, scraping the gateway as
 * job `ipa-gateway` every second; resolves once the loop's observe query answers and the server
 * is recorded as `prometheus.json`. A Prometheus that does not get there is stopped before this throws.
 */
export async function startLivePrometheus(options: LivePrometheusOptions): Promise<LiveServer> {
  const dir = pipelineDir(options.pipeline, options.stateDir);
  const logFile = join(dir, 'prometheus.log');
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    const { url, group } = await startPrometheusServer({
      dir,
      job: GATEWAY_JOB,
      targets: [new URL(options.gatewayUrl).host],
      intervalSeconds: 1,
      retention: '7d',
      logFile,
      outlive: true,
      readyTimeoutMs: timeoutMs,
    });
    await untilObservable(url, options.pipeline, timeoutMs).catch(async (error: Error) => {
      await group.stop(5_000).catch(() => undefined);
      throw error;
    });
    const server: LiveServer = { url, process: await processRef(group.pgid), startedAt: new Date().toISOString(), logFile };
    await writeServer(options.pipeline, 'prometheus', server, options.stateDir);
    return server;
  } catch (error) {
    throw new Error(`could not start the Prometheus of ${options.pipeline} (log ${logFile}): ${(error as Error).message}`);
  }
}
