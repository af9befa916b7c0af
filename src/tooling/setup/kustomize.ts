import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../../common/log.js';
import { binaryFromEnv, isExecutable, onPath } from '../pypiBinary.js';
import { goBinary } from './go.js';
import { sharedLookup } from './sharedLookup.js';

const run = promisify(execFile);

/**
 * The kustomize release built when none is found: the newest whose go.mod accepts this machine's
 * Go 1.26 (v5.8.3 asks for Go 1.27). kubectl 1.27+ embeds kustomize v5 too (`kubectl apply -k`).
 */
export const KUSTOMIZE_VERSION = 'v5.8.2';
const KUSTOMIZE_PACKAGE = 'sigs.k8s.io/kustomize/kustomize/v5';

/** `~/.cache/ipa/bin` (or `$XDG_CACHE_HOME/ipa/bin`): outside the clone, so a fresh clone reuses the build. */
export function kustomizeCacheBinary(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ipa', 'bin', 'kustomize');
}

async function findGo(): Promise<string> {
  const go = await goBinary();
  if (!go) {
    throw new Error(
      `no kustomize found (KUSTOMIZE_BIN, PATH, ${kustomizeCacheBinary()}) and no \`go\` on PATH (or GO_BIN) to build ` +
        `${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION} with: install kustomize v5 and put it on PATH or set KUSTOMIZE_BIN`,
    );
  }
  return go;
}

/**
 * `go install` into a folder beside the cache's bin/, then a rename into place: a process racing
 * here never runs a half-written binary, and the loser of the race just replaces it with its own.
 */
async function buildIntoCache(): Promise<string> {
  const go = await findGo();
  const target = kustomizeCacheBinary();
  const binDir = join(target, '..');
  await mkdir(binDir, { recursive: true });
  const staging = await mkdtemp(join(binDir, '.kustomize-'));
  const started = Date.now();
  log.info({ package: `${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION}`, into: target }, 'building kustomize with go install (a minute or two)');
  try {
    await run(go, ['install', '-trimpath', '-ldflags=-s -w', `${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION}`], {
      cwd: binDir,
      // GOTOOLCHAIN=local: never fetch another Go; GOFLAGS cleared: `go install pkg@version` refuses -mod.
      env: { ...process.env, GOBIN: staging, GOTOOLCHAIN: 'local', GOFLAGS: '', CGO_ENABLED: '0' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 30 * 60_000,
    }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`\`go install ${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION}\` failed: ${(err.stderr || err.message).trim()}`);
    });
    await rename(join(staging, 'kustomize'), target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log.info({ kustomize: target, elapsedSeconds: Math.round((Date.now() - started) / 1000) }, 'kustomize built');
  return target;
}

async function locate(): Promise<string> {
  const explicit = await binaryFromEnv('KUSTOMIZE_BIN');
  if (explicit) return explicit;
  const fromPath = await onPath('kustomize');
  if (fromPath) return fromPath;
  const cached = kustomizeCacheBinary();
  if (await isExecutable(cached)) return cached;
  return buildIntoCache();
}

/**
 * The path of a `kustomize` binary: KUSTOMIZE_BIN, else `kustomize` on PATH, else
 * `~/.cache/ipa/bin/kustomize`, else that one built from the Go module proxy with `go install`.
 * Remembered per process, so parallel callers share one lookup (and one build).
 */
export const findKustomize = sharedLookup(locate);

/** What `kustomize version` prints, e.g. `v5.8.2`. */
export async function kustomizeVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['version']);
  return stdout.trim().split('\n')[0] ?? '';
}
