import type { Command } from 'commander';
import { log } from '../log.js';
import { parseQueueNames, QUEUE_NAMES, type QueueName } from '../taskQueues.js';
import { connectClient, connectWorker, type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';
import { installRuntime } from '../temporal/runtime.js';
import { ensureSearchAttributes, searchAttributeCommands } from '../temporal/searchAttributes.js';
import { createWorkers, runWorkers } from '../worker.js';
import { shutdownSignal } from './shutdown.js';

/** Connects, runs the workers of `queues` until `stop`, and shuts them down cleanly. */
export async function serveQueues(settings: TemporalSettings, queues: QueueName[], stop: Promise<unknown>): Promise<void> {
  installRuntime();
  const connection = await connectWorker(settings);
  try {
    const workers = await createWorkers(connection, settings.namespace, queues);
    log.info(
      { address: settings.address, namespace: settings.namespace, queues: workers.map((w) => w.options.taskQueue) },
      'worker polling',
    );
    await runWorkers(workers, stop);
    log.info('worker stopped');
  } finally {
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
    log.warn(
      { err: (err as Error).message, commands: searchAttributeCommands(settings.namespace) },
      'could not check the search attributes IpaPipeline and IpaSlaMs; register them once by hand',
    );
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run ipa workers against the Temporal server in TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
    .option('--queues <list>', `task queues to serve, from ${QUEUE_NAMES.join(', ')}`, 'adapt,profile-cpu')
    .addHelpText(
      'after',
      '\nEnvironment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH,\n' +
        'TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME.\n' +
        'On a GPU node: ipa worker --queues profile-gpu',
    )
    .action(async (opts: { queues: string }) => {
      const queues = parseQueueNames(opts.queues);
      const settings = temporalSettingsFromEnv() ?? { address: '127.0.0.1:7233', namespace: process.env.TEMPORAL_NAMESPACE || 'default' };
      await trySearchAttributes(settings);
      await serveQueues(
        settings,
        queues,
        shutdownSignal((signal) => log.info({ signal }, 'shutting down')),
      );
    });
}
