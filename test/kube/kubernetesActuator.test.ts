import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { KubernetesActuator } from '../../src/kube/kubernetesActuator.js';
import { ANNOTATIONS, LABELS } from '../../src/kube/stageDeployment.js';
import { parseAdaptInput } from '../../src/model/adaptInput.js';
import type { Config } from '../../src/model/config.js';
import { renderKustomization } from '../deploy/render.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { type ControlPlane, startControlPlane } from '../infra/controlPlane.js';

const NAMESPACE = 'ipa-pipelines';
const spec = parseAdaptInput({ pipeline: 'video', actuator: { kind: 'kubernetes', namespaces: [NAMESPACE] } }).actuator;
const kubernetes = spec.kind === 'kubernetes' ? { ...spec, rolloutTimeoutSeconds: 60 } : assert.fail('kubernetes actuator spec');

const SHAPES = { 'gpu-h200': { cpu: 4, gpu: 1 }, 'cpu-2': { cpu: 2, gpu: 0 }, 'cpu-1': { cpu: 1, gpu: 0 } };
const config = (detect: [string, string, number, number], classify: [string, string, number, number]): Config => ({
  stages: [
    { stage: 'detect', variant: detect[0], shape: detect[1], batch: detect[2], replicas: detect[3] },
    { stage: 'classify', variant: classify[0], shape: classify[1], batch: classify[2], replicas: classify[3] },
  ],
});

/** The apply request of a decision for the two stages (variant, shape, batch, replicas each). */
const decision = (decisionId: string, detect: [string, string, number, number], classify: [string, string, number, number]) => ({
  decisionId,
  pipeline: 'video',
  config: config(detect, classify),
  shapes: SHAPES,
  maxBatchWaitMs: 200,
});

/** Applies rendered objects with the admin client: the example pipeline as a platform team would. */
async function createAll(kc: KubeConfig, objects: { kind: string; metadata: { name: string; namespace?: string } }[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  for (const o of objects) {
    if (o.kind === 'Namespace') await core.createNamespace({ body: o as never });
    else if (o.kind === 'Deployment')
      await apps.createNamespacedDeployment({ namespace: o.metadata.namespace ?? NAMESPACE, body: o as never });
    else if (o.kind === 'Service') await core.createNamespacedService({ namespace: o.metadata.namespace ?? NAMESPACE, body: o as never });
  }
}

describe('Kubernetes actuator against a real API server (etcd, kube-apiserver, controller-manager, scheduler, kwok)', () => {
  let plane: ControlPlane;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let actuator: KubernetesActuator;

  before(async () => {
    plane = await startControlPlane();
    const kc = plane.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    await createAll(kc, (await renderKustomization('deploy/examples/video')) as never);
    actuator = new KubernetesActuator(kubernetes, apps, core);
  });

  after(async () => {
    await plane?.stop();
  });

  const read = (name: string, namespace = NAMESPACE) => apps.readNamespacedDeployment({ name, namespace });
  const env = (d: V1Deployment, name: string) => d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;

  async function runningPods(stage: string): Promise<{ node: string; kind: string }[]> {
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABELS.pipeline}=video,${LABELS.stage}=${stage}` });
    const nodes = new Map((await core.listNode()).items.map((n) => [n.metadata?.name, n.metadata?.labels?.[LABELS.nodeKind] ?? '']));
    return pods.items
      .filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)
      .map((p) => ({ node: p.spec?.nodeName ?? '', kind: nodes.get(p.spec?.nodeName) ?? '' }));
  }

  it('adopts what the example Deployments run', async () => {
    const running = await actuator.running('video', ['detect', 'classify']);
    assert.ok(running.config, running.reason);
    assert.deepEqual(
      running.config.stages.map((s) => [s.stage, s.shape, s.batch, s.replicas]),
      [
        ['detect', 'cpu-1', 1, 1],
        ['classify', 'cpu-1', 1, 1],
      ],
    );
  });

  // The decision the next two tests apply: detection moves to GPUs, classification scales out
  // with a batch timeout of its own (detection keeps the spec's).
  const gpuStepUp = () => {
    const c = config(['fasterrcnn_resnet50_fpn_v2', 'gpu-h200', 4, 2], ['resnet50', 'cpu-2', 8, 3]);
    return {
      decisionId: 'video#1',
      pipeline: 'video',
      config: { stages: [c.stages[0] as Config['stages'][number], { ...(c.stages[1] as Config['stages'][number]), batchTimeoutMs: 20 }] },
      shapes: SHAPES,
      maxBatchWaitMs: 200,
    };
  };

  it('applies a decision: replicas, env, resources and node kind, and the pods run on the right nodes', async () => {
    const outcome = await actuator.apply(gpuStepUp());
    assert.equal(outcome.status, 'applied', outcome.detail);
    assert.deepEqual(outcome.stages, [
      { stage: 'detect', ready: 2, wanted: 2 },
      { stage: 'classify', ready: 3, wanted: 3 },
    ]);
    const detect = await read('video-detect');
    assert.equal(detect.spec?.replicas, 2);
    assert.equal(env(detect, 'MODEL_VARIANT'), 'fasterrcnn_resnet50_fpn_v2');
    assert.equal(env(detect, 'MLSERVER_MODEL_MAX_BATCH_SIZE'), '4');
    assert.equal(env(detect, 'MLSERVER_MODEL_MAX_BATCH_TIME'), '0.2');
    assert.deepEqual(detect.spec?.template.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu'], '1');
    assert.equal(detect.spec?.template.spec?.nodeSelector?.[LABELS.nodeKind], 'gpu');
    assert.equal(detect.metadata?.annotations?.[ANNOTATIONS.decision], 'video#1');
    const classify = await read('video-classify');
    assert.equal(classify.spec?.replicas, 3);
    assert.equal(classify.spec?.template.spec?.containers[0]?.resources?.requests?.cpu, '2');
    assert.equal(classify.spec?.template.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu'], undefined);
    assert.equal(env(classify, 'MLSERVER_MODEL_MAX_BATCH_TIME'), '0.02', "the stage's own batch timeout, in seconds");
    // Read back as it runs: a restarted loop adopts the timeouts too.
    const adopted = await actuator.running('video', ['detect', 'classify']);
    assert.deepEqual(
      adopted.config?.stages.map((s) => s.batchTimeoutMs),
      [200, 20],
    );

    assert.ok(await waitUntilAsync(async () => (await runningPods('detect')).length === 2, 60_000));
    assert.ok(
      (await runningPods('detect')).every((p) => p.kind === 'gpu'),
      'GPU shapes land on GPU nodes',
    );
    assert.ok(await waitUntilAsync(async () => (await runningPods('classify')).length === 3, 60_000));
    assert.ok((await runningPods('classify')).every((p) => p.kind === 'cpu'));
  });

  it('re-applying a decision changes nothing (resourceVersion unchanged)', async () => {
    const before = [(await read('video-detect')).metadata?.resourceVersion, (await read('video-classify')).metadata?.resourceVersion];
    const outcome = await actuator.apply(gpuStepUp());
    assert.equal(outcome.status, 'unchanged');
    assert.deepEqual(
      [(await read('video-detect')).metadata?.resourceVersion, (await read('video-classify')).metadata?.resourceVersion],
      before,
    );
  });

  it('retries a conflicting write (409) and never touches a Deployment outside its namespaces', async () => {
    await core.createNamespace({ body: { metadata: { name: 'elsewhere' } } });
    const outsider = structuredClone(await read('video-classify'));
    outsider.metadata = { name: 'video-classify', namespace: 'elsewhere', labels: outsider.metadata?.labels ?? {} };
    delete outsider.status;
    await apps.createNamespacedDeployment({ namespace: 'elsewhere', body: outsider });
    // Its controller writes its status; only a writer of its spec would bump the generation.
    const outsiderGeneration = (await read('video-classify', 'elsewhere')).metadata?.generation;

    // A writer that gets in between the actuator's read and its replace, once: a real 409.
    let conflicts = 0;
    const racing = new Proxy(apps, {
      get(target, key, receiver) {
        if (key === 'patchNamespacedDeployment') {
          return async (...args: Parameters<AppsV1Api['patchNamespacedDeployment']>) => {
            const [{ name, namespace }] = args;
            if (conflicts === 0) {
              conflicts += 1;
              const other = await target.readNamespacedDeployment({ name, namespace });
              other.metadata = { ...other.metadata, labels: { ...other.metadata?.labels, touched: 'by-someone-else' } };
              await target.replaceNamespacedDeployment({ name, namespace, body: other });
            }
            return target.patchNamespacedDeployment(...args);
          };
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const decided = config(['fasterrcnn_resnet50_fpn_v2', 'gpu-h200', 4, 2], ['resnet18', 'cpu-1', 1, 2]);
    const outcome = await new KubernetesActuator(kubernetes, racing, core).apply({
      decisionId: 'video#2',
      pipeline: 'video',
      config: decided,
      shapes: SHAPES,
      maxBatchWaitMs: 200,
    });
    assert.equal(outcome.status, 'applied', outcome.detail);
    assert.equal(conflicts, 1);
    const classify = await read('video-classify');
    assert.equal(env(classify, 'MODEL_VARIANT'), 'resnet18');
    assert.equal(classify.metadata?.labels?.touched, 'by-someone-else', "the other writer's change is kept");
    assert.equal(classify.spec?.replicas, 2, 'scaled down after the new pods were ready');
    const after = await read('video-classify', 'elsewhere');
    assert.equal(after.metadata?.generation, outsiderGeneration, 'the other namespace is untouched');
    assert.equal(after.metadata?.annotations?.[ANNOTATIONS.decision], undefined);
  });

  it('without leave to read nodes (403) grows first, as before it knew them, and says so', async () => {
    // A ServiceAccount with no role at all: the actuator reads the room with it, and writes with the admin.
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'no-nodes' } } });
    const token = await core.createNamespacedServiceAccountToken({
      name: 'no-nodes',
      namespace: 'default',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: plane.server, caData: Buffer.from(plane.caPem).toString('base64') }],
      users: [{ name: 'no-nodes', token: token.status?.token as string }],
      contexts: [{ name: 'no-nodes', cluster: 'test', user: 'no-nodes' }],
      currentContext: 'no-nodes',
    });
    const blind = kc.makeApiClient(CoreV1Api);
    await assert.rejects(blind.listNode(), (err: { code?: number }) => err.code === 403, 'the ServiceAccount may not read nodes');

    const outcome = await new KubernetesActuator(kubernetes, apps, blind).apply({
      decisionId: 'video#2b',
      pipeline: 'video',
      config: config(['fasterrcnn_resnet50_fpn_v2', 'gpu-h200', 4, 2], ['resnet50', 'cpu-1', 1, 2]),
      shapes: SHAPES,
      maxBatchWaitMs: 200,
    });
    assert.equal(outcome.status, 'applied', outcome.detail);
    assert.match(outcome.detail, /capacity unknown, grew first \(.*403/);
    assert.equal(outcome.rollouts, undefined, 'no surge planned without the room');
    const classify = await read('video-classify');
    assert.equal(env(classify, 'MODEL_VARIANT'), 'resnet50');
    assert.equal(classify.spec?.replicas, 2);
    assert.deepEqual(outcome.stages, [
      { stage: 'detect', ready: 2, wanted: 2 },
      { stage: 'classify', ready: 2, wanted: 2 },
    ]);
  });

  it('reports a deleted stage Deployment as an error no retry mends', async () => {
    const saved = await read('video-classify');
    await apps.deleteNamespacedDeployment({ name: 'video-classify', namespace: NAMESPACE });
    const decided = config(['fasterrcnn_resnet50_fpn_v2', 'gpu-h200', 4, 3], ['resnet18', 'cpu-1', 1, 2]);
    await assert.rejects(
      actuator.apply({ decisionId: 'video#3', pipeline: 'video', config: decided, shapes: SHAPES, maxBatchWaitMs: 200 }),
      (err: Error & { retryable?: boolean }) => {
        assert.match(
          err.message,
          /stage classify: no Deployment labelled ipa\.io\/pipeline=video,ipa\.io\/stage=classify in namespace ipa-pipelines/,
        );
        assert.equal(err.retryable, false);
        return true;
      },
    );
    assert.equal((await read('video-detect')).spec?.replicas, 2, 'nothing was applied to the other stage');
    saved.metadata = {
      name: saved.metadata?.name ?? '',
      namespace: NAMESPACE,
      labels: saved.metadata?.labels ?? {},
      annotations: saved.metadata?.annotations ?? {},
    };
    delete saved.status;
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: saved });
  });
});

describe('Kubernetes actuator on a cluster with one free GPU (kwok)', () => {
  let plane: ControlPlane;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  /** Every Deployment the actuator wrote, as the API server returned it. */
  const writes: V1Deployment[] = [];

  before(async () => {
    plane = await startControlPlane({
      nodes: [
        { name: 'ipa-cpu-0', kind: 'cpu', cpu: '16', memory: '64Gi' },
        { name: 'ipa-gpu-0', kind: 'gpu', cpu: '32', memory: '128Gi', gpus: 1 },
      ],
    });
    const kc = plane.kubeConfig();
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
    await createAll(kc, (await renderKustomization('deploy/examples/video')) as never);
  });

  after(async () => {
    await plane?.stop();
  });

  it('moves classify from 9 CPU pods to 1 GPU pod in the time of the rollout, never surging past the GPU that fits', async (t) => {
    const recording = new Proxy(apps, {
      get(target, key, receiver) {
        if (key === 'patchNamespacedDeployment') {
          return async (...args: Parameters<AppsV1Api['patchNamespacedDeployment']>) => {
            const written = await target.patchNamespacedDeployment(...args);
            writes.push(written);
            return written;
          };
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const actuator = new KubernetesActuator(kubernetes, recording, core);
    const wide = await actuator.apply(decision('video#1', ['fasterrcnn_resnet50_fpn_v2', 'cpu-1', 1, 1], ['resnet50', 'cpu-1', 1, 9]));
    assert.equal(wide.status, 'applied', wide.detail);
    assert.deepEqual(wide.stages?.[1], { stage: 'classify', ready: 9, wanted: 9 });

    writes.length = 0;
    const startedAt = Date.now();
    const narrow = await actuator.apply(decision('video#2', ['fasterrcnn_resnet50_fpn_v2', 'cpu-1', 1, 1], ['resnet50', 'gpu-h200', 4, 1]));
    t.diagnostic(
      `9 CPU pods to 1 GPU pod: ${Date.now() - startedAt} ms (rollout timeout ${kubernetes.rolloutTimeoutSeconds} s): ${narrow.detail}`,
    );
    assert.equal(narrow.status, 'applied', narrow.detail);
    // Growing first would have asked for 9 GPU pods and waited out the timeout with 8 pending.
    assert.deepEqual(narrow.stages?.[1], { stage: 'classify', ready: 1, wanted: 1 }, narrow.detail);
    assert.doesNotMatch(narrow.detail, /not all ready after/);
    assert.deepEqual(narrow.rollouts, [{ stage: 'classify', maxSurge: 1, maxUnavailable: 0 }]);
    assert.equal(narrow.config, undefined, 'all of the decision runs');
    assert.match(
      narrow.detail,
      /classify: room for 1 pod of the new shape beside the 9 running, so rolled with maxSurge 1, maxUnavailable 0/,
    );
    const gpuWrites = writes.filter(
      (d) => d.metadata?.name === 'video-classify' && d.spec?.template.spec?.nodeSelector?.[LABELS.nodeKind] === 'gpu',
    );
    assert.ok(gpuWrites.length >= 2, 'a first write that rolls, and the final one');
    for (const d of gpuWrites) {
      assert.equal(d.spec?.strategy?.rollingUpdate?.maxSurge, 1, 'new GPU pods beside the old: the one that fits');
      assert.equal(d.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, 'no CPU pod goes before its replacement serves');
      assert.ok((d.spec?.replicas ?? 0) <= 9);
    }
    assert.equal(gpuWrites.at(-1)?.spec?.replicas, 1);
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABELS.pipeline}=video,${LABELS.stage}=classify` });
    assert.ok(
      await waitUntilAsync(async () => {
        const list = await core.listNamespacedPod({
          namespace: NAMESPACE,
          labelSelector: `${LABELS.pipeline}=video,${LABELS.stage}=classify`,
        });
        const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
        return live.length === 1 && live[0]?.spec?.nodeName === 'ipa-gpu-0' && live[0]?.status?.phase === 'Running';
      }, 60_000),
      `one classify pod, on the GPU node (${pods.items.length} pods)`,
    );
  });

  it('refuses a decision with more GPU pods than the nodes can ever hold only when not one fits, and caps the rest', async () => {
    const actuator = new KubernetesActuator(kubernetes, apps, core);
    // detect to the GPU too: the one GPU is classify's, so not one detect pod fits.
    await assert.rejects(
      actuator.apply(decision('video#3', ['fasterrcnn_resnet50_fpn_v2', 'gpu-h200', 4, 1], ['resnet50', 'gpu-h200', 4, 1])),
      (err: Error & { retryable?: boolean }) => {
        assert.match(err.message, /the decision does not fit the cluster: detect: not one pod of 4 cores and 1 GPU fits on the gpu nodes/);
        assert.equal(err.retryable, false);
        return true;
      },
    );
    const detect = await apps.readNamespacedDeployment({ name: 'video-detect', namespace: NAMESPACE });
    assert.equal(detect.spec?.template.spec?.nodeSelector?.[LABELS.nodeKind], 'cpu', 'nothing written');
    // classify asks for 3 GPU pods: the 1 it has is all there is.
    const capped = await actuator.apply(decision('video#4', ['fasterrcnn_resnet50_fpn_v2', 'cpu-1', 1, 1], ['resnet50', 'gpu-h200', 4, 3]));
    assert.equal(capped.status, 'applied', capped.detail);
    assert.match(capped.detail, /classify: 1 of 3 replicas fit on the gpu nodes/);
    assert.equal((await apps.readNamespacedDeployment({ name: 'video-classify', namespace: NAMESPACE })).spec?.replicas, 1);
    assert.deepEqual(
      capped.config?.stages.map((s) => [s.stage, s.shape, s.replicas]),
      [
        ['detect', 'cpu-1', 1],
        ['classify', 'gpu-h200', 1],
      ],
      'what runs, for the loop to keep',
    );
  });
});
