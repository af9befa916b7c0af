import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, type NativeConnection, Worker } from '@temporalio/worker';
import { activitiesFor } from '../activities/index.js';
import { log } from '../common/log.js';
import type { LoopHost } from '../live/liveExperiment.js';
import { connectClient, connectOptions, connectWorker, type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';
import { installRuntime, sdkLogger } from '../temporal/runtime.js';
import { ensureSearchAttributes } from '../temporal/searchAttributes.js';
import { findTemporalCli } from '../tooling/cliBinary.js';
import { type DevServer, startDevServer } from '../tooling/devServer.js';
import { freePort } from '../tooling/freePort.js';
import { LOCAL_TEMPORAL } from './client.js';

/**
 * Where `ipa live run` runs its loops: the configured Temporal server when it answers (TEMPORAL_ADDRESS
 * or a profile; else an `ipa dev` on 127.0.0.1:7233), so its loops show in that server's Web UI;
 * otherwise a dev server of its own (in memory, headless, a free port) for the command's duration.
 * Either way the loops run on a worker inside this process, on a task queue of its own: the local
 * actuator's activities start model servers on the machine they run on, so no other worker that
 * polls `ipa-adapt` (on another machine, or an older build) may take them.
 */
export interface StartedLoopHost extends LoopHost {
  /** One line for the user: which server, and whether this command started it. */
  where: string;
  /** Stops the worker, and the dev server when this command started one. */
  stop(): Promise<void>;
}

/** Whether a server answers at `settings` within a couple of seconds. */
async function answers(settings: TemporalSettings): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...connectOptions(settings), connectTimeout: '2s' });
    await connection.workflowService.describeNamespace({ namespace: settings.namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}

export async function startLoopHost(): Promise<StartedLoopHost> {
  installRuntime();
  const configured = temporalSettingsFromEnv();
  let settings: TemporalSettings = configured ?? LOCAL_TEMPORAL;
  let server: DevServer | undefined;
  let serverDir: string | undefined;
  let where: string;
  if (await answers(settings)) {
    where = `Temporal at ${settings.address} (namespace ${settings.namespace})`;
  } else if (configured) {
    // A server named on purpose that does not answer is a mistake, not a reason to start another.
    throw new Error(
      `no Temporal server answers at ${configured.address} (${configured.source ?? 'TEMPORAL_ADDRESS'}, namespace ${configured.namespace})`,
    );
  } else {
    serverDir = await mkdtemp(join(tmpdir(), 'ipa-live-run-temporal-'));
    server = await startDevServer({
      binary: await findTemporalCli(),
      stateDir: serverDir,
      port: await freePort(),
      headless: true,
      inMemory: true,
    });
    settings = { address: server.address, namespace: server.namespace };
    where = `a Temporal dev server of its own at ${server.address} (in memory, stopped at the end)`;
  }

  const stopServer = async () => {
    await server?.stop().catch((err: Error) => log.warn({ err: err.message }, 'the Temporal dev server did not stop cleanly'));
    if (serverDir) await rm(serverDir, { recursive: true, force: true });
  };
  let clientConnection: Connection | undefined;
  let workerConnection: NativeConnection | undefined;
  try {
    clientConnection = await connectClient(settings);
    const searchAttributes = await ensureSearchAttributes(clientConnection, settings.namespace).then(
      () => true,
      (err: Error) => {
        log.warn({ err: err.message }, 'ipa’s search attributes are not registered: the loops run without them');
        return false;
      },
    );
    workerConnection = await connectWorker(settings);
    const taskQueue = `ipa-live-run-${process.pid}-${Date.now().toString(36)}`;
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: settings.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
        logger: sdkLogger,
      }),
      activities: activitiesFor('adapt'),
    });
    let release = () => {};
    const running = worker.runUntil(new Promise<void>((resolve) => (release = resolve)));
    const client = new Client({ connection: clientConnection, namespace: settings.namespace });
    const connections = { client: clientConnection, worker: workerConnection };
    return {
      client,
      taskQueue,
      searchAttributes,
      where,
      stop: async () => {
        release();
        await running.catch((err: Error) => log.warn({ err: err.message }, 'the worker stopped with an error'));
        await connections.client.close().catch(() => {});
        await connections.worker.close().catch(() => {});
        await stopServer();
      },
    };
  } catch (error) {
    await clientConnection?.close().catch(() => {});
    await workerConnection?.close().catch(() => {});
    await stopServer();
    throw error;
  }
}
