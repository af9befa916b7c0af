import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type KubernetesObject, loadAllYaml } from '@kubernetes/client-node';
import { projectRoot } from '../../src/common/paths.js';
import { findKustomize } from '../../src/tooling/setup/kustomize.js';

const run = promisify(execFile);

export const deployDir = join(projectRoot, 'deploy');

/**
 * `kustomize build DIR`, parsed: one object per rendered document, in kustomize's order
 * (Namespaces first, …). The objects are @kubernetes/client-node's typed models (V1Deployment, …),
 * which is what its KubernetesObjectApi takes, e.g. for a server-side dry-run apply.
 */
export async function renderKustomization(dir: string): Promise<KubernetesObject[]> {
  const kustomize = await findKustomize();
  const { stdout } = await run(kustomize, ['build', dir], { maxBuffer: 64 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`kustomize build ${dir} failed: ${(err.stderr || err.message).trim()}`);
  });
  return loadAllYaml(stdout).filter(Boolean) as KubernetesObject[];
}

/**
 * Renders a throwaway kustomization (written to a temporary folder) that lists `resources` and
 * `components` (folders, absolute or relative to the project) plus `extra` YAML: the way to build
 * a Component, or to check a recipe the README gives, without touching deploy/.
 */
export async function renderComposed(options: {
  resources?: string[];
  components?: string[];
  extra?: string;
}): Promise<KubernetesObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ipa-kustomize-'));
  // kustomize refuses absolute paths in a kustomization: point at the folders relatively.
  const rel = (path: string) => JSON.stringify(relative(dir, resolve(projectRoot, path)));
  const lines = [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    ...(options.resources?.length ? ['resources:', ...options.resources.map((r) => `  - ${rel(r)}`)] : []),
    ...(options.components?.length ? ['components:', ...options.components.map((c) => `  - ${rel(c)}`)] : []),
    options.extra ?? '',
  ];
  try {
    await writeFile(join(dir, 'kustomization.yaml'), `${lines.join('\n')}\n`);
    return await renderKustomization(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface KustomizationDir {
  dir: string;
  /** `Kustomization`, or `Component` for one that only an overlay can build. */
  kind: 'Kustomization' | 'Component';
}

/** Every folder under deploy/ with a kustomization.yaml, sorted. */
export async function kustomizationDirs(root = deployDir): Promise<KustomizationDir[]> {
  const found: KustomizationDir[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name === 'kustomization.yaml') {
        const text = await readFile(path, 'utf8');
        found.push({ dir, kind: /^kind:\s*Component\s*$/m.test(text) ? 'Component' : 'Kustomization' });
      }
    }
  };
  await walk(root);
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}
