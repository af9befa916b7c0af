import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Deployment,
  type V1Pod,
  VersionApi,
} from '@kubernetes/client-node';
import { groupAlive, waitUntilAsync } from '../helpers/processes.js';
import { type ControlPlane, processesMentioning, startControlPlane } from './controlPlane.js';
import { GPU_RESOURCE, NODE_KIND_LABEL } from './fakeNodes.js';

const NAMESPACE = 'ipa-test';
// Bounds on waits, not expectations: a loaded two-core machine is slow, a healthy cluster takes seconds.
const WAIT_MS = 120_000;

function gpuDeployment(name: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { [NODE_KIND_LABEL]: 'gpu' },
          containers: [
            {
              name: 'model',
              // Never pulled: kwok only pretends to run containers.
              image: 'registry.invalid/ipa/model-server:test',
              resources: { requests: { cpu: '1', [GPU_RESOURCE]: '1' }, limits: { [GPU_RESOURCE]: '1' } },
            },
          ],
        },
      },
    },
  };
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

describe('control plane from binaries (etcd, kube-apiserver, controller-manager, scheduler, kwok)', () => {
  let cp: ControlPlane;
  let kc: KubeConfig;

  before(async () => {
    cp = await startControlPlane({ workerUser: 'ipa-worker' });
    kc = cp.kubeConfig();
  });

  after(async () => {
    await cp?.stop();
  });

  it('serves the built version over TLS on loopback', async () => {
    assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, cp.binaries.version);
  });

  it('has 3 CPU and 2 GPU fake nodes, Ready, with their labels and capacity', async () => {
    const nodes = (await kc.makeApiClient(CoreV1Api).listNode()).items;
    assert.equal(nodes.length, 5);
    for (const node of nodes) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${node.metadata?.name} Ready`);
    }
    const kind = (k: string) => nodes.filter((n) => n.metadata?.labels?.[NODE_KIND_LABEL] === k);
    assert.equal(kind('cpu').length, 3);
    assert.equal(kind('gpu').length, 2);
    for (const node of kind('cpu')) {
      assert.equal(node.status?.capacity?.cpu, '16');
      assert.equal(node.status?.capacity?.memory, '64Gi');
      assert.equal(node.status?.capacity?.[GPU_RESOURCE], undefined);
    }
    for (const node of kind('gpu')) {
      assert.equal(node.status?.capacity?.cpu, '32');
      assert.equal(node.status?.capacity?.[GPU_RESOURCE], '8');
      assert.equal(node.status?.allocatable?.[GPU_RESOURCE], '8');
    }
  });

  it('authenticates a worker token that RBAC grants nothing yet', async () => {
    assert.ok(cp.workerToken);
    const worker = new KubeConfig();
    worker.loadFromOptions({
      clusters: [{ name: 'ipa-test', server: cp.server, caData: Buffer.from(cp.caPem).toString('base64') }],
      users: [{ name: 'ipa-worker', token: cp.workerToken }],
      contexts: [{ name: 'ipa-test', cluster: 'ipa-test', user: 'ipa-worker' }],
      currentContext: 'ipa-test',
    });
    const err = await worker
      .makeApiClient(CoreV1Api)
      .listNode()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.equal(statusCode(err), 403, `expected 403 Forbidden, got ${String(err)}`);
  });

  it('runs a GPU Deployment: a ReplicaSet and 2 pods Running on GPU nodes', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: gpuDeployment('detector', 2) });

    let pods: V1Pod[] = [];
    const running = await waitUntilAsync(async () => {
      pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=detector' })).items;
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running');
    }, WAIT_MS);
    const summary = pods.map((p) => `${p.metadata?.name} ${p.status?.phase} on ${p.spec?.nodeName}`).join(', ');
    assert.ok(running, `pods not both Running: [${summary}]\ncontroller-manager:\n${cp.output('kube-controller-manager').slice(-3000)}`);

    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: 'app=detector' })).items;
    assert.equal(replicaSets.length, 1);
    assert.equal(replicaSets[0]?.metadata?.ownerReferences?.[0]?.name, 'detector');
    const gpuNodes = new Set(
      (await core.listNode({ labelSelector: `${NODE_KIND_LABEL}=gpu` })).items.map((n) => n.metadata?.name).filter((n) => n !== undefined),
    );
    for (const pod of pods) {
      assert.ok(gpuNodes.has(pod.spec?.nodeName ?? ''), `${pod.metadata?.name} on ${pod.spec?.nodeName}, not a GPU node`);
      assert.equal(pod.metadata?.ownerReferences?.[0]?.name, replicaSets[0]?.metadata?.name);
    }

    const available = await waitUntilAsync(
      async () => (await apps.readNamespacedDeployment({ name: 'detector', namespace: NAMESPACE })).status?.availableReplicas === 2,
      WAIT_MS,
    );
    assert.ok(available, 'deployment never reported 2 available replicas');
  });

  it('answers a server-side dry-run apply without storing it', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const applied = await objects.patch(gpuDeployment('dry-run-only', 3), undefined, 'All', 'ipa', true, PatchStrategy.ServerSideApply);
    assert.equal(applied.metadata?.name, 'dry-run-only');
    assert.equal(applied.spec?.replicas, 3);
    assert.ok(
      applied.metadata?.managedFields?.some((f) => f.manager === 'ipa' && f.operation === 'Apply'),
      'the applied object names ipa as its field manager',
    );
    const stored = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'dry-run-only', namespace: NAMESPACE })
      .then(
        () => 200,
        (e: unknown) => statusCode(e),
      );
    assert.equal(stored, 404);

    // On an existing object too: the change is validated and returned, not persisted.
    const scaled = await objects.patch(gpuDeployment('detector', 5), undefined, 'All', 'ipa', true, PatchStrategy.ServerSideApply);
    assert.equal(scaled.spec?.replicas, 5);
    const current = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'detector', namespace: NAMESPACE });
    assert.equal(current.spec?.replicas, 2);
  });

  it('stop() leaves no etcd, kube-* or kwok process and removes its folder', async () => {
    const groups = cp.processGroups();
    assert.equal(groups.length, 5);
    assert.ok(processesMentioning(cp.dir).length >= 5, 'every component runs with the folder in its flags');
    await cp.stop();
    for (const pgid of groups) assert.equal(groupAlive(pgid), false, `process group ${pgid} still alive`);
    assert.deepEqual(processesMentioning(cp.dir), []);
    assert.equal(existsSync(cp.dir), false);
  });
});
