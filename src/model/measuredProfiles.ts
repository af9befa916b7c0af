import { z } from 'zod';
import { PROFILE_SET_FORMAT, type ProfileRow, type ProfileSet, type Shape, withVersion } from './profileSet.js';
import { parseWith } from './validation.js';

/**
 * The shared reference measurements (`measured-profiles/variant-profiles.json`): one GPU row per
 * batch, CPU rows per (threads, batch). Only the fields the conversion reads are checked.
 */
const measuredRow = z.object({
  batch: z.int().positive(),
  threads: z.int().positive().optional(),
  n: z.int().positive(),
  p50_ms: z.number().positive(),
  p95_ms: z.number().positive(),
  p99_ms: z.number().positive(),
  mean_ms: z.number().positive(),
  max_ms: z.number().positive(),
  throughput_rps: z.number().positive(),
});

const measuredFile = z.object({
  about: z.string(),
  host: z.object({ gpu: z.string(), cpu: z.string(), cpus: z.int(), torch: z.string(), torchvision: z.string() }),
  accuracy_metric: z.record(z.string(), z.string()),
  variants: z.array(
    z.object({
      task: z.string(),
      variant: z.string(),
      accuracy: z.number(),
      gpu: z.array(measuredRow),
      cpu: z.array(measuredRow),
    }),
  ),
  notes: z.array(z.string()),
});

export interface ConvertOptions {
  name: string;
  /** Host cores a GPU replica gets besides its GPU (feeding, pre/post-processing). */
  gpuShapeCpu: number;
  measuredAt?: string;
}

function toRow(row: z.infer<typeof measuredRow>): ProfileRow {
  return {
    batch: row.batch,
    p50Ms: row.p50_ms,
    p95Ms: row.p95_ms,
    p99Ms: row.p99_ms,
    meanMs: row.mean_ms,
    maxMs: row.max_ms,
    throughputRps: row.throughput_rps,
    samples: row.n,
  };
}

const byBatch = (a: ProfileRow, b: ProfileRow) => a.batch - b.batch;

/** Converts the reference measurements into a profile set: `cpu-<threads>` shapes and one GPU shape. */
export function convertMeasuredProfiles(input: unknown, options: ConvertOptions): ProfileSet {
  const file = parseWith(measuredFile, input, 'measured profiles');
  const gpuShape = `gpu-${file.host.gpu
    .replace(/^NVIDIA\s+/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')}`;
  const threads = [...new Set(file.variants.flatMap((v) => v.cpu.map((r) => r.threads ?? 1)))].sort((a, b) => a - b);
  const shapes: Shape[] = [
    ...threads.map((t) => ({ name: `cpu-${t}`, cpu: t, gpu: 0 })),
    { name: gpuShape, cpu: options.gpuShapeCpu, gpu: 1, accelerator: file.host.gpu },
  ];
  const variants = file.variants.map((v) => {
    const cpuProfiles = threads
      .map((t) => ({
        shape: `cpu-${t}`,
        rows: v.cpu
          .filter((r) => (r.threads ?? 1) === t)
          .map(toRow)
          .sort(byBatch),
      }))
      .filter((p) => p.rows.length > 0);
    const gpuProfiles = v.gpu.length > 0 ? [{ shape: gpuShape, rows: v.gpu.map(toRow).sort(byBatch) }] : [];
    return { task: v.task, variant: v.variant, accuracy: v.accuracy, profiles: [...cpuProfiles, ...gpuProfiles] };
  });
  return withVersion({
    format: PROFILE_SET_FORMAT,
    name: options.name,
    description: `Converted from the reference measurements (${file.about}).`,
    latencyPercentile: 'p99',
    source: {
      host: { gpu: file.host.gpu, cpu: file.host.cpu, cpus: file.host.cpus },
      ...(options.measuredAt ? { measuredAt: options.measuredAt } : {}),
      software: { torch: file.host.torch, torchvision: file.host.torchvision },
      notes: file.notes,
    },
    accuracyMetric: file.accuracy_metric,
    shapes,
    variants,
  });
}
