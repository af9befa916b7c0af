import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { decisionsQuery, slaUpdate, statusQuery } from '../../src/workflows/messages.js';
import { renderKustomization } from '../deploy/render.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTestServer, startWorkers } from '../helpers/temporal.js';
import { type ControlPlane, startControlPlane } from '../infra/controlPlane.js';

const NAMESPACE = 'ipa-pipelines';
type Manifest = KubernetesObject & { kind: string; metadata: { name: string; namespace?: string } };

/** A kubeconfig for the worker's ServiceAccount: ipa runs with exactly the RBAC deploy/ grants. */
async function serviceAccountKubeconfig(plane: ControlPlane, core: CoreV1Api): Promise<{ path: string; token: string }> {
  const request = await core.createNamespacedServiceAccountToken({
    name: 'ipa-worker',
    namespace: 'ipa-system',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token as string;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: plane.server, caData: Buffer.from(plane.caPem).toString('base64') }],
    users: [{ name: 'ipa-worker', token }],
    contexts: [{ name: 'ipa-worker', cluster: 'test', user: 'ipa-worker' }],
    currentContext: 'ipa-worker',
  });
  const path = join(plane.dir, 'ipa-worker.kubeconfig');
  await writeFile(path, kc.exportConfig());
  return { path, token };
}

describe('adaptPipeline with the kubernetes actuator, deploy/ manifests and RBAC, on a real control plane', () => {
  let plane: ControlPlane;
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;
  let admin: { apps: AppsV1Api; core: CoreV1Api; objects: KubernetesObjectApi };
  let worker: KubeConfig;

  before(async () => {
    plane = await startControlPlane();
    const kc = plane.kubeConfig();
    admin = { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(kc) };
    // Namespaces first (a dry run cannot create objects in a namespace that does not exist).
    const all = (await renderKustomization('deploy/overlays/local')) as Manifest[];
    for (const ns of all.filter((o) => o.kind === 'Namespace')) await admin.objects.create(ns);
    for (const o of all.filter((o) => o.kind !== 'Namespace')) await admin.objects.create(o);
    const sa = await serviceAccountKubeconfig(plane, admin.core);
    worker = new KubeConfig();
    worker.loadFromFile(sa.path);
    // The worker in this process reads KUBECONFIG when it first needs the cluster.
    process.env.KUBECONFIG = sa.path;
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt']);
  });

  after(async () => {
    await workers?.stop();
    await env?.teardown();
    await plane?.stop();
  });

  it('passes server-side dry-run apply for every manifest in deploy/', async () => {
    for (const dir of [
      'deploy/overlays/local',
      'deploy/base',
      'deploy/examples/video',
      'deploy/rbac/ipa-pipelines',
      'deploy/rbac/cluster',
    ]) {
      for (const o of (await renderKustomization(dir)) as Manifest[]) {
        await assert.doesNotReject(
          admin.objects.patch(o, undefined, 'All', 'ipa-test', true, PatchStrategy.ServerSideApply),
          `${dir}: ${o.kind} ${o.metadata.name}`,
        );
      }
    }
  });

  it('lets the worker ServiceAccount patch pipeline Deployments and read nodes, and nothing else', async () => {
    const apps = worker.makeApiClient(AppsV1Api);
    const core = worker.makeApiClient(CoreV1Api);
    const forbidden = (err: { code?: number }) => err.code === 403;
    const patched = await apps.patchNamespacedDeployment(
      { name: 'video-detect', namespace: NAMESPACE, body: { metadata: { labels: { 'rbac-check': 'ok' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(patched.metadata?.labels?.['rbac-check'], 'ok');
    await assert.rejects(
      apps.replaceNamespacedDeployment({ name: 'video-detect', namespace: NAMESPACE, body: patched }),
      forbidden,
      'patch, not update',
    );
    await assert.rejects(apps.deleteNamespacedDeployment({ name: 'video-detect', namespace: NAMESPACE }), forbidden, 'no delete');
    await assert.rejects(core.listNamespacedSecret({ namespace: NAMESPACE }), forbidden, 'no Secrets');
    await assert.rejects(core.listNamespacedSecret({ namespace: 'ipa-system' }), forbidden, 'no Secrets of its own namespace either');
    await assert.rejects(apps.listNamespacedDeployment({ namespace: 'default' }), forbidden, 'no other namespace');
    // Cluster-wide it reads nodes, for the room a rollout has, and nothing more.
    assert.ok((await core.listNode()).items.length > 0, 'nodes readable');
    await assert.rejects(
      core.patchNode(
        { name: (await core.listNode()).items[0]?.metadata?.name as string, body: { metadata: { labels: { x: 'y' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      forbidden,
      'nodes read-only',
    );
    await assert.rejects(core.listPodForAllNamespaces(), forbidden, 'no pods of other namespaces');
    await assert.rejects(core.listNamespace(), forbidden, 'nothing else cluster-scoped');
  });

  it('adapts the Deployments to a load step-up and to a tighter SLA', async () => {
    const handle = await env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'adapt-video-k8s',
      args: [
        {
          pipeline: 'video',
          intervalSeconds: 2,
          observe: { kind: 'trace', loads: [...Array<number>(240).fill(30), ...Array<number>(2000).fill(600)], start: 150, speed: 20 },
          actuator: { kind: 'kubernetes', namespaces: [NAMESPACE], rolloutTimeoutSeconds: 60 },
        },
      ],
    });
    const read = (name: string) => admin.apps.readNamespacedDeployment({ name, namespace: NAMESPACE });
    const matches = (d: V1Deployment, stage: NonNullable<DecisionRecord['config']>['stages'][number]) =>
      d.spec?.replicas === stage.replicas &&
      d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'MODEL_VARIANT')?.value === stage.variant &&
      d.metadata?.annotations?.['ipa.io/shape'] === stage.shape;
    const inPlace = async (record: DecisionRecord) => {
      const [detect, classify] = record.config?.stages ?? [];
      return Boolean(detect && classify && matches(await read('video-detect'), detect) && matches(await read('video-classify'), classify));
    };

    let high: DecisionRecord | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        const recent = await handle.query(decisionsQuery, { limit: 20 }).catch(() => []);
        high = recent.find((r) => r.outcome === 'applied' && (r.observed?.max ?? 0) >= 600);
        return high !== undefined;
      }, 120_000),
      'a decision for the step-up was applied',
    );
    const s = await handle.query(statusQuery);
    assert.match(s.adoption ?? '', /adopted from ipa-pipelines\/video-detect, ipa-pipelines\/video-classify/);
    const first = (await handle.query(decisionsQuery, { limit: 50 })).at(-1) as DecisionRecord;
    // Twenty times the load needs more capacity: the step-up's config costs more, it never saves.
    const costOf = (r: DecisionRecord | undefined) => r?.predicted?.cost ?? Number.NaN;
    assert.ok(
      costOf(high) > costOf(first),
      `the step-up to 600 rps costs more than the first decision: ${costOf(first)} → ${costOf(high)} (${high?.reason})`,
    );
    // Later steps may have moved on; the running Deployments equal the last applied decision.
    const lastApplied = () =>
      handle.query(decisionsQuery, { limit: 20 }).then((r) => r.find((x) => x.outcome === 'applied') as DecisionRecord);
    assert.ok(await waitUntilAsync(async () => inPlace(await lastApplied()), 60_000), 'Deployments carry the decided config');
    // Each look compares the pods with the Deployment as it is then: a later step may have moved it on.
    const nodes = new Map((await admin.core.listNode()).items.map((n) => [n.metadata?.name, n.metadata?.labels?.['ipa.io/node-kind']]));
    let seen = '';
    const detectRuns = async () => {
      const detect = await read('video-detect');
      const kind = detect.spec?.template.spec?.nodeSelector?.['ipa.io/node-kind'];
      const list = await admin.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'ipa.io/stage=detect' });
      const live = list.items.filter((p) => !p.metadata?.deletionTimestamp);
      const pods = live.map(
        (p) => `${p.metadata?.name} ${p.status?.phase} on ${p.spec?.nodeName ?? 'no node'} (${nodes.get(p.spec?.nodeName) ?? '?'})`,
      );
      seen = `Deployment wants ${detect.spec?.replicas} on ${kind} nodes; ${live.length} live pods: ${pods.join(', ')}`;
      return (
        live.length === detect.spec?.replicas && live.every((p) => p.status?.phase === 'Running' && nodes.get(p.spec?.nodeName) === kind)
      );
    };
    assert.ok(await waitUntilAsync(detectRuns, 60_000), `detect pods Running on the nodes the Deployment selects: ${seen}`);

    const tight = await handle.executeUpdate(slaUpdate, { args: [{ slaMs: 60 }] });
    assert.equal(tight.settings.slaMs, 60);
    assert.ok((tight.predicted?.latencyMs ?? Number.POSITIVE_INFINITY) <= 60);
    if (tight.outcome === 'applied') assert.ok(await inPlace(tight), 'the tighter SLA’s config is what runs');
    else assert.equal(tight.outcome, 'unchanged', tight.reason);
    await handle.terminate('test done');
  });

  it('rides out an API server restart (apply retried) and records a deleted stage Deployment, going on', async () => {
    // Alternating load and the reactive forecaster (the peak of the last 10 trace seconds): each
    // step moves 40 trace seconds, so with 80-second phases no four steps in a row see the same
    // peak, whatever the steps' offset. The restart keeps the API server away for 4 s plus its
    // start-up (over 6 s, three steps), so an apply meets it, and within the apply's retries (15 s).
    const loads = Array.from({ length: 8000 }, (_, t) => (Math.floor(t / 80) % 2 ? 600 : 60));
    // Every step that can change the config must apply, so the reconfiguration rule is off: it
    // would hold each scale-down for a minute, and the applies this test needs with it.
    const video = JSON.parse(await readFile('profiles/pipelines/video.json', 'utf8'));
    const handle = await env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'adapt-video-faults',
      args: [
        {
          pipeline: { ...video, reconfiguration: { stabilizationSeconds: 0, switchGain: 0, scaleGain: 0 } },
          intervalSeconds: 2,
          forecaster: 'reactive',
          provision: 'forecast',
          observe: { kind: 'trace', loads, start: 150, speed: 20 },
          actuator: { kind: 'kubernetes', namespaces: [NAMESPACE], rolloutTimeoutSeconds: 30 },
        },
      ],
    });
    const step = () =>
      handle.query(statusQuery).then(
        (s) => s.step,
        () => 0,
      );
    assert.ok(await waitUntilAsync(async () => (await step()) >= 2, 60_000));

    await plane.restartApiserver(4000);
    const afterRestart = await step();
    assert.ok(await waitUntilAsync(async () => (await step()) >= afterRestart + 3, 120_000), 'the loop goes on after the restart');
    const history = await handle.fetchHistory();
    const applyIds = new Set(
      (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'apply')
        .map((e) => String(e.eventId)),
    );
    const retried = (history.events ?? []).filter(
      (e) =>
        applyIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) &&
        (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    );
    const recent = await handle.query(decisionsQuery, { limit: 50 });
    const failed = recent.filter((r) => r.outcome === 'apply-failed');
    assert.ok(
      retried.length > 0 || failed.length > 0,
      `an apply met the restart; steps: ${recent.map((r) => `${r.step} ${r.outcome} max ${r.observed?.max} ${r.reason ?? ''}`).join(' | ')}`,
    );
    assert.ok(retried.length > 0, `the apply in flight was retried (failed instead: ${failed.map((f) => f.reason).join('; ')})`);

    const saved = await admin.apps.readNamespacedDeployment({ name: 'video-classify', namespace: NAMESPACE });
    const atDeletion = await step();
    await admin.apps.deleteNamespacedDeployment({ name: 'video-classify', namespace: NAMESPACE });
    let missing: DecisionRecord | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        const recent = await handle.query(decisionsQuery, { limit: 5 });
        missing = recent.find((r) => r.outcome === 'apply-failed' && r.step > atDeletion);
        return missing !== undefined;
      }, 60_000),
    );
    assert.match(
      missing?.reason ?? '',
      /apply failed: stage classify: no Deployment labelled ipa\.io\/pipeline=video,ipa\.io\/stage=classify/,
    );
    const atFailure = missing?.step ?? 0;
    assert.ok(await waitUntilAsync(async () => (await step()) >= atFailure + 2, 60_000), 'the loop goes on after the failure');
    const steps = (await handle.query(decisionsQuery, { limit: 50 })).map((r) => r.step).reverse();
    assert.deepEqual(
      steps,
      steps.map((_, i) => (steps[0] as number) + i),
      'no step lost',
    );
    await handle.terminate('test done');
    saved.metadata = {
      name: 'video-classify',
      namespace: NAMESPACE,
      labels: saved.metadata?.labels ?? {},
      annotations: saved.metadata?.annotations ?? {},
    };
    delete saved.status;
    await admin.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: saved });
  });
});
