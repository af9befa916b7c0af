/**
 * How a decision's stage Deployments are rolled on a cluster of known size (issue 18, item 3):
 * grow first where the new pods fit beside the running ones, so capacity never dips; else roll
 * with the surge that fits (Deployment `maxSurge`/`maxUnavailable`), so it dips least; and never
 * ask for more pods than the nodes hold. Pure: the actuator reads the nodes and pods, this plans.
 */

/** Requests of one pod, or room on a node: cores and GPUs. */
export interface Resources {
  cpu: number;
  gpu: number;
}

/** A node a stage's pods can land on: its kind label (the actuator's node selector) and what is left of its allocatable. */
export interface NodeRoom {
  name: string;
  kind: string;
  free: Resources;
}

/** One stage of a decision, as the cluster runs it now and as decided. */
export interface StageRollout {
  stage: string;
  /** Replicas the Deployment has now. */
  running: number;
  /** Replicas decided. */
  target: number;
  /** The decision changes the pod template (variant, shape or batch): every pod is replaced. */
  newPods: boolean;
  /** Requests of one pod of the decided shape, and the node kind it goes to. */
  resources: Resources;
  kind: string;
  /** Where this stage's pods run now, and what each requests: freed once a rollout replaces them. */
  ownPods: { node: string; resources: Resources }[];
}

/** A Deployment's `rollingUpdate`: pods above `replicas` while rolling, and pods it may be short. */
export interface Surge {
  maxSurge: number;
  maxUnavailable: number;
}

/** What the actuator writes and waits for, per stage. */
export interface RolloutStep {
  stage: string;
  /**
   * The first write, before any stage shrinks: the replicas, the rolling update's surge when
   * the pods are replaced, and how many pods of the new template must be available before the
   * final write. Absent when the stage only keeps or lowers its count.
   */
  grow?: { replicas: number; surge?: Surge; waitNew: number };
  /** Replicas of the final write: the decided count, or fewer when no more fit. */
  replicas: number;
  /** What the rollout had to do differently from growing first, for the decision record. */
  note?: string;
}

export class CapacityError extends Error {}

const EPSILON = 1e-9;

function podsOn(room: Resources, pod: Resources): number {
  const byCpu = pod.cpu > 0 ? Math.floor(room.cpu / pod.cpu + EPSILON) : Number.POSITIVE_INFINITY;
  const byGpu = pod.gpu > 0 ? Math.floor(room.gpu / pod.gpu + EPSILON) : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(byCpu, byGpu));
}

/** Pods of `pod` size that fit on the nodes of `kind`, each node filled on its own (a pod cannot span nodes). */
export function podsThatFit(nodes: readonly NodeRoom[], kind: string, pod: Resources): number {
  let total = 0;
  for (const node of nodes) if (node.kind === kind) total += podsOn(node.free, pod);
  return Number.isFinite(total) ? total : Number.MAX_SAFE_INTEGER;
}

/** Takes `count` pods' room from the nodes of `kind`, first fit, as the scheduler would place them. */
function reserve(nodes: NodeRoom[], kind: string, pod: Resources, count: number): void {
  let left = count;
  for (const node of nodes) {
    if (left === 0) return;
    if (node.kind !== kind) continue;
    const here = Math.min(left, podsOn(node.free, pod));
    node.free = { cpu: node.free.cpu - here * pod.cpu, gpu: node.free.gpu - here * pod.gpu };
    left -= here;
  }
}

function release(nodes: NodeRoom[], pods: StageRollout['ownPods']): void {
  for (const pod of pods) {
    const node = nodes.find((n) => n.name === pod.node);
    if (node) node.free = { cpu: node.free.cpu + pod.resources.cpu, gpu: node.free.gpu + pod.resources.gpu };
  }
}

const copy = (nodes: readonly NodeRoom[]): NodeRoom[] => nodes.map((n) => ({ ...n, free: { ...n.free } }));
const podsWord = (n: number) => `${n} pod${n === 1 ? '' : 's'}`;

/**
 * The rollout of every stage, in order: each stage plans with the room the stages before it leave,
 * both while they grow (`now`) and once they are done (`after`, their replaced pods gone).
 * Throws CapacityError when a stage cannot place a single pod of its decided shape.
 */
export function planRollouts(stages: readonly StageRollout[], nodes: readonly NodeRoom[]): RolloutStep[] {
  const now = copy(nodes);
  const after = copy(nodes);
  return stages.map((s): RolloutStep => {
    const { stage, running, target, resources, kind } = s;
    if (!s.newPods) {
      if (target <= running) return { stage, replicas: target };
      const room = podsThatFit(now, kind, resources);
      const replicas = Math.min(target, running + room);
      reserve(now, kind, resources, replicas - running);
      reserve(after, kind, resources, replicas - running);
      const note = replicas < target ? `${stage}: ${replicas} of ${target} replicas fit on the ${kind} nodes` : undefined;
      return { stage, replicas, grow: { replicas, waitNew: replicas }, ...(note ? { note } : {}) };
    }
    // Every pod is replaced: the old ones still hold their room while the new ones start, and
    // give it back (to pods of the same kind) once the rollout is done.
    const beside = podsThatFit(now, kind, resources);
    release(after, s.ownPods);
    const eventually = podsThatFit(after, kind, resources);
    const replicas = Math.min(target, eventually);
    if (replicas === 0) {
      throw new CapacityError(
        `${stage}: not one pod of ${resources.cpu} cores${resources.gpu > 0 ? ` and ${resources.gpu} GPU` : ''} fits on the ${kind} nodes`,
      );
    }
    reserve(after, kind, resources, replicas);
    const capped = replicas < target ? `; ${replicas} of ${target} replicas fit on the ${kind} nodes` : '';
    const growTo = Math.max(running, replicas);
    if (beside >= growTo) {
      // Grow first: all new pods beside the old, which go once the new ones are available.
      reserve(now, kind, resources, growTo);
      return {
        stage,
        replicas,
        grow: { replicas: growTo, surge: { maxSurge: growTo, maxUnavailable: 0 }, waitNew: growTo },
        ...(capped ? { note: `${stage}: grew first${capped}` } : {}),
      };
    }
    if (beside >= 1) {
      // Room for some new pods beside the old: roll that many at a time, no old pod going before
      // its replacement is available. (On other nodes than the old pods, the Deployment then asks
      // for the next `beside` new pods, which stay pending until the final write lowers its count.)
      reserve(now, kind, resources, beside);
      return {
        stage,
        replicas,
        grow: { replicas: running, surge: { maxSurge: beside, maxUnavailable: 0 }, waitNew: Math.min(replicas, beside) },
        note: `${stage}: room for ${podsWord(beside)} of the new shape beside the ${running} running, so rolled with maxSurge ${beside}, maxUnavailable 0${capped}`,
      };
    }
    // No room beside: the old pods must make it, one at a time (same-kind nodes only, or
    // `eventually` would be 0).
    return {
      stage,
      replicas,
      grow: { replicas: running, surge: { maxSurge: 0, maxUnavailable: 1 }, waitNew: 1 },
      note: `${stage}: no room for a new pod beside the ${running} running, so replaced one at a time (maxSurge 0, maxUnavailable 1: one pod less while each starts)${capped}`,
    };
  });
}
