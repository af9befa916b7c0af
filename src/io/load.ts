import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipelinesDir, profileSetsDir } from '../common/paths.js';
import { checkPipelineAgainstProfiles, type PipelineSpec, parsePipelineSpec } from '../model/pipelineSpec.js';
import { type ProfileSet, parseProfileSet } from '../model/profileSet.js';
import type { HostInfo } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';
import { hostInfo } from '../profiling/profilingHost.js';
import { readJsonFile } from './jsonFile.js';

export async function loadProfileSet(path: string): Promise<ProfileSet> {
  return parseProfileSet(await readJsonFile(path), path);
}

/** Loads a pipeline spec; with `profiles`, also checks its variants and shapes against them. */
export async function loadPipelineSpec(path: string, profiles?: ProfileSet): Promise<PipelineSpec> {
  const spec = parsePipelineSpec(await readJsonFile(path), path);
  if (profiles) checkPipelineAgainstProfiles(spec, profiles, path);
  return spec;
}

async function jsonFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => join(dir, n));
}

export async function loadAllProfileSets(dir = profileSetsDir): Promise<ProfileSet[]> {
  return Promise.all((await jsonFiles(dir)).map(loadProfileSet));
}

/** Profiling runs date their sets; a hand-made set without a date counts as the oldest. */
const measuredAt = (set: ProfileSet) => set.source?.measuredAt ?? '';

/** The host a set was measured on, as profiling records it (`source.host`, one entry per host). */
interface RecordedHost {
  cpu?: unknown;
  cores?: unknown;
}

/** Whether a set was measured on a host like `here`: the same CPU model and as many cores. */
function measuredLike(set: ProfileSet, here: Pick<HostInfo, 'cpu' | 'cores'>): boolean {
  const hosts = Object.values(set.source?.host ?? {}) as RecordedHost[];
  return hosts.some((h) => h.cpu === here.cpu && h.cores === here.cores);
}

/**
 * Finds a profile set by file path, name or version, so that users and workflows can refer to
 * a set by whatever they have at hand. A name means the newest set of that name measured on a
 * host like this one (same CPU model and core count), else the newest of any host: profiles
 * belong to a machine, so where a pipeline runs beside its model servers (the live testbed), the
 * plan takes the latencies of these servers while sets of other machines stay for theirs. Each
 * profiling run writes a new file, so the name follows the latest measurements and a version
 * pins one.
 */
export async function resolveProfileSet(
  ref: string,
  dir = profileSetsDir,
  here: Pick<HostInfo, 'cpu' | 'cores'> = hostInfo(),
): Promise<ProfileSet> {
  if (ref.endsWith('.json')) return loadProfileSet(ref);
  const sets = await loadAllProfileSets(dir);
  const named = sets.filter((s) => s.name === ref);
  const local = named.filter((s) => measuredLike(s, here));
  const found =
    sets.find((s) => s.version === ref) ??
    (local.length > 0 ? local : named).reduce<ProfileSet | undefined>(
      (newest, s) => (!newest || measuredAt(s) > measuredAt(newest) ? s : newest),
      undefined,
    );
  if (found) return found;
  const known = sets.map((s) => `${s.name} (${s.version})`).join(', ') || 'none';
  throw new ValidationError('profile set reference', [
    { path: 'profiles', message: `no profile set ${JSON.stringify(ref)} in ${dir} (known: ${known})` },
  ]);
}

/** A workflow input's pipeline: a name or file to find, or the spec itself, inline. */
export async function pipelineSpecOf(pipeline: string | Record<string, unknown>): Promise<PipelineSpec> {
  return typeof pipeline === 'string' ? resolvePipelineSpec(pipeline) : parsePipelineSpec(pipeline, 'pipeline');
}

/** Finds a pipeline spec by file path or by name under profiles/pipelines/. */
export async function resolvePipelineSpec(ref: string, profiles?: ProfileSet, dir = pipelinesDir): Promise<PipelineSpec> {
  return loadPipelineSpec(ref.endsWith('.json') ? ref : join(dir, `${ref}.json`), profiles);
}

/** A version is a content hash, so a set once read never changes: one copy per process. */
const byVersion = new Map<string, Promise<ProfileSet>>();

export function profileSetByVersion(version: string): Promise<ProfileSet> {
  let set = byVersion.get(version);
  if (!set) {
    set = resolveProfileSet(version);
    byVersion.set(version, set);
    set.catch(() => byVersion.delete(version));
  }
  return set;
}
