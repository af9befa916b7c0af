import type { PipelineSpec } from '../model/pipelineSpec.js';
import { checkPipelineAgainstProfiles } from '../model/pipelineSpec.js';
import type { Problem } from '../model/problem.js';
import { findShape, findVariant, type ProfileRow, type ProfileSet } from '../model/profileSet.js';
import { type Settings, settingsOf } from '../model/settings.js';

const latencyOf: Record<PipelineSpec['latencyPercentile'], (row: ProfileRow) => number> = {
  p50: (row) => row.p50Ms,
  p95: (row) => row.p95Ms,
  p99: (row) => row.p99Ms,
};

/**
 * The optimisation instance for a pipeline at load λ under `settings` (the spec's own when
 * absent): the spec's limits, and for each stage the profile rows of its variants on its shapes at
 * the spec's latency percentile. A shape a stage allows but a variant was never profiled on stays
 * in, empty, so the optimizer can say why that option is out.
 */
export function problemFromSpec(spec: PipelineSpec, profiles: ProfileSet, load: number, settings: Settings = settingsOf(spec)): Problem {
  checkPipelineAgainstProfiles(spec, profiles);
  const latency = latencyOf[spec.latencyPercentile];
  const { slaMs, alpha, beta, gamma, accuracy } = settings;
  return {
    name: spec.name,
    slaMs,
    ...(spec.overheadMs > 0 ? { overheadMs: spec.overheadMs } : {}),
    load,
    arrivals: spec.arrivals,
    latencyPercentile: spec.latencyPercentile,
    objective: { alpha, beta, gamma, accuracy },
    limits: spec.limits,
    cost: spec.cost,
    stages: spec.stages.map((stage) => {
      const variants = stage.variants.map((name) => {
        const variant = findVariant(profiles, name);
        if (!variant) throw new Error(`unreachable: ${name} checked above`);
        return variant;
      });
      const shapeNames = stage.shapes ?? [...new Set(variants.flatMap((v) => v.profiles.map((p) => p.shape)))];
      return {
        name: stage.name,
        ...(stage.maxReplicas !== undefined ? { maxReplicas: stage.maxReplicas } : {}),
        ...(stage.maxBatch !== undefined ? { maxBatch: stage.maxBatch } : {}),
        variants: variants.map((variant) => ({
          name: variant.variant,
          accuracy: variant.accuracy,
          shapes: shapeNames.map((name) => {
            const shape = findShape(profiles, name);
            const rows = variant.profiles.find((p) => p.shape === name)?.rows ?? [];
            return {
              name,
              cpu: shape?.cpu ?? 0,
              gpu: shape?.gpu ?? 0,
              batches: rows.map((row) => ({
                batch: row.batch,
                latencyMs: latency(row),
                throughputRps: row.throughputRps,
                p50Ms: row.p50Ms,
                p99Ms: row.p99Ms,
              })),
            };
          }),
        })),
      };
    }),
  };
}
