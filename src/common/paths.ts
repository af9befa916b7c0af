import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder: the nearest ancestor of this module with ipa's package.json (src/ or dist/src/). */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'ipa') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no ipa package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export const projectRoot = findProjectRoot();
/** Downloaded tools (the Temporal CLI venv); git-ignored, safe to delete. */
export const cacheDir = resolve(process.env.IPA_CACHE_DIR ?? join(projectRoot, '.cache'));
/** Local state of `ipa dev`: the Temporal SQLite file, its log and pid. */
export const defaultStateDir = join(projectRoot, '.ipa');
export const profilesDir = join(projectRoot, 'profiles');
/** Where profile sets are read and profiling runs write them; IPA_PROFILE_STORE points elsewhere (a shared volume). */
export const profileSetsDir = resolve(process.env.IPA_PROFILE_STORE || join(profilesDir, 'sets'));
export const pipelinesDir = join(profilesDir, 'pipelines');
