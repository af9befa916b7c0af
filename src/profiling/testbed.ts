import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../common/log.js';
import { cacheDir, projectRoot } from '../common/paths.js';
import type { StartPriority } from '../tooling/cpuLimit.js';
import { freePort } from '../tooling/freePort.js';
import { startServerProcess } from './serverProcess.js';

/** One trained model of the testbed pipeline, with its accuracy (%) on held-out data. */
export interface TestbedVariant {
  name: string;
  stage: string;
  accuracy: number;
}

export interface Testbed {
  /** The venv's python. */
  python: string;
  /** The venv's `mlserver` command. */
  mlserver: string;
  /** One folder per variant: model.joblib, model-settings.json, accuracy.json. */
  modelsDir: string;
  variants: TestbedVariant[];
}

export const testbedDir = join(projectRoot, 'deploy', 'testbed');

let testbed: Promise<Testbed> | undefined;

/**
 * Creates the MLServer venv and trains the variants the first time (about a minute cold, mostly
 * pip); later calls reuse them. setup.py keeps its own stamps, so this is cheap across processes
 * too, and one promise per process keeps parallel callers from running it twice.
 */
export function ensureTestbed(): Promise<Testbed> {
  testbed ??= runSetup().catch((error: unknown) => {
    testbed = undefined;
    throw error;
  });
  return testbed;
}

async function runSetup(): Promise<Testbed> {
  const python = process.env.IPA_PYTHON ?? 'python3';
  const script = join(testbedDir, 'setup.py');
  const startedAt = Date.now();
  const child = spawn(python, [script, '--venv', join(cacheDir, 'testbed-venv')], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
    for (const line of chunk.toString().split('\n')) if (line.startsWith('[testbed]')) log.info(line.slice(10));
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`could not run ${python} ${script}: ${error.message}`)));
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`${python} ${script} exited with ${code}:\n${stderr}`);
  const last = stdout.trim().split('\n').pop() ?? '';
  const result = JSON.parse(last) as Testbed & { variants: (TestbedVariant & Record<string, unknown>)[] };
  log.debug({ ms: Date.now() - startedAt, variants: result.variants.length }, 'testbed ready');
  return {
    python: result.python,
    mlserver: result.mlserver,
    modelsDir: result.modelsDir,
    variants: result.variants.map(({ name, stage, accuracy }) => ({ name, stage, accuracy })),
  };
}

/** What a server prints when a port it was given is taken (MLServer: uvicorn's Errno 98, gRPC's "Address already in use"). */
export const PORT_TAKEN = /address already in use|EADDRINUSE|Errno 98/i;

export interface ModelServerOptions {
  variant: string;
  /** HTTP port; a free one when absent. gRPC and metrics always get free ones. */
  port?: number;
  /** MLServer adaptive batching: requests merged into one predict call (1 = off). */
  maxBatchSize?: number;
  /** How long MLServer waits to fill a batch. */
  maxBatchTimeMs?: number;
  /** MLServer inference worker processes; 0 runs inference in the server process. Default 1 (MLServer's). */
  parallelWorkers?: number;
  /** Time allowed from start to the model answering ready; default 120 s. */
  readyTimeoutMs?: number;
  /** Cores the server may run on (`taskset`), so a `cpu-N` shape gets N cores; all when absent. */
  cores?: number[];
  /**
   * A CPU limit in cores (a `cpu-Nm` shape), enforced once the server is ready: a start-up boost,
   * as Kubernetes' in-place resize gives, so a replica's start does not crawl at a quarter core.
   */
  cpuLimit?: number;
  /** How it starts beside servers that serve (serverProcess.ts); default `low`. */
  startPriority?: StartPriority;
  /**
   * A folder the caller keeps (the model settings and `server.log` go there): the server then
   * outlives this process, for a restarted worker to adopt. A temporary folder, and a server
   * killed when this process exits, when absent.
   */
  workDir?: string;
  /** Stops the server and rejects with the signal's reason while it is starting. */
  signal?: AbortSignal;
}

export interface ModelServer {
  /** The OIP v2 base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  model: string;
  /** Leader of the server's process group. */
  pgid: number;
  /** The cgroup of its CPU limit, if it has one. */
  cgroup?: string;
  /** Stops every process of the server and removes its temporary folder; safe to call twice. */
  stop(): Promise<void>;
}

function checkBatching(options: ModelServerOptions): { maxBatchSize: number; maxBatchTimeMs: number } {
  const maxBatchSize = options.maxBatchSize ?? 1;
  const maxBatchTimeMs = options.maxBatchTimeMs ?? 0;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)
    throw new Error(`maxBatchSize must be an integer ≥ 1, got ${JSON.stringify(options.maxBatchSize)}`);
  if (!Number.isFinite(maxBatchTimeMs) || maxBatchTimeMs < 0)
    throw new Error(`maxBatchTimeMs must be a number ≥ 0, got ${JSON.stringify(options.maxBatchTimeMs)}`);
  if (options.cores !== undefined && (options.cores.length === 0 || options.cores.some((c) => !Number.isInteger(c) || c < 0))) {
    throw new Error(`cores must be a non-empty list of core numbers, got ${JSON.stringify(options.cores)}`);
  }
  if (options.cpuLimit !== undefined && !(Number.isFinite(options.cpuLimit) && options.cpuLimit > 0)) {
    throw new Error(`cpuLimit must be a number of cores > 0, got ${JSON.stringify(options.cpuLimit)}`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new Error(`port must be an integer in 1..65535, got ${JSON.stringify(options.port)}`);
  }
  return { maxBatchSize, maxBatchTimeMs };
}

/**
 * Serves one testbed variant with `mlserver start`, bound to 127.0.0.1, in its own process
 * group, and resolves once the server and the model answer ready. The model folder is a
 * temporary copy of the variant's settings (pointing at the trained file), so each server can
 * have its own batching without touching deploy/testbed/models.
 */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const batching = checkBatching(options);
  const bed = await ensureTestbed();
  const variant = bed.variants.find((v) => v.name === options.variant);
  if (!variant) {
    throw new Error(
      `variant ${JSON.stringify(options.variant)} is not in the testbed; known: ${bed.variants.map((v) => v.name).join(', ')}`,
    );
  }
  const variantDir = join(bed.modelsDir, variant.name);
  const settings = JSON.parse(await readFile(join(variantDir, 'model-settings.json'), 'utf8')) as Record<string, unknown>;
  const parameters = { ...(settings.parameters as Record<string, unknown>), uri: join(variantDir, 'model.joblib') };
  const modelSettings = { ...settings, parameters, max_batch_size: batching.maxBatchSize, max_batch_time: batching.maxBatchTimeMs / 1000 };

  // A port picked free can be taken before MLServer binds it; a second try with new ports covers that race.
  for (let attempt = 1; ; attempt++) {
    const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), `ipa-mlserver-${variant.name}-`)));
    const modelDir = join(workDir, 'model');
    await mkdir(modelDir, { recursive: true });
    await writeFile(join(modelDir, 'model-settings.json'), `${JSON.stringify(modelSettings, null, 2)}\n`);
    const httpPort = options.port ?? (await freePort());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLSERVER_HOST: '127.0.0.1',
      MLSERVER_HTTP_PORT: String(httpPort),
      MLSERVER_GRPC_PORT: String(await freePort()),
      MLSERVER_METRICS_PORT: String(await freePort()),
      // Otherwise MLServer writes its metrics files into the folder it was started from.
      MLSERVER_METRICS_DIR: join(workDir, 'metrics'),
      MLSERVER_PARALLEL_WORKERS: String(options.parallelWorkers ?? 1),
      MLSERVER_DEBUG: 'false',
    };
    const url = `http://127.0.0.1:${httpPort}`;
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    const started = await startServerProcess({
      command: [bed.mlserver, 'start', modelDir],
      endpoint: { baseUrl: url, model: variant.name },
      ...(options.cores ? { cores: options.cores } : {}),
      ...(options.cpuLimit !== undefined ? { cpuLimit: options.cpuLimit } : {}),
      ...(options.startPriority ? { startPriority: options.startPriority } : {}),
      limitName: `${variant.name}-${httpPort}`,
      cwd: workDir,
      env,
      ...(options.workDir ? { logFile: join(workDir, 'server.log') } : {}),
      readyTimeoutMs,
      stuckOn: PORT_TAKEN,
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch(async (err: unknown) => {
      if (!options.workDir) await rm(workDir, { recursive: true, force: true });
      throw err;
    });
    if (started.ready) {
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        try {
          await started.stop();
        } finally {
          if (!options.workDir) await rm(workDir, { recursive: true, force: true });
        }
      };
      log.info(
        { variant: variant.name, url, pgid: started.group.pgid, cores: options.cores, cpuLimit: options.cpuLimit, ...batching },
        'model server ready',
      );
      return { url, model: variant.name, pgid: started.group.pgid, ...(started.cgroup ? { cgroup: started.cgroup } : {}), stop };
    }
    const { output, why } = started;
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
    if (attempt < 2 && options.port === undefined && PORT_TAKEN.test(output)) {
      log.warn({ variant: variant.name, httpPort }, 'model server port taken, retrying on other ports');
      // The next try appends to a fresh log: the old one's bind error would read as the new one's.
      if (options.workDir) await rename(join(workDir, 'server.log'), join(workDir, `server-${attempt}.log`)).catch(() => undefined);
      continue;
    }
    throw new Error(`mlserver for variant ${variant.name} on ${url} ${why}:\n${output.slice(-4000)}`);
  }
}
