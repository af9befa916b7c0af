import type { V1Container, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { roundTo } from '../common/roundTo.js';
import type { KubernetesActuatorSpec } from '../model/adaptInput.js';
import type { ShapeResources, StageConfig } from '../model/config.js';
import type { Surge } from './rolloutPlan.js';

/** How ipa finds and marks the Deployments it manages. */
export const LABELS = { pipeline: 'ipa.io/pipeline', stage: 'ipa.io/stage', nodeKind: 'ipa.io/node-kind' } as const;
export const ANNOTATIONS = { decision: 'ipa.io/decision', shape: 'ipa.io/shape' } as const;
export const GPU_RESOURCE = 'nvidia.com/gpu';

export type EnvNames = KubernetesActuatorSpec['env'];

/** What one stage's Deployment should run. */
export interface StageTarget {
  stage: StageConfig;
  resources: ShapeResources;
  maxBatchWaitMs: number;
  decisionId: string;
}

const quantity = (cores: number) => (Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`);

export function modelContainer(deployment: V1Deployment, name: string | undefined): V1Container | undefined {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  return name === undefined ? containers[0] : containers.find((c) => c.name === name);
}

function setEnv(container: V1Container, name: string, value: string): void {
  const env = container.env ?? [];
  const existing = env.find((e) => e.name === name);
  if (existing) {
    existing.value = value;
    delete existing.valueFrom;
  } else env.push({ name, value });
  container.env = env;
}

/**
 * The Deployment with a stage's config in place: replicas, the variant and batching env, resource
 * requests and limits of the shape, and node selection by kind (GPU shapes go to GPU nodes).
 * Everything else of the user's Deployment is kept. Returns a copy.
 */
export function withStage(
  deployment: V1Deployment,
  target: StageTarget,
  spec: Pick<KubernetesActuatorSpec, 'env' | 'container'>,
  replicas = target.stage.replicas,
): V1Deployment {
  const next = structuredClone(deployment);
  const { stage, resources } = target;
  const container = modelContainer(next, spec.container);
  const template = next.spec?.template;
  if (!next.spec || !template?.spec || !container) {
    throw new Error(`Deployment ${deployment.metadata?.name} has no container ${spec.container ?? '(first)'} to configure`);
  }
  next.spec.replicas = replicas;
  setEnv(container, spec.env.variant, stage.variant);
  setEnv(container, spec.env.maxBatchSize, String(stage.batch));
  // MLServer's max_batch_time is in seconds; a batch of one never waits.
  setEnv(container, spec.env.maxBatchTime, stage.batch > 1 ? String(target.maxBatchWaitMs / 1000) : '0');

  const requests: Record<string, string> = { ...(container.resources?.requests ?? {}), cpu: quantity(resources.cpu) };
  const limits: Record<string, string> = { ...(container.resources?.limits ?? {}), cpu: quantity(resources.cpu) };
  if (resources.gpu > 0) {
    requests[GPU_RESOURCE] = String(resources.gpu);
    limits[GPU_RESOURCE] = String(resources.gpu);
  } else {
    delete requests[GPU_RESOURCE];
    delete limits[GPU_RESOURCE];
  }
  container.resources = { ...container.resources, requests, limits };
  template.spec.nodeSelector = { ...template.spec.nodeSelector, [LABELS.nodeKind]: resources.gpu > 0 ? 'gpu' : 'cpu' };
  template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, [ANNOTATIONS.shape]: stage.shape } };
  next.metadata = {
    ...next.metadata,
    annotations: { ...next.metadata?.annotations, [ANNOTATIONS.decision]: target.decisionId, [ANNOTATIONS.shape]: stage.shape },
  };
  return next;
}

/** Whether two Deployments would run different pods (a rollout), as opposed to only more or fewer. */
export function templateDiffers(a: V1Deployment, b: V1Deployment): boolean {
  return JSON.stringify(a.spec?.template) !== JSON.stringify(b.spec?.template);
}

/** The stage config a Deployment runs, read back from what `withStage` writes; undefined if it does not say. */
export function runningStage(
  deployment: V1Deployment,
  stage: string,
  spec: Pick<KubernetesActuatorSpec, 'env' | 'container'>,
): StageConfig | undefined {
  const container = modelContainer(deployment, spec.container);
  const env = (name: string) => container?.env?.find((e) => e.name === name)?.value;
  const variant = env(spec.env.variant);
  const batch = Number(env(spec.env.maxBatchSize) ?? '1');
  const shape = deployment.metadata?.annotations?.[ANNOTATIONS.shape];
  const replicas = deployment.spec?.replicas ?? 1;
  if (!variant || !shape || !Number.isInteger(batch) || batch < 1 || replicas < 1) return undefined;
  // The batch timeout in seconds, as MLServer reads it; only a batch above 1 waits.
  const timeoutSeconds = Number(env(spec.env.maxBatchTime) ?? Number.NaN);
  const batchTimeoutMs =
    batch > 1 && Number.isFinite(timeoutSeconds) && timeoutSeconds >= 0 ? roundTo(timeoutSeconds * 1000, 3) : undefined;
  return { stage, variant, shape, batch, replicas, ...(batchTimeoutMs !== undefined ? { batchTimeoutMs } : {}) };
}

/** Ready when the controller has seen the latest spec and every wanted replica is updated and available. */
export function rolloutReady(deployment: V1Deployment): { ready: number; wanted: number; done: boolean } {
  const wanted = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const ready = Math.min(updated, available);
  return { ready, wanted, done: observed && updated >= wanted && available >= wanted && (status.replicas ?? 0) <= wanted };
}

/**
 * The Deployment rolling with `surge`, or as it is when there is none. A Deployment the user set
 * to `Recreate` is left so: they chose its downtime over running two versions.
 */
export function withSurge(deployment: V1Deployment, surge: Surge | undefined): V1Deployment {
  if (!surge || !deployment.spec || deployment.spec.strategy?.type === 'Recreate') return deployment;
  const next = structuredClone(deployment);
  (next.spec as NonNullable<V1Deployment['spec']>).strategy = { type: 'RollingUpdate', rollingUpdate: { ...surge } };
  return next;
}

const REVISION = 'deployment.kubernetes.io/revision';

/**
 * Available pods of the Deployment's current template: those of its ReplicaSet of the current
 * revision. 0 until the controller has seen the latest spec, whose revision is not yet known.
 */
export function newPodsAvailable(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]): number {
  if ((deployment.status?.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return 0;
  const revision = deployment.metadata?.annotations?.[REVISION];
  const uid = deployment.metadata?.uid;
  const current = replicaSets.find(
    (rs) => rs.metadata?.annotations?.[REVISION] === revision && rs.metadata?.ownerReferences?.some((o) => o.uid === uid),
  );
  return current?.status?.availableReplicas ?? 0;
}
