// The Kubernetes manifests under deploy/, rendered with a real kustomize and checked structurally.
// No API server here: a server-side dry-run apply of the same renders (renderKustomization in
// ./render.ts) belongs with the test control plane.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { runningStage, templateDiffers, withStage } from '../../src/kube/stageDeployment.js';
import { actuatorSpec } from '../../src/model/adaptInput.js';
import { deployDir, kustomizationDirs, renderComposed, renderKustomization } from './render.js';

const BASE = join(deployDir, 'base');
const RBAC_TEMPLATE = join(deployDir, 'rbac', 'template');
const RBAC_EXAMPLE = join(deployDir, 'rbac', 'ipa-pipelines');
const RBAC_CLUSTER = join(deployDir, 'rbac', 'cluster');
const EXAMPLE = join(deployDir, 'examples', 'video');
const OVERLAY = join(deployDir, 'overlays', 'local');
const GPU = join(deployDir, 'components', 'gpu-worker');
const MTLS = join(deployDir, 'components', 'temporal-mtls');

/** The Kubernetes actuator's permissions in a target namespace: exactly these, nothing more. */
const EXPECTED_RULES = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'patch', 'watch'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
];

/** The one cluster-scoped grant: read the nodes, for the room a rollout has. */
const EXPECTED_CLUSTER_RULES = [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }];

const WORKER_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'PROMETHEUS_URL',
  'IPA_METRICS_HOST',
  'IPA_METRICS_PORT',
];

const id = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
const ofKind = (objects: KubernetesObject[], kind: string): any[] => objects.filter((o) => o.kind === kind);
function one(objects: KubernetesObject[], kind: string, name: string, namespace?: string): any {
  const found = objects.filter(
    (o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace),
  );
  assert.equal(found.length, 1, `${kind} ${namespace ?? '*'}/${name}: ${found.length} rendered (have ${objects.map(id).join(', ')})`);
  return found[0];
}
const envOf = (container: any): Map<string, any> => new Map((container.env ?? []).map((e: any) => [e.name, e]));
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const sortedRules = (rules: any[]) =>
  rules
    .map((r) => ({
      apiGroups: [...r.apiGroups].sort(),
      resources: [...r.resources].sort(),
      verbs: [...r.verbs].sort(),
      extra: Object.keys(r).sort(),
    }))
    .sort((a, b) => a.resources.join().localeCompare(b.resources.join()));

/**
 * What must hold in any render: ipa never asks for Secrets, its only cluster-scoped grant is
 * reading nodes, Deployments are complete.
 */
function checkInvariants(where: string, objects: KubernetesObject[]): void {
  for (const o of objects) assert.notEqual(o.kind, 'Secret', `${where}: renders ${id(o)}`);
  for (const role of ofKind(objects, 'ClusterRole')) {
    assert.deepEqual(
      sortedRules(role.rules),
      sortedRules(EXPECTED_CLUSTER_RULES).map((r) => ({ ...r, extra: ['apiGroups', 'resources', 'verbs'] })),
      `${where}: ${id(role)} grants only reading nodes`,
    );
  }
  for (const role of [...ofKind(objects, 'Role'), ...ofKind(objects, 'ClusterRole')]) {
    for (const rule of role.rules ?? []) {
      const resources: string[] = rule.resources ?? [];
      assert.ok(!resources.includes('secrets') && !resources.includes('*'), `${where}: ${id(role)} reaches ${resources.join(', ')}`);
      assert.ok(!(rule.verbs ?? []).includes('*') && !(rule.apiGroups ?? []).includes('*'), `${where}: ${id(role)} has a wildcard`);
      assert.equal(rule.nonResourceURLs, undefined, `${where}: ${id(role)} names non-resource URLs`);
    }
  }
  const deployments = ofKind(objects, 'Deployment');
  for (const d of deployments) {
    const what = `${where}: ${id(d)}`;
    assert.ok(Object.keys(d.metadata.labels ?? {}).length > 0, `${what} has no labels`);
    const selector = d.spec.selector.matchLabels;
    assert.ok(selector && Object.keys(selector).length > 0, `${what} has no selector`);
    assert.ok(matches(selector, d.spec.template.metadata.labels), `${what}: the selector does not select its own pods`);
    for (const c of d.spec.template.spec.containers) {
      for (const part of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          assert.ok(c.resources?.[part]?.[resource], `${what}: container ${c.name} has no ${part}.${resource}`);
        }
      }
    }
    for (const other of deployments) {
      if (other === d || other.metadata.namespace !== d.metadata.namespace) continue;
      assert.ok(!matches(selector, other.spec.template.metadata.labels), `${what}'s selector also selects the pods of ${id(other)}`);
    }
  }
}

describe('deploy/ manifests', () => {
  let base: KubernetesObject[];
  let overlay: KubernetesObject[];
  let example: KubernetesObject[];
  let rbac: KubernetesObject[];

  before(async () => {
    const rendered = await Promise.all([BASE, OVERLAY, EXAMPLE, RBAC_EXAMPLE].map((dir) => renderKustomization(dir)));
    [base = [], overlay = [], example = [], rbac = []] = rendered;
  });

  it('renders every kustomization under deploy/ (components on top of the base) without Secrets, and no cluster grant but reading nodes', async () => {
    const dirs = await kustomizationDirs();
    const names = dirs.map((d) => relative(deployDir, d.dir));
    for (const expected of [
      'base',
      'rbac/template',
      'rbac/ipa-pipelines',
      'rbac/cluster',
      'examples/video',
      'overlays/local',
      'components/gpu-worker',
    ]) {
      assert.ok(names.includes(expected), `deploy/${expected} has no kustomization.yaml (found ${names.join(', ')})`);
    }
    for (const { dir, kind } of dirs) {
      const objects =
        kind === 'Component' ? await renderComposed({ resources: [BASE], components: [dir] }) : await renderKustomization(dir);
      assert.ok(objects.length > 0, `deploy/${relative(deployDir, dir)} renders nothing`);
      checkInvariants(`deploy/${relative(deployDir, dir)}`, objects);
    }
  });

  it('the local overlay renders base, the RBAC of ipa-pipelines and the example in one build', () => {
    const have = new Set(overlay.map(id));
    for (const o of [...base, ...rbac, ...example]) assert.ok(have.has(id(o)), `overlays/local lacks ${id(o)}`);
    assert.deepEqual(
      ofKind(overlay, 'Namespace')
        .map((n) => n.metadata.name)
        .sort(),
      ['ipa-pipelines', 'ipa-system'],
    );
  });

  it('grants the worker exactly get/list/watch/patch on Deployments and get/list/watch on ReplicaSets and Pods, per target namespace', () => {
    for (const objects of [rbac, overlay]) {
      const roles = ofKind(objects, 'Role');
      assert.deepEqual(roles.map(id), ['Role/ipa-pipelines/ipa-worker']);
      assert.deepEqual(
        sortedRules(roles[0].rules),
        sortedRules(EXPECTED_RULES).map((r) => ({ ...r, extra: ['apiGroups', 'resources', 'verbs'] })),
      );
      const bindings = ofKind(objects, 'RoleBinding');
      assert.deepEqual(bindings.map(id), ['RoleBinding/ipa-pipelines/ipa-worker']);
      assert.deepEqual({ ...bindings[0].roleRef }, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ipa-worker' });
      assert.deepEqual(
        bindings[0].subjects.map((s: any) => ({ ...s })),
        [{ kind: 'ServiceAccount', name: 'ipa-worker', namespace: 'ipa-system' }],
      );
    }
  });

  it('grants the worker, cluster-wide, only get/list/watch on nodes, bound to its ServiceAccount, in rbac/cluster and the overlay', async () => {
    for (const objects of [await renderKustomization(RBAC_CLUSTER), overlay]) {
      const roles = ofKind(objects, 'ClusterRole');
      assert.deepEqual(roles.map(id), ['ClusterRole/ipa-worker-nodes']);
      const bindings = ofKind(objects, 'ClusterRoleBinding');
      assert.deepEqual(bindings.map(id), ['ClusterRoleBinding/ipa-worker-nodes']);
      assert.deepEqual(
        { ...bindings[0].roleRef },
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ipa-worker-nodes' },
      );
      assert.deepEqual(
        bindings[0].subjects.map((s: any) => ({ ...s })),
        [{ kind: 'ServiceAccount', name: 'ipa-worker', namespace: 'ipa-system' }],
      );
    }
  });

  it('adds a target namespace the way the README says: a folder with `namespace:` over rbac/template, listed in the overlay', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ipa-rbac-'));
    try {
      const kustomization = (lines: string[]) =>
        ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', ...lines, ''].join('\n');
      await mkdir(join(root, 'team-b'));
      await writeFile(
        join(root, 'team-b', 'kustomization.yaml'),
        kustomization(['namespace: team-b', 'resources:', `  - ${relative(join(root, 'team-b'), RBAC_TEMPLATE)}`]),
      );
      await mkdir(join(root, 'overlay'));
      await writeFile(
        join(root, 'overlay', 'kustomization.yaml'),
        kustomization(['resources:', ...[OVERLAY, join(root, 'team-b')].map((d) => `  - ${relative(join(root, 'overlay'), d)}`)]),
      );
      const objects = await renderKustomization(join(root, 'overlay'));
      checkInvariants('overlay + team-b', objects);
      assert.deepEqual(ofKind(objects, 'Role').map(id).sort(), ['Role/ipa-pipelines/ipa-worker', 'Role/team-b/ipa-worker']);
      for (const binding of ofKind(objects, 'RoleBinding')) {
        assert.deepEqual(
          binding.subjects.map((s: any) => ({ ...s })),
          [{ kind: 'ServiceAccount', name: 'ipa-worker', namespace: 'ipa-system' }],
          `${id(binding)}: the subject must stay the worker in ipa-system`,
        );
        assert.equal(binding.roleRef.name, 'ipa-worker');
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('runs the worker as ipa-worker with the CLI, its configuration from ipa-config, ipa-temporal and ipa-temporal-tls', () => {
    const sa = one(base, 'ServiceAccount', 'ipa-worker', 'ipa-system');
    assert.ok(sa);
    const worker = one(base, 'Deployment', 'ipa-worker', 'ipa-system');
    const pod = worker.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'ipa-worker');
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0];
    assert.equal(c.image, 'ghcr.io/ipa/ipa:0.1.0');
    assert.deepEqual(c.command, ['node', 'bin/ipa.js', 'worker', '--queues', 'adapt,profile-cpu']);

    const env = envOf(c);
    for (const name of WORKER_ENV) assert.ok(env.has(name), `worker env lacks ${name}`);
    for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE']) {
      assert.equal(env.get(name).valueFrom.configMapKeyRef.name, 'ipa-config');
      assert.equal(env.get(name).valueFrom.configMapKeyRef.key, name);
    }
    assert.deepEqual({ ...env.get('TEMPORAL_API_KEY').valueFrom.secretKeyRef }, { name: 'ipa-temporal', key: 'api-key', optional: true });
    assert.equal(env.get('IPA_METRICS_HOST').value, '0.0.0.0');
    assert.equal(env.get('IPA_METRICS_PORT').value, '9464');

    // Every ConfigMap key the worker reads exists; the mandatory ones are not optional.
    const config = one(base, 'ConfigMap', 'ipa-config', 'ipa-system');
    for (const e of env.values()) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (!ref) continue;
      assert.equal(ref.name, 'ipa-config');
      assert.ok(ref.key in config.data, `ipa-config has no key ${ref.key}`);
    }
    assert.ok(config.data.TEMPORAL_ADDRESS.endsWith(':7233'), config.data.TEMPORAL_ADDRESS);
    // Without the mTLS component the client certificate paths are empty, which the worker reads as unset.
    assert.equal(config.data.TEMPORAL_TLS_CLIENT_CERT_PATH, '');
    assert.equal(config.data.TEMPORAL_TLS_CLIENT_KEY_PATH, '');

    const tls = pod.volumes.find((v: any) => v.secret?.secretName === 'ipa-temporal-tls');
    assert.ok(tls, 'no volume from the Secret ipa-temporal-tls');
    assert.equal(tls.secret.optional, true);
    const mount = c.volumeMounts.find((m: any) => m.name === tls.name);
    assert.equal(mount.mountPath, '/etc/ipa/temporal-tls');
    assert.equal(mount.readOnly, true);
  });

  it('locks the worker down: non-root, read-only root filesystem, no capabilities, probes on /metrics', () => {
    for (const worker of [one(base, 'Deployment', 'ipa-worker'), one(overlay, 'Deployment', 'ipa-worker')]) {
      const pod = worker.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.equal(c.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
      assert.equal(c.securityContext.capabilities.add, undefined);
      const port = c.ports.find((p: any) => p.containerPort === 9464);
      assert.ok(port, 'no container port 9464');
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        assert.equal(c[probe]?.httpGet?.path, '/metrics', `${probe} path`);
        assert.ok([port.name, 9464].includes(c[probe].httpGet.port), `${probe} port ${c[probe].httpGet.port}`);
      }
      // A writable /tmp, since the root filesystem is not.
      const tmp = c.volumeMounts.find((m: any) => m.mountPath === '/tmp');
      assert.ok(pod.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir, 'no emptyDir on /tmp');
    }
    const ns = one(base, 'Namespace', 'ipa-system');
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  it('exposes the metrics of the worker pods on a Service with Prometheus scrape annotations', () => {
    const service = one(base, 'Service', 'ipa-metrics', 'ipa-system');
    assert.equal(service.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(service.metadata.annotations['prometheus.io/port'], '9464');
    assert.equal(service.metadata.annotations['prometheus.io/path'], '/metrics');
    assert.deepEqual(
      service.spec.ports.map((p: any) => p.port),
      [9464],
    );
    const worker = one(base, 'Deployment', 'ipa-worker');
    assert.ok(matches(service.spec.selector, worker.spec.template.metadata.labels), 'the Service does not select the worker pods');
    const targetPort = service.spec.ports[0].targetPort;
    assert.ok(worker.spec.template.spec.containers[0].ports.some((p: any) => p.name === targetPort || p.containerPort === targetPort));
  });

  it('the video example: one labelled Deployment and one Service per stage, starting on variants and a shape ipa knows', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = await resolvePipelineSpec('video', profiles);
    const deployments = ofKind(example, 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ['video-classify', 'video-detect']);
    const firstVariant: Record<string, string> = { detect: 'fasterrcnn_mobilenet_v3_large_320_fpn', classify: 'resnet18' };
    for (const stage of spec.stages) {
      const d = one(example, 'Deployment', `video-${stage.name}`, 'ipa-pipelines');
      const labels = { 'ipa.io/pipeline': 'video', 'ipa.io/stage': stage.name };
      assert.ok(matches(labels, d.metadata.labels), `${d.metadata.name} metadata labels`);
      assert.ok(matches(labels, d.spec.template.metadata.labels), `${d.metadata.name} pod labels`);
      assert.ok(matches(d.spec.selector.matchLabels, labels), `${d.metadata.name} selector`);
      const shape = profiles.shapes.find((s) => s.name === d.metadata.annotations['ipa.io/shape']);
      assert.ok(shape, `${d.metadata.name}: unknown shape ${d.metadata.annotations['ipa.io/shape']}`);
      const pod = d.spec.template.spec;
      assert.deepEqual({ ...pod.nodeSelector }, { 'ipa.io/node-kind': 'cpu' });
      assert.equal(d.spec.strategy.type, 'RollingUpdate');
      assert.equal(d.spec.strategy.rollingUpdate.maxSurge, 1);
      assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
      const model = pod.containers.find((c: any) => c.name === 'model');
      assert.ok(model, `${d.metadata.name} has no container "model"`);
      assert.equal(model.image, 'seldonio/mlserver:1.6.1');
      const env = envOf(model);
      assert.equal(env.get('MODEL_VARIANT')?.value, firstVariant[stage.name]);
      assert.ok(stage.variants.includes(env.get('MODEL_VARIANT').value), `${stage.name}: variant not in the spec`);
      assert.equal(env.get('MLSERVER_MODEL_MAX_BATCH_SIZE')?.value, '1');
      assert.equal(env.get('MLSERVER_MODEL_MAX_BATCH_TIME')?.value, '0');
      for (const part of ['requests', 'limits']) {
        assert.equal(model.resources[part].cpu, String(shape.cpu), `${d.metadata.name} ${part}.cpu vs shape ${shape.name}`);
        assert.equal(model.resources[part].memory, '2Gi');
      }
      const service = one(example, 'Service', `video-${stage.name}`, 'ipa-pipelines');
      assert.deepEqual(
        service.spec.ports.map((p: any) => p.port),
        [8080],
      );
      assert.ok(matches(service.spec.selector, d.spec.template.metadata.labels), `Service video-${stage.name} does not select its pods`);
      assert.ok(
        !matches(service.spec.selector, deployments.find((o) => o !== d).spec.template.metadata.labels),
        'a Service selects both stages',
      );
    }
    one(example, 'Namespace', 'ipa-pipelines');
  });

  it('the example is what the Kubernetes actuator reads back, and re-applying that config rolls no pods', async () => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = actuatorSpec.parse({ kind: 'kubernetes', namespaces: ['ipa-pipelines'] });
    assert.equal(spec.kind, 'kubernetes');
    for (const d of ofKind(example, 'Deployment') as V1Deployment[]) {
      const stageName = d.metadata?.labels?.['ipa.io/stage'] ?? '';
      const running = runningStage(d, stageName, spec);
      assert.ok(running, `${d.metadata?.name}: the actuator cannot read its config`);
      const shape = profiles.shapes.find((s) => s.name === running.shape);
      assert.ok(shape, `unknown shape ${running.shape}`);
      const next = withStage(
        d,
        { stage: running, resources: { cpu: shape.cpu, gpu: shape.gpu }, maxBatchWaitMs: 200, decisionId: 'd#1' },
        spec,
      );
      assert.equal(templateDiffers(d, next), false, `${d.metadata?.name}: applying its own config would roll its pods`);
      assert.equal(next.spec?.replicas, d.spec?.replicas);
    }
  });

  it('the GPU worker component: queue profile-gpu on GPU nodes with a GPU, beside the CPU worker', async () => {
    const objects = await renderComposed({ resources: [BASE], components: [GPU] });
    checkInvariants('base + gpu-worker', objects);
    const gpu = one(objects, 'Deployment', 'ipa-worker-gpu', 'ipa-system');
    const pod = gpu.spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(c.command, ['node', 'bin/ipa.js', 'worker', '--queues', 'profile-gpu']);
    assert.equal(pod.serviceAccountName, 'ipa-worker');
    assert.equal(pod.nodeSelector['ipa.io/node-kind'], 'gpu');
    assert.equal(c.resources.limits['nvidia.com/gpu'], '1');
    for (const name of WORKER_ENV) assert.ok(envOf(c).has(name), `GPU worker env lacks ${name}`);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    const service = one(objects, 'Service', 'ipa-metrics');
    assert.ok(
      matches(service.spec.selector, pod.metadata?.labels ?? gpu.spec.template.metadata.labels),
      'metrics Service misses the GPU worker',
    );
    one(objects, 'Deployment', 'ipa-worker', 'ipa-system');
  });

  it('the mTLS component points the TLS paths into the mounted Secret', async () => {
    const objects = await renderComposed({ resources: [BASE], components: [MTLS] });
    const data = one(objects, 'ConfigMap', 'ipa-config', 'ipa-system').data;
    const worker = one(objects, 'Deployment', 'ipa-worker');
    const c = worker.spec.template.spec.containers[0];
    const mount = c.volumeMounts.find((m: any) => m.mountPath === '/etc/ipa/temporal-tls');
    for (const key of ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH']) {
      assert.ok(data[key].startsWith(`${mount.mountPath}/`), `${key}=${data[key]}`);
    }
    assert.equal(data.TEMPORAL_ADDRESS, one(base, 'ConfigMap', 'ipa-config').data.TEMPORAL_ADDRESS, 'merge keeps the other keys');
  });
});
