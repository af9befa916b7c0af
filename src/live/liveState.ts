import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultStateDir } from '../common/paths.js';
import type { Config } from '../model/config.js';
import { isAlive, processStartTime } from '../tooling/processGroup.js';

/**
 * The live pipeline's state folder, one per pipeline under the live root, shared by the processes
 * that run it: the local actuator (in the worker) writes `replicas.json`, the gateway routes by
 * it, `ipa live up|down|status` and a restarted worker read it. Plain files, so any of them can
 * die and the others, or their next incarnation, find what runs.
 *
 *   LIVE_ROOT/PIPELINE/replicas.json     what the actuator runs and which replicas take traffic
 *   LIVE_ROOT/PIPELINE/gateway.json      the gateway's process and URL
 *   LIVE_ROOT/PIPELINE/prometheus.json   the Prometheus that scrapes it
 *   LIVE_ROOT/PIPELINE/replicas/ID/      one replica's model settings and server.log
 */

/** `.ipa/live` of the project unless IPA_LIVE_DIR or the actuator's `stateDir` says otherwise. */
export function liveRoot(stateDir?: string): string {
  return resolve(stateDir ?? process.env.IPA_LIVE_DIR ?? join(defaultStateDir, 'live'));
}

export function pipelineDir(pipeline: string, stateDir?: string): string {
  return join(liveRoot(stateDir), pipeline);
}

/** A process another process started: the pid and its start time, which a reused pid does not share. */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

/** One model-server replica the local actuator runs. */
export interface ReplicaRecord {
  /** `STAGE-VARIANT-PORT`: unique while it runs, and its folder's name. */
  id: string;
  stage: string;
  variant: string;
  shape: string;
  batch: number;
  maxBatchWaitMs: number;
  /** OIP v2 server root and the model it serves. */
  url: string;
  model: string;
  /** Leader of its process group. */
  process: ProcessRef;
  cgroup?: string;
  workDir: string;
  /** The decision that started it. */
  decisionId: string;
  /** False while it drains: the gateway sends it no new request. */
  routed: boolean;
}

export interface LiveReplicas {
  pipeline: string;
  /** Bumped by every write; the gateway reports the version it routes by. */
  version: number;
  /** The decision the replicas carry out, once one was applied. */
  decisionId?: string;
  config?: Config;
  replicas: ReplicaRecord[];
}

/** A server process of the live pipeline (the gateway, Prometheus), as `ipa live up` left it. */
export interface LiveServer {
  url: string;
  process: ProcessRef;
  startedAt: string;
  logFile: string;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`could not read ${file}: ${(err as Error).message}`);
  }
}

/** Write to a temporary file and rename: a reader never sees half a file. */
async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(resolve(file, '..'), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, file);
}

export function replicasFile(pipeline: string, stateDir?: string): string {
  return join(pipelineDir(pipeline, stateDir), 'replicas.json');
}

export async function readReplicas(pipeline: string, stateDir?: string): Promise<LiveReplicas> {
  return (await readJson<LiveReplicas>(replicasFile(pipeline, stateDir))) ?? { pipeline, version: 0, replicas: [] };
}

/** Writes the next version of the replica set and returns it. */
export async function writeReplicas(state: Omit<LiveReplicas, 'version'> & { version?: number }, stateDir?: string): Promise<LiveReplicas> {
  const current = await readReplicas(state.pipeline, stateDir);
  const next: LiveReplicas = { ...state, version: Math.max(current.version, state.version ?? 0) + 1 };
  await writeJson(replicasFile(state.pipeline, stateDir), next);
  return next;
}

export type LiveServerKind = 'gateway' | 'prometheus';

export function readServer(pipeline: string, kind: LiveServerKind, stateDir?: string): Promise<LiveServer | undefined> {
  return readJson<LiveServer>(join(pipelineDir(pipeline, stateDir), `${kind}.json`));
}

export function writeServer(pipeline: string, kind: LiveServerKind, server: LiveServer, stateDir?: string): Promise<void> {
  return writeJson(join(pipelineDir(pipeline, stateDir), `${kind}.json`), server);
}

/** The reference of a process this one just started. */
export async function processRef(pid: number): Promise<ProcessRef> {
  return { pid, startTime: await processStartTime(pid) };
}

/** True while the process the reference names still runs (not a later one with its pid). */
export async function stillRunning(ref: ProcessRef): Promise<boolean> {
  return isAlive(ref.pid) && (await processStartTime(ref.pid)) === ref.startTime;
}
