import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { log } from '../common/log.js';
import { defaultStateDir } from '../common/paths.js';
import { type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';
import { parseQueueNames, type QueueName } from '../temporal/taskQueues.js';
import { findTemporalCli } from '../tooling/cliBinary.js';
import { DevServerInUseError, liveDevServer, startDevServer } from '../tooling/devServer.js';
import { ClusterPortError, startTemporalCluster } from '../tooling/temporalCluster.js';
import { ipaCommand } from './commandHints.js';
import { DEMO_KINDS, type Demo, startLiveDemo, startSimulatedDemo } from './demo.js';
import { oneOf, portFlag } from './flags.js';
import { shutdownSignal } from './shutdown.js';
import { addMetricsOptions, metricsOptions, serveQueues } from './worker.js';

interface DevOptions {
  ip: string;
  port: string;
  uiPort: string;
  stateDir: string;
  queues: string;
  metricsPort: string;
  metrics: boolean;
  demo: string | false;
  attach: boolean;
  server: string;
}

/** dev: the `temporal` CLI's dev server on SQLite; cluster: temporal-server on PostgreSQL with mTLS, as `ipa setup` builds it. */
const SERVER_KINDS = ['dev', 'cluster'] as const;

/**
 * The main job on a laptop: a local Temporal dev server (unless TEMPORAL_ADDRESS points at one)
 * and the workers, stopped together by Ctrl-C, the worker first.
 */
async function dev(opts: DevOptions): Promise<void> {
  const queues = parseQueueNames(opts.queues);
  const serverKind = oneOf('--server', opts.server, SERVER_KINDS);
  const stop = shutdownSignal((signal) => log.info({ signal }, 'shutting down'));
  const remote = temporalSettingsFromEnv();
  if (remote) {
    log.info(
      { address: remote.address, namespace: remote.namespace },
      `${remote.source} is set: using that server, starting only the worker`,
    );
    await serveQueues(remote, queues, stop, metricsOptions(opts));
    return;
  }
  const stateDir = resolve(opts.stateDir);
  if (serverKind === 'cluster') return devCluster(opts, stateDir, queues, stop);
  const live = await liveDevServer(stateDir);
  if (live) {
    if (!opts.attach) throw new DevServerInUseError(stateDir, live);
    log.info({ address: live.address, ownerPid: live.ownerPid }, 'attaching to the running dev server: starting only the worker');
    // The owner's worker holds the default metrics port.
    const metrics = opts.metrics ? { metricsPort: 0 } : {};
    await serveQueues({ address: live.address, namespace: 'default' }, queues, stop, metrics);
    return;
  }
  const binary = await findTemporalCli();
  const server = await startDevServer({
    binary,
    stateDir,
    ip: opts.ip,
    port: portFlag('--port', opts.port),
    uiPort: portFlag('--ui-port', opts.uiPort),
  });
  log.info({ address: server.address, db: server.dbFile, serverLog: server.logFile, serverPid: server.pid }, 'Temporal dev server ready');
  process.stderr.write(
    `\n  Temporal Web UI: ${server.uiUrl}\n  Temporal address: ${server.address}  (Ctrl-C stops both)\n` +
      `  temporal and ipa on PATH in another shell: eval "$(${await ipaCommand('shellenv')})"\n\n`,
  );
  await serveUntilStopped(
    {
      name: 'Temporal dev server',
      settings: { address: server.address, namespace: server.namespace },
      uiUrl: server.uiUrl,
      exited: server.exited,
      log: server.logFile,
      stop: () => server.stop(),
    },
    opts,
    queues,
    stop,
    stateDir,
  );
}

/**
 * `--server cluster`: the Temporal server as production runs it (see temporalCluster.ts), in
 * `--state-dir`/cluster, kept from one start to the next as the dev server's SQLite file is.
 */
async function devCluster(opts: DevOptions, stateDir: string, queues: QueueName[], stop: Promise<NodeJS.Signals>): Promise<void> {
  if (opts.attach)
    throw new Error('--attach: only with --server dev; for a second worker on the cluster, run `ipa worker` with its TEMPORAL_* settings');
  const cluster = await startTemporalCluster({ dir: join(stateDir, 'cluster'), frontendPort: portFlag('--port', opts.port) }).catch(
    (err: Error) => {
      if (err instanceof ClusterPortError) {
        throw new Error(
          `--port: the cluster in ${err.dir} serves on ${err.servesOn}, got ${err.asked} (pass --port ${err.servesOn}, or delete the folder for a new cluster)`,
        );
      }
      throw err;
    },
  );
  const exports = Object.entries(cluster.env).map(([name, value]) => `export ${name}=${value}`);
  await writeFile(join(cluster.dir, 'env.sh'), `${exports.join('\n')}\n`);
  process.stderr.write(
    `\n  Temporal cluster (temporal-server on PostgreSQL, mTLS): ${cluster.address}  (Ctrl-C stops it and the worker)\n` +
      `  Its folder: ${cluster.dir}; no Web UI (the dev server has one)\n` +
      `  temporal and ipa in another shell: eval "$(${await ipaCommand('shellenv')})" && . ${join(cluster.dir, 'env.sh')}\n\n`,
  );
  await serveUntilStopped(
    {
      name: 'Temporal cluster',
      settings: cluster.settings,
      exited: cluster.serverExited(),
      log: cluster.serverLog,
      stop: () => cluster.stop(),
    },
    opts,
    queues,
    stop,
    stateDir,
  );
}

/** A server `ipa dev` started, and stops after the worker. */
interface OwnServer {
  name: string;
  settings: TemporalSettings;
  uiUrl?: string;
  exited: Promise<number | null>;
  log: string;
  stop(): Promise<void>;
}

/** The demo and the workers on `server` until Ctrl-C or the server's death, then the server stopped. */
async function serveUntilStopped(
  server: OwnServer,
  opts: DevOptions,
  queues: QueueName[],
  stop: Promise<NodeJS.Signals>,
  stateDir: string,
): Promise<void> {
  let failure: Error | undefined;
  let stopping = false;
  const serverDied = server.exited.then((code) => {
    if (!stopping) failure = new Error(`${server.name} exited unexpectedly (code ${code}); see ${server.log}`);
  });
  const { settings } = server;
  // The demo needs only the server: the worker below picks it up as soon as it polls.
  const kind = opts.demo === false ? undefined : oneOf('--demo', opts.demo, DEMO_KINDS);
  const demo: Promise<Demo | undefined> = (
    kind === 'live'
      ? startLiveDemo(settings, server.uiUrl, stateDir)
      : kind === 'simulated'
        ? startSimulatedDemo(settings, server.uiUrl)
        : Promise.resolve(undefined)
  ).catch((err: Error) => {
    log.warn({ err: err.message }, 'demo not started');
    return undefined;
  });
  // The worker keeps polling until the demo has stopped: the live demo's loop releases its replicas on it.
  const stopped = Promise.race([stop, serverDied])
    .then(async () => (await demo)?.stop())
    .catch((err: Error) => log.warn({ err: err.message }, 'demo did not stop cleanly'));
  try {
    await serveQueues(settings, queues, stopped, metricsOptions(opts));
  } finally {
    stopping = true;
    await server.stop();
    log.info(`${server.name} stopped`);
  }
  if (failure) throw failure;
}

export function registerDevCommand(program: Command): void {
  addMetricsOptions(program.command('dev'))
    .description('start a local Temporal dev server (state in --state-dir) and the workers; what `npm start` runs')
    .option(
      '--server <kind>',
      'dev: the temporal CLI dev server on SQLite, with the Web UI; cluster: temporal-server on PostgreSQL with mTLS, as production runs it (built by `ipa setup`), state in --state-dir/cluster',
      'dev',
    )
    .option('--ip <ip>', 'address the dev server binds to (the cluster binds to 127.0.0.1)', '127.0.0.1')
    .option('--port <port>', 'Temporal frontend gRPC port', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option('--state-dir <dir>', 'folder of the server state (SQLite file or cluster folder) and logs', defaultStateDir)
    .option('--queues <list>', 'task queues the worker serves', 'adapt,profile-cpu')
    .option('--attach', 'when an `ipa dev` already runs the server of --state-dir, run only a worker against it')
    .option(
      '--demo <kind>',
      'live: the testbed on real MLServer replicas behind a gateway, with Prometheus and a replayed load (demo-testbed); simulated: the video pipeline on the bursty trace, simulated actuator (demo-video)',
      'live',
    )
    .option('--no-demo', 'start no demo loop')
    .addHelpText(
      'after',
      '\nWith TEMPORAL_ADDRESS set (or an address in the Temporal config profile), no server (and no demo) is started:\n' +
        'the worker connects there (see `ipa worker --help`).',
    )
    .action(dev);
}
