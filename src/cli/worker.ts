import type { Server } from 'node:http';
import type { Command } from 'commander';
import { log } from '../common/log.js';
import { connectClient, connectWorker, type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';
import { serveMetrics } from '../temporal/metrics.js';
import { installRuntime } from '../temporal/runtime.js';
import { ensureSearchAttributes, searchAttributeCreateArgs } from '../temporal/searchAttributes.js';
import { parseQueueNames, QUEUE_NAMES, type QueueName } from '../temporal/taskQueues.js';
import { createWorkers, runWorkers } from '../temporal/worker.js';
import { temporalCommand } from './commandHints.js';
import { numberFlag } from './flags.js';
import { shutdownSignal } from './shutdown.js';

export interface MetricsOptions {
  /** Port of `/metrics`; 0 picks a free one, undefined serves none. */
  metricsPort?: number;
}

/** Starts the metrics endpoint; a busy port costs the metrics, not the worker. */
async function startMetrics(port: number | undefined): Promise<Server | undefined> {
  if (port === undefined) return undefined;
  return serveMetrics(port, process.env.IPA_METRICS_HOST || '127.0.0.1').catch((err: Error) => {
    log.warn({ port, err: err.message }, 'metrics endpoint not started');
    return undefined;
  });
}

/** Connects, runs the workers of `queues` until `stop`, and shuts them down cleanly. */
export async function serveQueues(
  settings: TemporalSettings,
  queues: QueueName[],
  stop: Promise<unknown>,
  metrics: MetricsOptions = {},
): Promise<void> {
  installRuntime();
  const connection = await connectWorker(settings);
  const metricsServer = await startMetrics(metrics.metricsPort);
  try {
    const workers = await createWorkers(connection, settings.namespace, queues);
    log.info(
      { address: settings.address, namespace: settings.namespace, queues: workers.map((w) => w.options.taskQueue) },
      'worker polling',
    );
    await runWorkers(workers, stop);
    log.info('worker stopped');
  } finally {
    metricsServer?.close();
    await connection.close();
  }
}

/** Registers the search attributes where the server allows it; says how to do it by hand where not. */
async function trySearchAttributes(settings: TemporalSettings): Promise<void> {
  try {
    const client = await connectClient(settings);
    try {
      await ensureSearchAttributes(client, settings.namespace);
    } finally {
      await client.close();
    }
  } catch (err) {
    const commands = await Promise.all(searchAttributeCreateArgs(settings.namespace).map(temporalCommand));
    log.warn(
      { err: (err as Error).message, commands },
      `could not check the search attributes IpaPipeline and IpaSlaMs; register them once by hand:\n  ${commands.join('\n  ')}`,
    );
  }
}

/** `--metrics-port` and `--no-metrics`, shared by `ipa worker` and `ipa dev`. */
export function addMetricsOptions(command: Command): Command {
  return command
    .option(
      '--metrics-port <port>',
      'port of the Prometheus /metrics endpoint (0: any free port; host from IPA_METRICS_HOST, default 127.0.0.1)',
      process.env.IPA_METRICS_PORT ?? '9464',
    )
    .option('--no-metrics', 'serve no Prometheus metrics');
}

export function metricsOptions(opts: { metricsPort: string; metrics: boolean }): MetricsOptions {
  return opts.metrics ? { metricsPort: numberFlag('--metrics-port', opts.metricsPort, { max: 65535, integer: true }) } : {};
}

export function registerWorkerCommand(program: Command): void {
  addMetricsOptions(program.command('worker'))
    .description('run ipa workers against the Temporal server in TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
    .option('--queues <list>', `task queues to serve, from ${QUEUE_NAMES.join(', ')}`, 'adapt,profile-cpu')
    .addHelpText(
      'after',
      '\nEnvironment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH,\n' +
        'TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME; or a profile\n' +
        '(TEMPORAL_PROFILE, default "default") of TEMPORAL_CONFIG_FILE (default ~/.config/temporalio/temporal.toml).\n' +
        'On a GPU node: ipa worker --queues profile-gpu',
    )
    .action(async (opts: { queues: string; metricsPort: string; metrics: boolean }) => {
      const queues = parseQueueNames(opts.queues);
      const settings = temporalSettingsFromEnv() ?? { address: '127.0.0.1:7233', namespace: process.env.TEMPORAL_NAMESPACE || 'default' };
      await trySearchAttributes(settings);
      await serveQueues(
        settings,
        queues,
        shutdownSignal((signal) => log.info({ signal }, 'shutting down')),
        metricsOptions(opts),
      );
    });
}
