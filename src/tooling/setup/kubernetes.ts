import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../../common/log.js';
import { isExecutable, onPathOr } from '../pypiBinary.js';
import { aptInstall, usableAptGet } from './apt.js';
import { findGo, goEnv, runGo, withBuildLock } from './goBuild.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/**
 * The newest 1.30 patch release, as it works with Debian bookworm's etcd 3.4.23: from 1.31 on,
 * consistent reads from the watch cache are on by default and need etcd 3.4.31+ or 3.5.13+.
 */
export const KUBERNETES_VERSION = 'v1.30.14';
export const KWOK_VERSION = 'v0.8.0';
const KUBERNETES_MODULE = 'k8s.io/kubernetes';
const KWOK_PACKAGE = 'sigs.k8s.io/kwok/cmd/kwok';
const KUBE_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
type KubeCommand = (typeof KUBE_COMMANDS)[number];
const GO_COMMANDS = [...KUBE_COMMANDS, 'kwok'] as const;
type GoCommand = (typeof GO_COMMANDS)[number];

/** Where Debian's etcd-server package puts the binary; checked even when PATH lacks /usr/bin. */
export const DEBIAN_ETCD = '/usr/bin/etcd';

export interface KubernetesBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** What `kube-apiserver --version` says, e.g. `v1.30.14`. */
  version: string;
}

/**
 * Outside the clone, so that a fresh clone on the same machine (CI) reuses a build that takes
 * minutes; one folder per version, so a version bump never runs stale binaries.
 */
export function kubernetesCacheDir(): string {
  const root = process.env.IPA_K8S_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ipa');
  return join(root, `k8s-${KUBERNETES_VERSION}`);
}

async function findEtcd(): Promise<string> {
  const explicit = process.env.ETCD_BIN;
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`ETCD_BIN=${JSON.stringify(explicit)} is not an executable file`);
  }
  const binDir = process.env.IPA_K8S_BIN_DIR;
  const inBinDir = binDir && (await isExecutable(join(binDir, 'etcd'))) ? join(binDir, 'etcd') : undefined;
  const existing = inBinDir ?? (await onPathOr('etcd', DEBIAN_ETCD));
  if (existing) return existing;
  const howTo =
    'install etcd 3.4 or 3.5 (Debian/Ubuntu: `apt-get install --no-install-recommends etcd-server`) and put `etcd` on PATH or set ETCD_BIN';
  const apt = await usableAptGet();
  if ('why' in apt) throw new Error(`no etcd binary found (${apt.why}): ${howTo}`);
  try {
    await aptInstall(apt.aptGet, 'etcd-server', ['etcd']);
  } catch (err) {
    throw new Error(`no etcd binary found and ${(err as Error).message}: ${howTo}`);
  }
  if (!(await isExecutable(DEBIAN_ETCD))) throw new Error(`apt-get installed etcd-server but ${DEBIAN_ETCD} is not executable`);
  return DEBIAN_ETCD;
}

/** `3.4.23` from `etcd --version`; Kubernetes 1.30 talks to etcd 3.4 and 3.5 only. */
export async function etcdVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version']);
  const version = stdout.match(/etcd Version:\s*(\S+)/)?.[1];
  if (!version) throw new Error(`${binary} --version printed no "etcd Version:" line: ${JSON.stringify(stdout.slice(0, 200))}`);
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || minor === undefined || minor < 4)
    throw new Error(`etcd at ${binary} is ${version}; Kubernetes ${KUBERNETES_VERSION} needs 3.4 or 3.5`);
  return version;
}

/**
 * The staging modules (k8s.io/api, k8s.io/client-go, …) that k8s.io/kubernetes's go.mod replaces
 * with ./staging folders: a module depending on k8s.io/kubernetes must replace each itself (with
 * the v0.X.Y tag of the same release), as replace lines of dependencies are ignored.
 */
async function stagingModules(go: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string[]> {
  const { stdout } = await run(go, ['mod', 'download', '-json', `${KUBERNETES_MODULE}@${KUBERNETES_VERSION}`], {
    cwd,
    env,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: Error & { stdout?: string }) => ({ stdout: err.stdout ?? '', error: err }));
  const info = JSON.parse(stdout || '{}') as { GoMod?: string; Error?: string };
  if (!info.GoMod) throw new Error(`\`go mod download ${KUBERNETES_MODULE}@${KUBERNETES_VERSION}\` failed: ${info.Error ?? stdout}`);
  const goMod = await readFile(info.GoMod, 'utf8');
  const modules = [...goMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map((m) => m[1] as string);
  if (modules.length === 0) throw new Error(`no ./staging replace lines in ${info.GoMod}`);
  return modules;
}

function throwawayGoMod(staging: string[]): string {
  const stagingTag = KUBERNETES_VERSION.replace(/^v1\./, 'v0.');
  return [
    '// Written by ipa setup to build Kubernetes binaries from the Go module proxy; safe to delete.',
    'module ipa.local/kubernetes-binaries',
    '',
    // Kubernetes 1.30's own go line, so the binaries keep that release's GODEBUG defaults.
    'go 1.22.0',
    '',
    `require ${KUBERNETES_MODULE} ${KUBERNETES_VERSION}`,
    '',
    'replace (',
    ...staging.map((m) => `\t${m} => ${m} ${stagingTag}`),
    ')',
    '',
  ].join('\n');
}

/** What `kube-apiserver --version` says (and clients see in /version): upstream's hack/lib/version.sh sets the same. */
function versionLdflags(): string {
  const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => [
      `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ])
    .join(' ');
}

async function buildKubeCommands(go: string, dir: string, commands: KubeCommand[]): Promise<void> {
  const moduleDir = join(dir, 'module');
  await mkdir(moduleDir, { recursive: true });
  const env = goEnv('-mod=mod');
  log.info({ module: `${KUBERNETES_MODULE}@${KUBERNETES_VERSION}` }, 'reading the Kubernetes go.mod for its staging modules');
  const goMod = throwawayGoMod(await stagingModules(go, goEnv(''), dir));
  if ((await readFile(join(moduleDir, 'go.mod'), 'utf8').catch(() => '')) !== goMod) await writeFile(join(moduleDir, 'go.mod'), goMod);
  const staging = await mkdtemp(join(dir, 'bin', '.build-'));
  try {
    log.info(
      { commands, into: join(dir, 'bin') },
      `building Kubernetes ${KUBERNETES_VERSION} (a first build takes about 5 minutes on 2 cores)`,
    );
    await runGo(
      go,
      [
        'build',
        '-v',
        '-trimpath',
        `-ldflags=-s -w ${versionLdflags()}`,
        '-o',
        `${staging}/`,
        ...commands.map((c) => `${KUBERNETES_MODULE}/cmd/${c}`),
      ],
      { cwd: moduleDir, env, step: `kubernetes ${commands.join(' ')}` },
    );
    for (const command of commands) await rename(join(staging, command), join(dir, 'bin', command));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function installKwok(go: string, dir: string): Promise<void> {
  const staging = await mkdtemp(join(dir, 'bin', '.build-'));
  try {
    log.info({ package: `${KWOK_PACKAGE}@${KWOK_VERSION}`, into: join(dir, 'bin') }, 'installing kwok');
    await runGo(go, ['install', '-v', '-trimpath', '-ldflags=-s -w', `${KWOK_PACKAGE}@${KWOK_VERSION}`], {
      cwd: dir,
      env: { ...goEnv(''), GOBIN: staging },
      step: `kwok ${KWOK_VERSION}`,
    });
    await rename(join(staging, 'kwok'), join(dir, 'bin', 'kwok'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function missingIn(binDir: string): Promise<GoCommand[]> {
  const missing: GoCommand[] = [];
  for (const command of GO_COMMANDS) if (!(await isExecutable(join(binDir, command)))) missing.push(command);
  return missing;
}

async function findGoCommands(install: boolean): Promise<string> {
  const explicit = process.env.IPA_K8S_BIN_DIR;
  if (explicit) {
    const missing = await missingIn(explicit);
    if (missing.length > 0) throw new Error(`IPA_K8S_BIN_DIR=${JSON.stringify(explicit)} has no executable ${missing.join(', ')}`);
    return explicit;
  }
  const dir = kubernetesCacheDir();
  const binDir = join(dir, 'bin');
  if ((await missingIn(binDir)).length === 0) return binDir;
  if (!install) {
    throw new Error(`no Kubernetes ${KUBERNETES_VERSION} binaries in ${binDir}: run \`ipa setup\` to build them, or set IPA_K8S_BIN_DIR`);
  }
  const go = await findGo(`Kubernetes ${KUBERNETES_VERSION} and kwok ${KWOK_VERSION}`);
  await mkdir(binDir, { recursive: true });
  await withBuildLock(dir, 'the Kubernetes binaries', async () => {
    // Asked again under the lock: the process we waited for may have built them all.
    const missing = await missingIn(binDir);
    const kube = missing.filter((c): c is KubeCommand => c !== 'kwok');
    if (kube.length > 0) await buildKubeCommands(go, dir, kube);
    if (missing.includes('kwok')) await installKwok(go, dir);
  });
  return binDir;
}

async function locate(install: boolean): Promise<KubernetesBinaries> {
  const etcd = await findEtcd();
  await etcdVersion(etcd);
  const binDir = await findGoCommands(install);
  const kubeApiserver = join(binDir, 'kube-apiserver');
  // Asked rather than assumed: IPA_K8S_BIN_DIR may hold another release.
  const { stdout } = await run(kubeApiserver, ['--version']);
  const version = stdout.match(/Kubernetes (v\S+)/)?.[1];
  if (!version) throw new Error(`${kubeApiserver} --version printed no "Kubernetes v…": ${JSON.stringify(stdout.slice(0, 200))}`);
  return {
    etcd,
    kubeApiserver,
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
    kwok: join(binDir, 'kwok'),
    version,
  };
}

/**
 * etcd (ETCD_BIN, else IPA_K8S_BIN_DIR, PATH or /usr/bin, else Debian's etcd-server installed
 * with apt-get when root, its system service neither started nor enabled) and kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (IPA_K8S_BIN_DIR, else the per-user cache,
 * else built there from the Go module proxy unless `install` is false). Remembered per process.
 */
export const findKubernetesBinaries: (options?: { install?: boolean }) => Promise<KubernetesBinaries> = sharedLookup(
  (options: { install?: boolean } = {}) => locate(options.install ?? true),
);
