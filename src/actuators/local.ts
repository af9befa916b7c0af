import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJson } from '../common/getJson.js';
import { log } from '../common/log.js';
import { startCommandServer } from '../live/commandServer.js';
import {
  type LiveReplicas,
  pipelineDir,
  processRef,
  type ReplicaRecord,
  readReplicas,
  readServer,
  stillRunning,
  writeReplicas,
} from '../live/liveState.js';
import type { LocalActuatorSpec } from '../model/adaptInput.js';
import type { Config, StageConfig } from '../model/config.js';
import { configLabel } from '../model/decisionLine.js';
import type { ApplyOutcome, StageReadiness } from '../model/decisionRecord.js';
import { ValidationError, type ValidationIssue } from '../model/validation.js';
import { placementOf } from '../profiling/profilingHost.js';
import { ensureTestbed, startModelServer } from '../profiling/testbed.js';
import { cpuLimitUnavailable, removeCgroup } from '../tooling/cpuLimit.js';
import { groupAlive, stopGroup } from '../tooling/processGroup.js';
import type { Actuator, ApplyRequest } from './actuator.js';

/** What the gateway says at `GET /ipa/status` (the fields the actuator waits on). */
interface GatewayStatus {
  routesVersion: number;
  stages: { stage: string; replicas: { baseUrl: string; model: string; inFlight: number }[] }[];
}

/** A replica's settings, the part of a stage config one replica carries out. */
type ReplicaKind = Pick<ReplicaRecord, 'stage' | 'variant' | 'shape' | 'batch' | 'maxBatchWaitMs'>;

const sameKind = (a: ReplicaKind, b: ReplicaKind) =>
  a.stage === b.stage && a.variant === b.variant && a.shape === b.shape && a.batch === b.batch && a.maxBatchWaitMs === b.maxBatchWaitMs;

/** One change at a time per pipeline in this process: two applies must not both start the missing replicas. */
const locks = new Map<string, Promise<unknown>>();

function serialized<T>(pipeline: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(pipeline) ?? Promise.resolve();
  const next = previous.then(work, work);
  locks.set(
    pipeline,
    next.catch(() => {}),
  );
  return next;
}

/**
 * Runs each stage's replicas as model-server processes on this machine, behind the live
 * pipeline's gateway (`ipa live up`). A change is make-before-break: the new replicas start and
 * answer ready, the gateway routes to them, the old ones drain (no new request, the ones in
 * flight finish) and only then stop, so capacity never dips. What runs is written to the live
 * state folder after every change, so a restarted worker adopts the replicas instead of starting
 * them twice, and a replica whose process died is started again by the next apply of the same
 * config: applying converges on the config, whatever the decision id.
 */
export class LocalActuator implements Actuator {
  constructor(private readonly spec: LocalActuatorSpec) {}

  apply(request: ApplyRequest, progress: (detail: string) => void = () => {}): Promise<ApplyOutcome> {
    return serialized(request.pipeline, () => this.converge(request, progress));
  }

  /** What runs now, for a loop that starts (or restarts) to adopt. */
  async running(pipeline: string): Promise<{ config?: Config; reason: string }> {
    const { live, gone } = await this.adopt(pipeline);
    if (!live.config || live.replicas.length === 0) return { reason: 'no replica of the local actuator runs' };
    const lost = gone.length > 0 ? `; ${gone.length} replica(s) had stopped, the next step starts them again` : '';
    return {
      config: live.config,
      reason: `adopted ${live.replicas.length} running replica(s) of decision ${live.decisionId} (${configLabel(live.config)})${lost}`,
    };
  }

  /** Stops every replica of the pipeline (the loop ended, or `ipa live down`). */
  release(pipeline: string): Promise<string> {
    return serialized(pipeline, async () => {
      const { live } = await this.adopt(pipeline);
      await Promise.all(live.replicas.map(stopReplica));
      await writeReplicas({ pipeline, replicas: [] }, this.spec.stateDir);
      return live.replicas.length === 0 ? 'no replica was running' : `stopped ${live.replicas.length} replica(s)`;
    });
  }

  /** The recorded replicas whose processes still run; the others are cleaned up and returned as gone. */
  private async adopt(pipeline: string): Promise<{ live: LiveReplicas; gone: ReplicaRecord[] }> {
    const recorded = await readReplicas(pipeline, this.spec.stateDir);
    const alive: ReplicaRecord[] = [];
    const gone: ReplicaRecord[] = [];
    for (const r of recorded.replicas) ((await stillRunning(r.process)) ? alive : gone).push(r);
    if (gone.length === 0) return { live: recorded, gone };
    await Promise.all(gone.map(stopReplica));
    log.warn({ pipeline, gone: gone.map((r) => r.id) }, 'replica processes gone');
    const live = await writeReplicas({ ...recorded, replicas: alive }, this.spec.stateDir);
    return { live, gone };
  }

  private async converge(request: ApplyRequest, progress: (detail: string) => void): Promise<ApplyOutcome> {
    const startedAt = performance.now();
    const { pipeline, config, decisionId } = request;
    const maxBatchWaitMs = request.maxBatchWaitMs ?? 0;
    await checkRunnable(config, this.spec.servers ?? {});
    const { live, gone } = await this.adopt(pipeline);

    const keep: ReplicaRecord[] = [];
    const missing: { kind: ReplicaKind; index: number }[] = [];
    for (const stage of config.stages) {
      // The stage's own batch timeout (the optimizer's choice), else the spec's limit.
      const kind: ReplicaKind = { ...kindOf(stage), maxBatchWaitMs: stage.batchTimeoutMs ?? maxBatchWaitMs };
      const matching = live.replicas.filter((r) => sameKind(r, kind)).slice(0, stage.replicas);
      keep.push(...matching);
      for (let i = matching.length; i < stage.replicas; i++) missing.push({ kind, index: keep.length + missing.length });
    }
    const retire = live.replicas.filter((r) => !keep.includes(r));
    const restored = gone.length > 0 ? `; ${gone.length} replica(s) whose process had stopped replaced` : '';
    if (missing.length === 0 && retire.length === 0 && keep.every((r) => r.routed)) {
      if (live.decisionId !== decisionId && live.config && configLabel(live.config) !== configLabel(config)) {
        await writeReplicas({ ...live, decisionId, config }, this.spec.stateDir);
      }
      return {
        actuator: 'local',
        status: 'unchanged',
        detail: `${keep.length} replica(s) already run ${configLabel(config)}`,
        stages: readiness(config, keep),
      };
    }

    progress(`starting ${missing.length} replica(s)`);
    const started = await this.startAll(pipeline, decisionId, missing);
    const serving = await writeReplicas(
      {
        pipeline,
        decisionId,
        config,
        replicas: [...keep.map((r) => ({ ...r, routed: true })), ...started, ...retire.map((r) => ({ ...r, routed: false }))],
      },
      this.spec.stateDir,
    );
    progress('waiting for the gateway to route to the new replicas');
    const routed = await this.waitForGateway(pipeline, serving.version, retire);
    const servingMs = performance.now() - startedAt;
    await Promise.all(retire.map(stopReplica));
    const final = await writeReplicas(
      { pipeline, decisionId, config, replicas: serving.replicas.filter((r) => r.routed) },
      this.spec.stateDir,
    );
    const detail = [
      `started ${started.length}, stopped ${retire.length} replica(s): ${configLabel(config)}`,
      `serving ${Math.round(servingMs)} ms after apply began`,
      routed,
    ].join('; ');
    log.info(
      { pipeline, decisionId, started: started.map((r) => r.id), stopped: retire.map((r) => r.id), servingMs },
      'local replicas changed',
    );
    return {
      actuator: 'local',
      status: 'applied',
      detail: detail + restored,
      stages: readiness(config, final.replicas),
      // Only a start is a reconfiguration delay: a scale-down serves on what already ran.
      ...(started.length > 0 ? { servingMs: Math.round(servingMs) } : {}),
    };
  }

  /** Starts the replicas in parallel; if one fails, the others it started are stopped and nothing is recorded. */
  private async startAll(pipeline: string, decisionId: string, missing: { kind: ReplicaKind; index: number }[]): Promise<ReplicaRecord[]> {
    const results = await Promise.allSettled(missing.map(({ kind, index }) => this.startReplica(pipeline, decisionId, kind, index)));
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ kind: missing[i]?.kind, error: r.reason as Error }] : []));
    if (failed.length === 0) return started;
    await Promise.all(started.map(stopReplica));
    const first = failed[0] as { kind: ReplicaKind; error: Error };
    throw new Error(
      `could not start ${failed.length} of ${missing.length} replica(s); the running config stays. ` +
        `Stage ${first.kind.stage}, variant ${first.kind.variant} on ${first.kind.shape}: ${first.error.message}`,
    );
  }

  private async startReplica(pipeline: string, decisionId: string, kind: ReplicaKind, index: number): Promise<ReplicaRecord> {
    const id = `${kind.stage}-${kind.variant}-${randomBytes(3).toString('hex')}`;
    const workDir = join(pipelineDir(pipeline, this.spec.stateDir), 'replicas', id);
    // Replicas of whole-core shapes are spread round the cores, as a scheduler would.
    const placement = placementOf(kind.shape, [], index);
    const readyTimeoutMs = this.spec.readyTimeoutSeconds * 1000;
    const command = this.spec.servers?.[kind.variant];
    const starting = command
      ? startCommandServer({
          command,
          variant: kind.variant,
          batch: kind.batch,
          batchTimeoutMs: kind.maxBatchWaitMs,
          workDir,
          readyTimeoutMs,
          ...placement,
        })
      : startModelServer({
          variant: kind.variant,
          maxBatchSize: kind.batch,
          maxBatchTimeMs: kind.maxBatchWaitMs,
          readyTimeoutMs,
          workDir,
          ...placement,
        });
    const server = await starting.catch(async (err: unknown) => {
      await rm(workDir, { recursive: true, force: true });
      throw err;
    });
    return {
      id,
      ...kind,
      url: server.url,
      model: server.model,
      process: await processRef(server.pgid),
      ...(server.cgroup ? { cgroup: server.cgroup } : {}),
      workDir,
      decisionId,
      routed: true,
    };
  }

  /**
   * Waits until the gateway routes by `version`, then until the retired replicas have no request
   * in flight. Without a running gateway there is nothing to wait for: it reads the replica set
   * when it starts.
   */
  private async waitForGateway(pipeline: string, version: number, retire: ReplicaRecord[]): Promise<string> {
    const gateway = await readServer(pipeline, 'gateway', this.spec.stateDir);
    if (!gateway || !(await stillRunning(gateway.process))) return 'no gateway runs: it routes by the replica set when it starts';
    const deadline = Date.now() + this.spec.drainTimeoutSeconds * 1000;
    let status: GatewayStatus | undefined;
    while (Date.now() < deadline) {
      status = await getJson<GatewayStatus>(`${gateway.url}/ipa/status`, 1_000);
      if (status && status.routesVersion >= version) {
        const busy = inFlightOf(status, retire);
        if (busy === 0) return `gateway routes v${status.routesVersion}`;
      }
      await sleep(100);
    }
    if (!status || status.routesVersion < version) return `the gateway did not take v${version} within the drain timeout`;
    return `${inFlightOf(status, retire)} request(s) still in flight on retired replicas after ${this.spec.drainTimeoutSeconds} s`;
  }
}

function kindOf(stage: StageConfig): Omit<ReplicaKind, 'maxBatchWaitMs'> {
  return { stage: stage.stage, variant: stage.variant, shape: stage.shape, batch: stage.batch };
}

function readiness(config: Config, replicas: ReplicaRecord[]): StageReadiness[] {
  return config.stages.map((s) => ({
    stage: s.stage,
    wanted: s.replicas,
    ready: replicas.filter((r) => r.stage === s.stage && r.variant === s.variant && r.routed).length,
  }));
}

function inFlightOf(status: GatewayStatus, replicas: ReplicaRecord[]): number {
  const urls = new Set(replicas.map((r) => r.url.replace(/\/+$/, '')));
  let busy = 0;
  for (const stage of status.stages) for (const r of stage.replicas) if (urls.has(r.baseUrl.replace(/\/+$/, ''))) busy += r.inFlight;
  return busy;
}

/** Every variant must be one the testbed serves and every shape placeable here, before anything starts. */
async function checkRunnable(config: Config, servers: Record<string, string[]>): Promise<void> {
  const own = Object.keys(servers);
  const known = new Set(own);
  if (config.stages.some((s) => !known.has(s.variant))) {
    const bed = await ensureTestbed().catch((err: Error) => {
      throw new Error(
        `the local testbed (MLServer and its models) is missing and could not be set up (\`ipa setup\` installs it): ${err.message}`,
      );
    });
    for (const v of bed.variants) known.add(v.name);
  }
  const noLimit = await cpuLimitUnavailable();
  const issues: ValidationIssue[] = [];
  config.stages.forEach((s, i) => {
    if (!known.has(s.variant)) {
      issues.push({
        path: `stages[${i}].variant`,
        message: `${JSON.stringify(s.variant)} is neither a testbed variant nor one of the actuator's servers (${[...known].join(', ')})`,
      });
    }
    try {
      const placement = placementOf(s.shape, []);
      if (placement.cpuLimit !== undefined && noLimit)
        issues.push({ path: `stages[${i}].shape`, message: `${s.shape} needs a CPU limit: ${noLimit}` });
      if (!placement.cores && placement.cpuLimit === undefined) {
        issues.push({ path: `stages[${i}].shape`, message: `${s.shape} needs a GPU; the local actuator runs CPU shapes only` });
      }
    } catch (err) {
      issues.push({
        path: `stages[${i}].shape`,
        message: err instanceof ValidationError ? (err.issues[0]?.message ?? err.message) : String(err),
      });
    }
  });
  if (issues.length > 0) throw new ValidationError('config for the local actuator', issues);
}

/** Stops a replica's processes, wherever it was started from, and removes its cgroup and folder. */
async function stopReplica(replica: ReplicaRecord): Promise<void> {
  // A killed leader can leave its inference worker behind in the group: stop the group either way.
  if ((await stillRunning(replica.process)) || groupAlive(replica.process.pid)) {
    // It has drained: nothing is in flight, so a short grace. MLServer's inference worker can take
    // the whole default 10 s to honour SIGTERM, which would hold up every variant switch.
    if (!(await stopGroup(replica.process.pid, 3_000)))
      throw new Error(`replica ${replica.id} (pid ${replica.process.pid}) survived SIGKILL`);
  }
  if (replica.cgroup) await removeCgroup(replica.cgroup);
  await rm(replica.workDir, { recursive: true, force: true });
}
