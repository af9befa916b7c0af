import { stat } from 'node:fs/promises';
import { log } from '../common/log.js';
import { resolvePipelineSpec } from '../io/load.js';
import { type LiveReplicas, readReplicas, replicasFile } from './liveState.js';
import { type OutcomeCounts, PipelineGateway, type ReplicaEndpoint, type StageStatus } from './pipelineGateway.js';

/**
 * The live pipeline's gateway as a process of its own (`ipa live gateway`, which `ipa live up`
 * starts): one `PipelineGateway` that routes by the pipeline's `replicas.json`. The local actuator
 * writes that file (a new version for each replica set) and polls `GET /ipa/status` until the
 * gateway reports the version, and until the replicas it took out of routing have no request in
 * flight, before it stops them.
 */
export interface GatewayProcessOptions {
  /** A pipeline name under profiles/pipelines/ or a spec file. */
  pipeline: string;
  stateDir?: string;
  /** Port on 127.0.0.1; a free one when absent. */
  port?: number;
  /** How often replicas.json is checked for a new version (default 200 ms: fs.watch misses renames). */
  pollMs?: number;
}

/** What `GET /ipa/status` answers. */
export interface GatewayProcessStatus {
  pipeline: string;
  /** The replicas.json version the gateway routes by (0: none read yet, or no file). */
  routesVersion: number;
  /** Why the last replicas.json could not be applied, while that lasts. */
  routesError?: string;
  ready: boolean;
  outcomes: OutcomeCounts;
  stages: StageStatus[];
}

export interface RunningGateway {
  gateway: PipelineGateway;
  url: string;
  status(): GatewayProcessStatus;
  /** Stops polling and closes the gateway; safe to call twice. */
  close(): Promise<void>;
}

/** Each stage's routed replicas in a replica set, as gateway endpoints; throws on a record the gateway cannot take. */
export function routesOf(state: LiveReplicas, stages: string[]): Map<string, ReplicaEndpoint[]> {
  const routes = new Map<string, ReplicaEndpoint[]>(stages.map((s) => [s, []]));
  state.replicas.forEach((r, i) => {
    const where = `replicas[${i}] (${r?.id ?? 'no id'})`;
    const endpoints = routes.get(r?.stage);
    if (!endpoints)
      throw new Error(`${where}: stage ${JSON.stringify(r?.stage)} is not a stage of ${state.pipeline} (${stages.join(', ')})`);
    if (!r.routed) return;
    if (typeof r.url !== 'string' || typeof r.model !== 'string') throw new Error(`${where}: needs a url and a model`);
    if (!Number.isInteger(r.batch) || r.batch < 1)
      throw new Error(`${where}: batch must be an integer ≥ 1, got ${JSON.stringify(r.batch)}`);
    endpoints.push({ baseUrl: r.url, model: r.model, maxInFlight: r.batch });
  });
  return routes;
}

/** Starts the gateway of a pipeline and keeps its replica sets in step with replicas.json. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<RunningGateway> {
  const spec = await resolvePipelineSpec(options.pipeline);
  const pipeline = spec.name;
  const stages = spec.stages.map((s) => s.name);
  const file = replicasFile(pipeline, options.stateDir);
  const gateway = await PipelineGateway.start({
    pipeline,
    stages,
    slaMs: spec.slaMs,
    ...(options.port === undefined ? {} : { port: options.port }),
  });

  let routesVersion = 0;
  let routesError: string | undefined;
  /** What the file looked like when last read: a rename gives a new inode, a write a new mtime. */
  let seen = '';

  const sync = async (): Promise<void> => {
    const info = await stat(file).catch(() => undefined);
    const signature = info ? `${info.ino}:${info.mtimeMs}:${info.size}` : 'none';
    if (signature === seen) return;
    let state: LiveReplicas;
    try {
      state = await readReplicas(pipeline, options.stateDir);
    } catch (error) {
      // Half a file from a writer that does not rename, say: the next poll reads it again.
      routesError = (error as Error).message;
      return;
    }
    seen = signature;
    if (state.version === routesVersion && routesError === undefined && info) return;
    try {
      if (state.pipeline !== undefined && state.pipeline !== pipeline) {
        throw new Error(`${file} is the replica set of ${JSON.stringify(state.pipeline)}, not of ${pipeline}`);
      }
      const routes = routesOf(state, stages);
      for (const [stage, endpoints] of routes) gateway.setReplicas(stage, endpoints);
      routesVersion = state.version;
      routesError = undefined;
      log.info(
        { pipeline, routesVersion, routed: Object.fromEntries([...routes].map(([s, e]) => [s, e.map((x) => `${x.baseUrl}/${x.model}`)])) },
        'gateway routes by a new replica set',
      );
    } catch (error) {
      routesError = `replica set version ${state.version} not applied: ${(error as Error).message}`;
      log.error({ pipeline, file, error: routesError }, 'gateway cannot route by replicas.json');
    }
  };

  const status = (): GatewayProcessStatus => ({
    pipeline,
    routesVersion,
    ...(routesError === undefined ? {} : { routesError }),
    ready: gateway.ready(),
    outcomes: gateway.outcomes(),
    stages: gateway.status(),
  });
  gateway.addJsonRoute('/ipa/status', status);

  await sync();
  let closed = false;
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    // One read at a time: a slow disk must not pile up polls.
    polling = polling
      .then(() => (closed ? undefined : sync()))
      .catch((error) => log.error({ error: (error as Error).message }, 'replicas.json poll failed'));
  }, options.pollMs ?? 200);

  return {
    gateway,
    url: gateway.url,
    status,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await polling;
      await gateway.close();
    },
  };
}

/** `ipa live gateway`: runs until SIGTERM or SIGINT, then closes the gateway and returns. */
export async function runGatewayProcess(options: GatewayProcessOptions): Promise<void> {
  const running = await startGatewayProcess(options);
  log.info({ pipeline: running.status().pipeline, url: running.url }, 'live gateway running');
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'live gateway stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await running.close();
}
