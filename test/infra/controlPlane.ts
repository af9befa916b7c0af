import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { projectRoot } from '../../src/common/paths.js';
import { findKubernetesBinaries, type KubernetesBinaries } from '../../src/tooling/setup/kubernetes.js';
import { freePort } from '../helpers/ports.js';
import { type Started, startInGroup, stopGroup, waitUntil } from '../helpers/processes.js';
import { makeCertificates } from './certificates.js';
import { fakeNodes, KWOK_NODE_ANNOTATION, type NodeShape } from './fakeNodes.js';

export interface ControlPlaneOptions {
  /** Also make a token for this user, with no group beyond system:authenticated: RBAC is the test's to grant. */
  workerUser?: string;
  /** Fake nodes; default 3 CPU nodes and 2 GPU nodes (see fakeNodes.ts). */
  nodes?: NodeShape[];
  /** For each wait (etcd, apiserver, nodes Ready); generous, as two cores also run the tests. */
  timeoutMs?: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (a system:masters token), self-contained: the CA is embedded. */
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  adminToken: string;
  workerToken?: string;
  /** The CA that signed the serving certificate, PEM. */
  caPem: string;
  /** The temporary folder with certificates, kubeconfigs and etcd's data; stop() removes it. */
  dir: string;
  binaries: KubernetesBinaries;
  /** A client configuration for the admin, as the kubeconfig says. */
  kubeConfig(): KubeConfig;
  /** Process-group ids of etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok. */
  processGroups(): number[];
  /** What a component printed so far, for failure messages. */
  output(component: Component): string;
  /** Stops kube-apiserver, waits `downMs`, starts it again on the same port with the same state in etcd. */
  restartApiserver(downMs?: number): Promise<void>;
  /** Stops every component's process group, waits until none is left, removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

// Allocation ranges only: no traffic ever goes to them (there is no kubelet or kube-proxy).
const SERVICE_CIDR = '10.96.0.0/24';
const SERVICE_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.1/24';

interface TokenUser {
  token: string;
  user: string;
  groups: string[];
}

const newToken = () => randomBytes(24).toString('hex');

/** The `--token-auth-file` format: token,user,uid,"group1,group2". */
const tokenFile = (users: TokenUser[]) => users.map((u) => `${u.token},${u.user},${u.user},"${u.groups.join(',')}"\n`).join('');

/** JSON is YAML: client-go and @kubernetes/client-node read it as a kubeconfig. */
function kubeconfig(server: string, caPem: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'ipa-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'ipa-test', context: { cluster: 'ipa-test', user } }],
      'current-context': 'ipa-test',
    },
    null,
    2,
  );
}

/** GET over TLS with the test CA: global fetch cannot be given a CA without another dependency. */
function httpsGet(url: string, caPem: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Processes whose command line mentions `text` (every component names the control plane's folder
 * in its flags): what stop() must leave none of, whatever their process group.
 */
export function processesMentioning(text: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // Gone meanwhile.
    }
    if (cmdline.includes(text)) found.push({ pid: Number(entry), cmdline });
  }
  return found;
}

const lastLines = (text: string, n = 40) => text.trim().split('\n').slice(-n).join('\n');

class Components {
  readonly started = new Map<Component, Started>();
  // A test process that dies without stop() would leave a cluster behind: its groups go with it.
  private readonly onExit = () => {
    for (const s of this.started.values()) {
      try {
        if (s.child.pid) process.kill(-s.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };

  constructor(private readonly dir: string) {
    process.on('exit', this.onExit);
  }

  start(component: Component, binary: string, args: string[]): Started {
    const started = startInGroup(binary, args, { cwd: this.dir, env: { ...process.env, HOME: this.dir } });
    this.started.set(component, started);
    return started;
  }

  /**
   * Polls `check` until it holds; fails fast, with the component's last lines, if `component`
   * exits meanwhile, and after `timeoutMs` with `what` and those lines.
   */
  async waitFor(component: Component, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const started = this.started.get(component);
    if (!started) throw new Error(`${component} was not started`);
    let exitCode: number | null | undefined;
    void started.exited.then((code) => (exitCode = code));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (exitCode !== undefined) throw new Error(`${component} exited with ${exitCode} before ${what}:\n${lastLines(started.output())}`);
      if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms; ${component} said:\n${lastLines(started.output())}`);
      await sleep(250);
    }
  }

  /** Reverse start order: clients before the apiserver, the apiserver before etcd. */
  async stopAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const [component, started] of [...this.started.entries()].reverse()) {
      await stopGroup(started).catch((err) => errors.push(new Error(`stopping ${component}: ${(err as Error).message}`)));
    }
    if (!(await waitUntil(() => processesMentioning(this.dir).length === 0, 10_000))) {
      errors.push(new Error(`processes left after stop: ${JSON.stringify(processesMentioning(this.dir))}`));
    }
    process.off('exit', this.onExit);
    if (errors.length > 0) throw new AggregateError(errors, `control plane in ${this.dir} did not stop cleanly`);
  }
}

async function startEtcd(c: Components, binary: string, dir: string, timeoutMs: number): Promise<string> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  c.start('etcd', binary, [
    '--name=ipa-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=ipa-test=${peer}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-outputs=stderr',
  ]);
  const healthy = async () =>
    fetch(`${client}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true',
      () => false,
    );
  await c.waitFor('etcd', `etcd healthy at ${client}`, healthy, timeoutMs);
  return client;
}

async function startApiserver(
  c: Components,
  binary: string,
  flags: { dir: string; etcd: string; caPem: string; adminToken: string; certs: Awaited<ReturnType<typeof makeCertificates>> },
  timeoutMs: number,
  port?: number,
): Promise<string> {
  port ??= await freePort();
  const server = `https://127.0.0.1:${port}`;
  const { certs } = flags;
  c.start('kube-apiserver', binary, [
    `--etcd-servers=${flags.etcd}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(flags.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.serverCert}`,
    `--tls-private-key-file=${certs.serverKey}`,
    `--client-ca-file=${certs.caCert}`,
    `--token-auth-file=${join(flags.dir, 'tokens.csv')}`,
    '--authorization-mode=Node,RBAC',
    '--anonymous-auth=false',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // The default reconciler would publish 127.0.0.1 as the `kubernetes` Service's endpoint,
    // which endpoint validation rejects (loopback), logging an error every 10 s.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ]);
  const ready = async () =>
    httpsGet(`${server}/readyz`, flags.caPem, flags.adminToken).then(
      (r) => r.status === 200,
      () => false,
    );
  await c.waitFor('kube-apiserver', `kube-apiserver ready at ${server}`, ready, timeoutMs).catch(async (err: Error) => {
    const detail = await httpsGet(`${server}/readyz?verbose`, flags.caPem, flags.adminToken).catch((e: Error) => ({ body: e.message }));
    throw new Error(`${err.message}\n/readyz: ${detail.body.trim().split('\n').slice(-5).join(' / ')}`);
  });
  return server;
}

function isReady(node: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return node.status?.conditions?.some((cond) => cond.type === 'Ready' && cond.status === 'True') ?? false;
}

/**
 * A real Kubernetes control plane on loopback ports (etcd, kube-apiserver with Node,RBAC
 * authorization, kube-controller-manager, kube-scheduler) with kwok playing the kubelets of fake
 * nodes: Deployments get ReplicaSets, pods get scheduled and turn Running, nothing runs. Each
 * component is its own process group under a temporary folder; stop() removes both.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  // freePort() only says a port was free a moment ago: on a lost race, start over on others. An
  // etcd that timed out a request at its first writes (a busy CI machine) is started over too.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const message = `${(err as Error).message} ${(err as { body?: unknown }).body ?? ''}`;
      if (attempt >= 3 || !/address already in use|etcdserver: request timed out/.test(message)) throw err;
    }
  }
}

async function startOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const binaries = await findKubernetesBinaries();
  // In memory where there is a tmpfs: etcd fsyncs every write, and on a busy disk that alone
  // times out its first requests. A test cluster need not outlive the machine.
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ipa-k8s-'));
  const c = new Components(dir);
  try {
    const certs = await makeCertificates(dir, SERVICE_IP);
    const caPem = await readFile(certs.caCert, 'utf8');
    const admin: TokenUser = { token: newToken(), user: 'ipa-admin', groups: ['system:masters'] };
    // The bootstrap RBAC roles are bound to these user names.
    const controllerManager: TokenUser = { token: newToken(), user: 'system:kube-controller-manager', groups: [] };
    const scheduler: TokenUser = { token: newToken(), user: 'system:kube-scheduler', groups: [] };
    // kwok writes node and pod status, leases and events: simplest as a master.
    const kwok: TokenUser = { token: newToken(), user: 'kwok-controller', groups: ['system:masters'] };
    const worker: TokenUser | undefined = options.workerUser ? { token: newToken(), user: options.workerUser, groups: [] } : undefined;
    await writeFile(join(dir, 'tokens.csv'), tokenFile([admin, controllerManager, scheduler, kwok, ...(worker ? [worker] : [])]), {
      mode: 0o600,
    });
    await mkdir(join(dir, 'apiserver-certs'));

    const etcd = await startEtcd(c, binaries.etcd, dir, timeoutMs);
    const apiserverFlags = { dir, etcd, caPem, adminToken: admin.token, certs };
    const server = await startApiserver(c, binaries.kubeApiserver, apiserverFlags, timeoutMs);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const configs = { admin, controllerManager, scheduler, kwok };
    for (const [name, user] of Object.entries(configs)) {
      await writeFile(join(dir, `${name}.kubeconfig`), kubeconfig(server, caPem, user.user, user.token), { mode: 0o600 });
    }
    c.start('kube-controller-manager', binaries.kubeControllerManager, [
      `--kubeconfig=${join(dir, 'controllerManager.kubeconfig')}`,
      // 0 serves no HTTPS at all: nothing here reads its healthz or metrics.
      '--secure-port=0',
      '--bind-address=127.0.0.1',
      '--leader-elect=false',
      // Each controller as its own service account, as the bootstrap roles expect.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${certs.serviceAccountKey}`,
      `--root-ca-file=${certs.caCert}`,
      `--cluster-signing-cert-file=${certs.caCert}`,
      `--cluster-signing-key-file=${certs.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--cluster-name=ipa-test',
      // Both need a cloud provider: without one they only log an error at start.
      '--controllers=*,-service-lb-controller,-cloud-node-lifecycle-controller',
      '--profiling=false',
    ]);
    c.start('kube-scheduler', binaries.kubeScheduler, [
      `--kubeconfig=${join(dir, 'scheduler.kubeconfig')}`,
      '--secure-port=0',
      '--bind-address=127.0.0.1',
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const kwokConfig = join(dir, 'kwok.yaml');
    // Without --config kwok would read ~/.kwok/kwok.yaml. The stages only: a KwokConfiguration
    // document here would replace kwok's defaults (parallelism 0) instead of adding to them.
    await copyFile(join(projectRoot, 'test', 'infra', 'kwokStages.yaml'), kwokConfig);
    c.start('kwok', binaries.kwok, [
      `--config=${kwokConfig}`,
      `--kubeconfig=${join(dir, 'kwok.kubeconfig')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--manage-nodes-with-label-selector=',
      // No --server-address: kwok then serves nothing (no metrics, no fake kubelet API) and binds no port.
      `--cidr=${POD_CIDR}`,
      '--node-ip=127.0.0.1',
      '--node-lease-duration-seconds=40',
    ]);

    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const nodes = fakeNodes(options.nodes);
    for (const node of nodes) await core.createNode({ body: node });
    const allReady = async () => {
      const list = await core.listNode().catch(() => undefined);
      return list !== undefined && nodes.every((n) => list.items.some((item) => item.metadata?.name === n.metadata?.name && isReady(item)));
    };
    await c.waitFor('kwok', 'fake nodes Ready', allReady, timeoutMs);

    let stopped: Promise<void> | undefined;
    return {
      kubeconfigPath,
      server,
      adminToken: admin.token,
      ...(worker ? { workerToken: worker.token } : {}),
      caPem,
      dir,
      binaries,
      kubeConfig: () => {
        const config = new KubeConfig();
        config.loadFromFile(kubeconfigPath);
        return config;
      },
      processGroups: () => [...c.started.values()].flatMap((s) => (s.child.pid ? [s.child.pid] : [])),
      output: (component) => c.started.get(component)?.output() ?? '',
      restartApiserver: async (downMs = 0) => {
        const running = c.started.get('kube-apiserver');
        if (running) await stopGroup(running);
        await sleep(downMs);
        await startApiserver(c, binaries.kubeApiserver, apiserverFlags, timeoutMs, Number(new URL(server).port));
      },
      stop: () => {
        stopped ??= c.stopAll().finally(() => rm(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  } catch (err) {
    await c.stopAll().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
