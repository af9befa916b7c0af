import type { Percentile } from '../model/fields.js';
import { PROFILE_SET_FORMAT, type ProfileSet, type VariantProfiles, withVersion } from '../model/profileSet.js';
import type { FailedJob, HostInfo, VariantMeasurement } from '../model/profilingRun.js';
import { shapeFromName } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';

export interface ProfilingOutcome {
  name: string;
  /** Workflow time of the run, so a replay writes the same set. */
  measuredAt: string;
  percentile: Percentile;
  measurements: VariantMeasurement[];
  failed: FailedJob[];
  /** Accuracy (%) given with the request; wins over what servers and earlier sets say. */
  accuracy: Record<string, number>;
  /** How the run measured, for the set's notes. */
  method: string;
}

/**
 * The new profile set of a run: the previous set of that name with every measured (variant,
 * shape) replaced, so profiling one shape keeps the others' rows. What was not measured again is
 * said in the notes.
 */
export function mergeProfileSet(earlier: ProfileSet | undefined, outcome: ProfilingOutcome, tools: Record<string, string>): ProfileSet {
  let software = { ...tools };
  // Rows of another percentile cannot sit in one set: the optimizer reads one column for all.
  const previous = earlier?.latencyPercentile === outcome.percentile ? earlier : undefined;
  const variants = new Map<string, VariantProfiles>((previous?.variants ?? []).map((v) => [v.variant, structuredClone(v)]));
  const shapes = new Map((previous?.shapes ?? []).map((s) => [s.name, s]));
  const accuracyMetric = { ...previous?.accuracyMetric };
  const hosts: Record<string, HostInfo> = {};
  const notes = [outcome.method];
  const missingAccuracy: string[] = [];

  for (const m of outcome.measurements) {
    hosts[m.measuredBy.host.name] = m.measuredBy.host;
    software = { ...software, [m.measuredBy.server.name]: m.measuredBy.server.version };
    notes.push(...m.notes.map((note) => `${m.variant} on ${m.shape}: ${note}`));
    notes.push(...m.skipped.map((s) => `${m.variant} on ${m.shape}, batch ${s.batch}: no sustainable rate (${s.reason})`));
    if (m.rows.length === 0) continue;
    const existing = variants.get(m.variant);
    const accuracy = outcome.accuracy[m.variant] ?? m.accuracy?.percent ?? existing?.accuracy;
    if (accuracy === undefined) {
      missingAccuracy.push(m.variant);
      continue;
    }
    if (m.accuracy && outcome.accuracy[m.variant] === undefined) accuracyMetric[m.task] = m.accuracy.metric;
    if (!shapes.has(m.shape)) shapes.set(m.shape, shapeFromName(m.shape));
    const profiles = (existing?.profiles ?? []).filter((p) => p.shape !== m.shape);
    profiles.push({ shape: m.shape, rows: m.rows });
    profiles.sort((a, b) => (a.shape < b.shape ? -1 : 1));
    variants.set(m.variant, { task: m.task, variant: m.variant, accuracy, profiles });
  }
  if (missingAccuracy.length > 0) {
    throw new ValidationError(`profile set ${outcome.name}`, [
      {
        path: 'accuracy',
        message: `no accuracy for ${missingAccuracy.join(', ')}: not testbed variants and not in an earlier set; give it with --accuracy VARIANT=PERCENT`,
      },
    ]);
  }
  for (const f of outcome.failed) notes.push(`${f.variant} on ${f.shape} failed: ${f.error}`);
  if (earlier && !previous)
    notes.push(`${earlier.version} measured ${earlier.latencyPercentile}, not ${outcome.percentile}: none of its rows kept`);
  if (previous) notes.push(`rows not measured by this run are from ${previous.version} (${previous.source?.measuredAt ?? 'undated'})`);

  return withVersion(
    {
      format: PROFILE_SET_FORMAT,
      name: outcome.name,
      description: `Measured by ipa profilePipeline on ${Object.keys(hosts).join(', ') || 'no host'}`,
      latencyPercentile: outcome.percentile,
      source: { host: hosts, measuredAt: outcome.measuredAt, software, notes },
      accuracyMetric,
      shapes: [...shapes.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
      variants: [...variants.values()].filter((v) => v.profiles.length > 0).sort((a, b) => (a.variant < b.variant ? -1 : 1)),
    },
    `profile set ${outcome.name}`,
  );
}
