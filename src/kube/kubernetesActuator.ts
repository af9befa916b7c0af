import { type AppsV1Api, type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import type { Actuator, ApplyRequest } from '../actuators/actuator.js';
import type { KubernetesActuatorSpec } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import type { ApplyOutcome, StageReadiness } from '../model/decisionRecord.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import { ValidationError } from '../model/validation.js';
import { classify, isConflict } from './apiErrors.js';
import { appsApi, coreApi } from './client.js';
import { type ClusterRoom, readClusterRoom } from './clusterRoom.js';
import { mergePatch } from './mergePatch.js';
import { CapacityError, planRollouts, type RolloutStep, type StageRollout } from './rolloutPlan.js';
import {
  LABELS,
  newPodsAvailable,
  rolloutReady,
  runningStage,
  type StageTarget,
  templateDiffers,
  withStage,
  withSurge,
} from './stageDeployment.js';

/** Read-modify-write attempts when another writer got in between (HTTP 409). */
const CONFLICT_ATTEMPTS = 5;
const POLL_MS = 500;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Located {
  namespace: string;
  name: string;
  deployment: V1Deployment;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Whether `change` leaves the Deployment as it is: no merge patch, whatever order the API server's keys come in. */
const unchangedBy = (deployment: V1Deployment, change: (d: V1Deployment) => V1Deployment) =>
  mergePatch(deployment, change(deployment)) === undefined;

/**
 * Puts decisions on the stage Deployments of a pipeline: found by labels, only in the namespaces
 * it is given, changed so that capacity dips least (new variants and larger counts first where
 * the nodes have room for them beside the running pods, else rolled with the surge that fits; wait
 * for them, then smaller counts), never asking for more pods than the nodes hold, idempotent (a
 * decision already in place writes nothing).
 */
export class KubernetesActuator implements Actuator {
  constructor(
    private readonly spec: KubernetesActuatorSpec,
    private readonly api: AppsV1Api = appsApi(),
    private readonly core: CoreV1Api = coreApi(),
  ) {}

  /** Each stage's Deployment; a missing or doubled stage is an error no retry mends. */
  async locate(pipeline: string, stages: string[]): Promise<Map<string, Located>> {
    const byStage = new Map<string, Located[]>();
    for (const namespace of this.spec.namespaces) {
      const list = await this.api.listNamespacedDeployment({ namespace, labelSelector: `${LABELS.pipeline}=${pipeline}` }).catch((err) => {
        throw classify(err, `listing Deployments of ${pipeline} in ${namespace}`);
      });
      for (const deployment of list.items) {
        const stage = deployment.metadata?.labels?.[LABELS.stage];
        if (!stage) continue;
        byStage.set(stage, [...(byStage.get(stage) ?? []), { namespace, name: deployment.metadata?.name ?? '', deployment }]);
      }
    }
    const where = `namespace${this.spec.namespaces.length > 1 ? 's' : ''} ${this.spec.namespaces.join(', ')}`;
    const located = new Map<string, Located>();
    for (const stage of stages) {
      const found = byStage.get(stage) ?? [];
      const selector = `${LABELS.pipeline}=${pipeline},${LABELS.stage}=${stage}`;
      if (found.length === 0)
        throw Object.assign(new Error(`stage ${stage}: no Deployment labelled ${selector} in ${where}`), notRetryable);
      if (found.length > 1) {
        const names = found.map((f) => `${f.namespace}/${f.name}`).join(', ');
        throw Object.assign(new Error(`stage ${stage}: ${found.length} Deployments labelled ${selector}: ${names}`), notRetryable);
      }
      located.set(stage, found[0] as Located);
    }
    return located;
  }

  async apply(request: ApplyRequest, progress: (detail: string) => void = () => {}): Promise<ApplyOutcome> {
    const stages = request.config.stages;
    const located = await this.locate(
      request.pipeline,
      stages.map((s) => s.stage),
    );
    const targets = stages.map((stage): StageTarget => {
      const resources = request.shapes?.[stage.shape];
      if (!resources)
        throw new ValidationError('apply request', [{ path: `shapes.${stage.shape}`, message: 'required: the resources of the shape' }]);
      return { stage, resources, maxBatchWaitMs: stage.batchTimeoutMs ?? request.maxBatchWaitMs ?? 0, decisionId: request.decisionId };
    });
    const at = (i: number) => located.get((stages[i] as Config['stages'][number]).stage) as Located;

    if (targets.every((t, i) => unchangedBy(at(i).deployment, (d) => withStage(d, t, this.spec)))) {
      return { actuator: 'kubernetes', status: 'unchanged', detail: `decision ${request.decisionId} is already in place` };
    }
    const rollouts = targets.map((target, i): StageRollout => {
      const current = at(i).deployment;
      return {
        stage: target.stage.stage,
        running: current.spec?.replicas ?? 1,
        target: target.stage.replicas,
        newPods: templateDiffers(current, withStage(current, target, this.spec)),
        resources: { cpu: target.resources.cpu, gpu: target.resources.gpu },
        kind: target.resources.gpu > 0 ? 'gpu' : 'cpu',
        ownPods: [],
      };
    });
    const { steps, notes } = await this.plan(request.pipeline, rollouts);

    // Grow first: new pods (a new variant, shape or batch) and higher counts, at no fewer replicas
    // than run now, so the old ones keep serving until enough new ones are available.
    const grown = steps.flatMap((step, i) => (step.grow ? [i] : []));
    for (const i of grown) {
      const grow = (steps[i] as RolloutStep).grow as NonNullable<RolloutStep['grow']>;
      await this.write(at(i), (latest) => withSurge(withStage(latest, targets[i] as StageTarget, this.spec, grow.replicas), grow.surge));
    }
    const deadline = Date.now() + this.spec.rolloutTimeoutSeconds * 1000;
    await this.waitNew(
      grown.map((i) => ({ target: at(i), count: (steps[i] as RolloutStep).grow?.waitNew ?? 0 })),
      deadline,
      progress,
    );
    for (const [i, target] of targets.entries()) {
      const step = steps[i] as RolloutStep;
      await this.write(at(i), (latest) => withSurge(withStage(latest, target, this.spec, step.replicas), step.grow?.surge));
    }
    const readiness = await this.waitReady(
      targets.map((_, i) => at(i)),
      deadline,
      progress,
    );
    const stagesReady: StageReadiness[] = readiness.map((r, i) => ({ stage: (stages[i] as Config['stages'][number]).stage, ...r }));
    const pending = stagesReady.filter((r) => r.ready < r.wanted);
    const summary = stagesReady.map((r) => `${r.stage} ${r.ready}/${r.wanted} ready`).join(', ');
    const surges = steps.flatMap((step) => (step.grow?.surge ? [{ stage: step.stage, ...step.grow.surge }] : []));
    const capped = steps.some((step, i) => step.replicas < (stages[i] as Config['stages'][number]).replicas);
    return {
      actuator: 'kubernetes',
      status: 'applied',
      detail: [pending.length === 0 ? summary : `${summary} (not all ready after ${this.spec.rolloutTimeoutSeconds} s)`, ...notes].join(
        '; ',
      ),
      stages: stagesReady,
      ...(surges.length > 0 ? { rollouts: surges } : {}),
      ...(capped ? { config: { stages: stages.map((s, i) => ({ ...s, replicas: (steps[i] as RolloutStep).replicas })) } } : {}),
    };
  }

  /**
   * The rollout of each stage, planned with the room the nodes have. Without the nodes (a worker
   * whose RBAC lacks the nodes ClusterRole: 403) it grows first, as before it knew them, and says so.
   */
  private async plan(pipeline: string, rollouts: StageRollout[]): Promise<{ steps: RolloutStep[]; notes: string[] }> {
    let room: ClusterRoom;
    try {
      room = await readClusterRoom(this.core, this.spec.namespaces, pipeline);
    } catch (err) {
      // Only a worker not allowed to read nodes goes on without them; anything else is retried.
      if ((err as { failureType?: string }).failureType !== FAILURE_TYPES.forbidden) throw err;
      const steps = rollouts.map((r): RolloutStep => {
        if (!r.newPods && r.target <= r.running) return { stage: r.stage, replicas: r.target };
        const replicas = Math.max(r.running, r.target);
        return { stage: r.stage, replicas: r.target, grow: { replicas, waitNew: replicas } };
      });
      return { steps, notes: [`capacity unknown, grew first (${(err as Error).message})`] };
    }
    try {
      const steps = planRollouts(
        rollouts.map((r) => ({ ...r, ownPods: room.podsOf(r.stage) })),
        room.nodes,
      );
      return { steps, notes: steps.flatMap((s) => (s.note ? [s.note] : [])) };
    } catch (err) {
      if (err instanceof CapacityError)
        throw Object.assign(new Error(`the decision does not fit the cluster: ${err.message}`), notRetryable);
      throw err;
    }
  }

  /** The running config, read from the stage Deployments, to adopt when a loop starts. */
  async running(pipeline: string, stages: string[]): Promise<{ config?: Config; reason: string }> {
    const located = await this.locate(pipeline, stages);
    const config: Config['stages'] = [];
    for (const stage of stages) {
      const { namespace, name, deployment } = located.get(stage) as Located;
      const running = runningStage(deployment, stage, this.spec);
      if (!running)
        return {
          reason: `${namespace}/${name} does not say its variant (env ${this.spec.env.variant}) and shape (annotation ipa.io/shape)`,
        };
      config.push(running);
    }
    return {
      config: { stages: config },
      reason: `adopted from ${stages.map((s) => `${located.get(s)?.namespace}/${located.get(s)?.name}`).join(', ')}`,
    };
  }

  /**
   * Read, change, write back as a merge patch that carries the read's resourceVersion: the API
   * server refuses it with 409 if anyone wrote in between, and then it reads again. (A patch
   * rather than a PUT keeps the RBAC verbs to get/list/watch/patch.)
   */
  private async write(target: Located, change: (latest: V1Deployment) => V1Deployment): Promise<void> {
    const { namespace, name } = target;
    for (let attempt = 1; ; attempt++) {
      const latest = await this.api.readNamespacedDeployment({ namespace, name }).catch((err) => {
        throw classify(err, `reading Deployment ${namespace}/${name}`);
      });
      const patch = mergePatch(latest, change(latest)) as { metadata?: Record<string, unknown> } | undefined;
      if (patch === undefined) {
        target.deployment = latest;
        return;
      }
      const body = { ...patch, metadata: { ...patch.metadata, resourceVersion: latest.metadata?.resourceVersion } };
      try {
        target.deployment = await this.api.patchNamespacedDeployment({ namespace, name, body }, MERGE_PATCH);
        return;
      } catch (err) {
        if (isConflict(err) && attempt < CONFLICT_ATTEMPTS) continue;
        throw classify(err, `updating Deployment ${namespace}/${name}`);
      }
    }
  }

  /** Polls until each Deployment has `count` pods of its new template available, or the deadline passes. */
  private async waitNew(
    targets: { target: Located; count: number }[],
    deadline: number,
    progress: (detail: string) => void,
  ): Promise<void> {
    for (;;) {
      const available = await Promise.all(
        targets.map(async ({ target }) => {
          const latest = await this.read(target);
          const sets = await this.api
            .listNamespacedReplicaSet({ namespace: target.namespace, labelSelector: selectorOf(latest) })
            .catch((err) => {
              throw classify(err, `listing ReplicaSets of ${target.namespace}/${target.name}`);
            });
          return newPodsAvailable(latest, sets.items);
        }),
      );
      progress(available.map((n, i) => `${targets[i]?.target.name} ${n}/${targets[i]?.count} new available`).join(', '));
      if (available.every((n, i) => n >= (targets[i]?.count ?? 0)) || Date.now() >= deadline) return;
      await sleep(POLL_MS);
    }
  }

  private read(t: Located): Promise<V1Deployment> {
    return this.api.readNamespacedDeployment({ namespace: t.namespace, name: t.name }).catch((err) => {
      throw classify(err, `reading Deployment ${t.namespace}/${t.name}`);
    });
  }

  /** Polls until every Deployment's rollout is done or the deadline passes; returns what is ready. */
  private async waitReady(
    targets: Located[],
    deadline: number,
    progress: (detail: string) => void,
  ): Promise<{ ready: number; wanted: number }[]> {
    for (;;) {
      const states = await Promise.all(targets.map(async (t) => rolloutReady(await this.read(t))));
      progress(states.map((s, i) => `${targets[i]?.name} ${s.ready}/${s.wanted}`).join(', '));
      if (states.every((s) => s.done) || Date.now() >= deadline) return states.map(({ ready, wanted }) => ({ ready, wanted }));
      await sleep(POLL_MS);
    }
  }
}

const selectorOf = (d: V1Deployment) =>
  Object.entries(d.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const notRetryable = { retryable: false, failureType: FAILURE_TYPES.invalidConfig };
