import { type AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import type { Actuator, ApplyRequest } from '../actuators/actuator.js';
import type { KubernetesActuatorSpec } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import type { ApplyOutcome, StageReadiness } from '../model/decisionRecord.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import { ValidationError } from '../model/validation.js';
import { classify, isConflict } from './apiErrors.js';
import { appsApi } from './client.js';
import { mergePatch } from './mergePatch.js';
import { LABELS, rolloutReady, runningStage, type StageTarget, templateDiffers, withStage } from './stageDeployment.js';

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
const sameSpec = (a: V1Deployment, b: V1Deployment) =>
  JSON.stringify(a.spec) === JSON.stringify(b.spec) && JSON.stringify(a.metadata?.annotations) === JSON.stringify(b.metadata?.annotations);

/**
 * Puts decisions on the stage Deployments of a pipeline: found by labels, only in the namespaces
 * it is given, changed so that capacity never dips (new variants and larger counts first, wait for
 * them, then smaller counts), idempotent (a decision already in place writes nothing).
 */
export class KubernetesActuator implements Actuator {
  constructor(
    private readonly spec: KubernetesActuatorSpec,
    private readonly api: AppsV1Api = appsApi(),
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
      return { stage, resources, maxBatchWaitMs: request.maxBatchWaitMs ?? 0, decisionId: request.decisionId };
    });
    const at = (i: number) => located.get((stages[i] as Config['stages'][number]).stage) as Located;

    if (targets.every((t, i) => sameSpec(withStage(at(i).deployment, t, this.spec), at(i).deployment))) {
      return { actuator: 'kubernetes', status: 'unchanged', detail: `decision ${request.decisionId} is already in place` };
    }
    // Grow first: new pods (a new variant, shape or batch) and higher counts, at no fewer replicas
    // than run now, so the old ones keep serving until the new ones are ready.
    const grown = new Set<number>();
    for (const [i, target] of targets.entries()) {
      const current = at(i).deployment;
      const running = current.spec?.replicas ?? 1;
      const desired = withStage(current, target, this.spec);
      if (templateDiffers(current, desired) || target.stage.replicas > running) {
        await this.write(at(i), (latest) =>
          withStage(latest, target, this.spec, Math.max(latest.spec?.replicas ?? 1, target.stage.replicas)),
        );
        grown.add(i);
      }
    }
    const deadline = Date.now() + this.spec.rolloutTimeoutSeconds * 1000;
    await this.waitReady([...grown].map(at), deadline, progress);
    for (const [i, target] of targets.entries()) {
      await this.write(at(i), (latest) => withStage(latest, target, this.spec));
    }
    const readiness = await this.waitReady(
      targets.map((_, i) => at(i)),
      deadline,
      progress,
    );
    const stagesReady: StageReadiness[] = readiness.map((r, i) => ({ stage: (stages[i] as Config['stages'][number]).stage, ...r }));
    const pending = stagesReady.filter((r) => r.ready < r.wanted);
    const summary = stagesReady.map((r) => `${r.stage} ${r.ready}/${r.wanted} ready`).join(', ');
    return {
      actuator: 'kubernetes',
      status: 'applied',
      detail: pending.length === 0 ? summary : `${summary} (not all ready after ${this.spec.rolloutTimeoutSeconds} s)`,
      stages: stagesReady,
    };
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
      const next = change(latest);
      if (sameSpec(next, latest)) {
        target.deployment = latest;
        return;
      }
      const patch = mergePatch(latest, next) as { metadata?: Record<string, unknown> };
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

  /** Polls until every Deployment's rollout is done or the deadline passes; returns what is ready. */
  private async waitReady(
    targets: Located[],
    deadline: number,
    progress: (detail: string) => void,
  ): Promise<{ ready: number; wanted: number }[]> {
    for (;;) {
      const states = await Promise.all(
        targets.map(async (t) => {
          const latest = await this.api.readNamespacedDeployment({ namespace: t.namespace, name: t.name }).catch((err) => {
            throw classify(err, `reading Deployment ${t.namespace}/${t.name}`);
          });
          return rolloutReady(latest);
        }),
      );
      progress(states.map((s, i) => `${targets[i]?.name} ${s.ready}/${s.wanted}`).join(', '));
      if (states.every((s) => s.done) || Date.now() >= deadline) return states.map(({ ready, wanted }) => ({ ready, wanted }));
      await sleep(POLL_MS);
    }
  }
}

const notRetryable = { retryable: false, failureType: FAILURE_TYPES.invalidConfig };
