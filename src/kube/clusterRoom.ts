import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { classify } from './apiErrors.js';
import type { NodeRoom, Resources, StageRollout } from './rolloutPlan.js';
import { GPU_RESOURCE, LABELS } from './stageDeployment.js';

/** What the cluster has left for the stages' pods, and where each stage's pods run now. */
export interface ClusterRoom {
  nodes: NodeRoom[];
  podsOf(stage: string): StageRollout['ownPods'];
}

/** A CPU quantity in cores: "2", "500m", "1.5". */
export function cpuCores(quantity: string | undefined): number {
  if (quantity === undefined) return 0;
  const milli = /^(\d+(?:\.\d+)?)m$/.exec(quantity);
  if (milli) return Number(milli[1]) / 1000;
  const cores = Number(quantity);
  if (!Number.isFinite(cores)) throw new Error(`not a CPU quantity: ${JSON.stringify(quantity)}`);
  return cores;
}

function requestsOf(pod: V1Pod): Resources {
  let cpu = 0;
  let gpu = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += cpuCores(c.resources?.requests?.cpu);
    gpu += Number(c.resources?.requests?.[GPU_RESOURCE] ?? 0);
  }
  return { cpu, gpu };
}

/**
 * Allocatable cores and GPUs of every schedulable node, less what the pods of `namespaces` on it
 * request. Pods of other namespaces are not readable to the worker (its Role is per namespace), so
 * on a shared node the room is an upper bound: the rollout timeout still ends a wait for a pod the
 * scheduler could not place.
 */
export async function readClusterRoom(core: CoreV1Api, namespaces: readonly string[], pipeline: string): Promise<ClusterRoom> {
  const nodeList = await core.listNode().catch((err) => {
    throw classify(err, 'listing nodes');
  });
  const nodes: NodeRoom[] = nodeList.items
    .filter((n) => !n.spec?.unschedulable)
    .map((n) => ({
      name: n.metadata?.name ?? '',
      kind: n.metadata?.labels?.[LABELS.nodeKind] ?? '',
      free: { cpu: cpuCores(n.status?.allocatable?.cpu), gpu: Number(n.status?.allocatable?.[GPU_RESOURCE] ?? 0) },
    }));
  const byStage = new Map<string, StageRollout['ownPods']>();
  for (const namespace of namespaces) {
    const pods = await core.listNamespacedPod({ namespace }).catch((err) => {
      throw classify(err, `listing pods in ${namespace}`);
    });
    for (const pod of pods.items) {
      const phase = pod.status?.phase;
      const nodeName = pod.spec?.nodeName;
      // A finished pod holds nothing; an unscheduled one holds nothing yet.
      if (!nodeName || phase === 'Succeeded' || phase === 'Failed') continue;
      const requests = requestsOf(pod);
      const node = nodes.find((n) => n.name === nodeName);
      if (node) node.free = { cpu: node.free.cpu - requests.cpu, gpu: node.free.gpu - requests.gpu };
      const labels = pod.metadata?.labels ?? {};
      const stage = labels[LABELS.stage];
      if (labels[LABELS.pipeline] === pipeline && stage) {
        byStage.set(stage, [...(byStage.get(stage) ?? []), { node: nodeName, resources: requests }]);
      }
    }
  }
  return { nodes, podsOf: (stage) => byStage.get(stage) ?? [] };
}
