import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { profileSetsDir } from '../common/paths.js';
import { ipaVersion } from '../common/version.js';
import { resolveProfileSet } from '../io/load.js';
import type { ProfileSet } from '../model/profileSet.js';
import type { WrittenProfileSet } from '../model/profilingRun.js';
import { mergeProfileSet, type ProfilingOutcome } from './profileSetMerge.js';

/** Merges a run's measurements into a new version of the named set and writes it to the store. */
export async function storeProfileSet(outcome: ProfilingOutcome): Promise<WrittenProfileSet> {
  const previous: ProfileSet | undefined = await resolveProfileSet(outcome.name).catch(() => undefined);
  const set = mergeProfileSet(previous, outcome, { ipa: ipaVersion, node: process.version });
  const path = join(profileSetsDir, `${set.name}.${set.version}.json`);
  await writeFile(path, `${JSON.stringify(set, null, 2)}\n`);
  const rows = set.variants.reduce((n, v) => n + v.profiles.reduce((m, p) => m + p.rows.length, 0), 0);
  return { name: set.name, version: set.version, path, variants: set.variants.length, rows };
}
