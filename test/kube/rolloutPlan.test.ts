import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapacityError, type NodeRoom, planRollouts, podsThatFit, type StageRollout } from '../../src/kube/rolloutPlan.js';

const GPU_POD = { cpu: 4, gpu: 1 };
const CPU1 = { cpu: 1, gpu: 0 };
const CPU2 = { cpu: 2, gpu: 0 };
const node = (name: string, kind: string, cpu: number, gpu = 0): NodeRoom => ({ name, kind, free: { cpu, gpu } });
/** `n` pods of `resources` on `where`: the stage's pods as the cluster runs them. */
const pods = (n: number, where: string, resources = CPU1) => Array.from({ length: n }, () => ({ node: where, resources }));

/** A stage rolled to `target` pods of `resources` (on nodes of `kind`) from `running` pods of `old` on node c0. */
function stage(
  name: string,
  running: number,
  target: number,
  {
    newPods = true,
    resources = CPU1,
    kind = 'cpu',
    old = CPU1,
  }: { newPods?: boolean; resources?: typeof CPU1; kind?: string; old?: typeof CPU1 } = {},
): StageRollout {
  return { stage: name, running, target, newPods, resources, kind, ownPods: pods(running, 'c0', old) };
}

describe('rollout plan', () => {
  it('counts pods per node: a pod does not span nodes', () => {
    assert.equal(podsThatFit([node('a', 'cpu', 3), node('b', 'cpu', 3)], 'cpu', CPU2), 2);
    assert.equal(podsThatFit([node('a', 'cpu', 3), node('g', 'gpu', 32, 2)], 'gpu', GPU_POD), 2);
    assert.equal(podsThatFit([node('g', 'gpu', 32, 2)], 'cpu', CPU1), 0, 'only nodes of the kind the pods are sent to');
  });

  it('moves 9 CPU pods to the one GPU that is free without asking for 9 GPU pods', () => {
    // Issue 18's case: classify from 9 × cpu-1 to 1 × gpu-h200. Growing first would want 9 GPU
    // pods beside the 9 CPU ones; 1 fits. So: 1 new pod beside the 9 old, then down to 1.
    const classify = stage('classify', 9, 1, { resources: GPU_POD, kind: 'gpu' });
    const [step] = planRollouts([classify], [node('c0', 'cpu', 16 - 9), node('g0', 'gpu', 32, 1)]);
    assert.deepEqual(step?.grow, { replicas: 9, surge: { maxSurge: 1, maxUnavailable: 0 }, waitNew: 1 });
    assert.equal(step?.replicas, 1);
    assert.match(step?.note ?? '', /room for 1 pod of the new shape beside the 9 running, so rolled with maxSurge 1, maxUnavailable 0/);
  });

  it('grows first, with no pod unavailable, where the new pods fit beside the old', () => {
    const detect = stage('detect', 1, 2, { resources: GPU_POD, kind: 'gpu' });
    const [step] = planRollouts([detect], [node('c0', 'cpu', 15), node('g0', 'gpu', 32, 8)]);
    assert.deepEqual(step, { stage: 'detect', replicas: 2, grow: { replicas: 2, surge: { maxSurge: 2, maxUnavailable: 0 }, waitNew: 2 } });
  });

  it('replaces pods one at a time when the node is full and the new pods need the old ones’ room', () => {
    // 8 × cpu-2 fill a 16-core node; 10 × cpu-1 fit once they are gone, none beside them.
    const rolled = stage('classify', 8, 10, { old: CPU2 });
    const [step] = planRollouts([rolled], [node('c0', 'cpu', 0)]);
    assert.deepEqual(step?.grow, { replicas: 8, surge: { maxSurge: 0, maxUnavailable: 1 }, waitNew: 1 });
    assert.equal(step?.replicas, 10);
    assert.match(step?.note ?? '', /no room for a new pod beside the 8 running, so replaced one at a time/);
  });

  it('scales up only as far as the nodes hold, and says so', () => {
    const rolled = stage('reduce', 4, 9, { newPods: false, resources: CPU2, old: CPU2 });
    const [step] = planRollouts([rolled], [node('c0', 'cpu', 5), node('c1', 'cpu', 3)]);
    // 2 more on c0 (5 cores), 1 on c1 (3 cores): 7 of 9.
    assert.deepEqual(step, {
      stage: 'reduce',
      replicas: 7,
      grow: { replicas: 7, waitNew: 7 },
      note: 'reduce: 7 of 9 replicas fit on the cpu nodes',
    });
  });

  it('lowers a count without a first write', () => {
    const rolled = stage('reduce', 4, 2, { newPods: false });
    assert.deepEqual(planRollouts([rolled], [node('c0', 'cpu', 0)]), [{ stage: 'reduce', replicas: 2 }]);
  });

  it('leaves the next stage only the room the one before it takes', () => {
    const detect = stage('detect', 1, 3, { resources: GPU_POD, kind: 'gpu' });
    const classify = stage('classify', 2, 2, { resources: GPU_POD, kind: 'gpu' });
    const [first, second] = planRollouts([detect, classify], [node('c0', 'cpu', 13), node('g0', 'gpu', 32, 4)]);
    assert.equal(first?.grow?.surge?.maxSurge, 3);
    assert.equal(second?.replicas, 1, 'one GPU left for classify once detect has its three');
    assert.match(second?.note ?? '', /1 of 2 replicas fit on the gpu nodes/);
  });

  it('refuses a decision of which not one pod fits, naming the stage', () => {
    const detect = stage('detect', 1, 1, { resources: GPU_POD, kind: 'gpu' });
    assert.throws(
      () => planRollouts([detect], [node('c0', 'cpu', 15), node('g0', 'gpu', 32, 0)]),
      (err: Error) => err instanceof CapacityError && /detect: not one pod of 4 cores and 1 GPU fits on the gpu nodes/.test(err.message),
    );
  });
});
