import { createHash } from 'node:crypto';
import { z } from 'zod';
import { dnsLabel, noDuplicates, nonNegativeInt, percentile, positiveInt, positiveNumber, variantName } from './fields.js';
import { parseWith, show, ValidationError } from './validation.js';

export const PROFILE_SET_FORMAT = 'ipa.profile-set/v1';

/** A resource shape one replica runs on; cost and placement are derived from it. */
const shape = z.strictObject({
  name: dnsLabel,
  cpu: positiveNumber,
  gpu: nonNegativeInt,
  accelerator: z.string().min(1).optional(),
  memoryGiB: positiveNumber.optional(),
});

/** Latency and throughput of one replica serving batches of `batch` requests back to back. */
const profileRow = z
  .strictObject({
    batch: positiveInt,
    p50Ms: positiveNumber,
    p95Ms: positiveNumber,
    p99Ms: positiveNumber,
    meanMs: positiveNumber.optional(),
    maxMs: positiveNumber.optional(),
    throughputRps: positiveNumber,
    samples: positiveInt.optional(),
  })
  .superRefine((row, ctx) => {
    if (row.p95Ms < row.p50Ms || row.p99Ms < row.p95Ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['p99Ms'],
        message: `percentiles must not decrease, got p50Ms ${row.p50Ms}, p95Ms ${row.p95Ms}, p99Ms ${row.p99Ms}`,
      });
    }
  });

const shapeProfile = z
  .strictObject({
    shape: dnsLabel,
    rows: z.array(profileRow).min(1),
  })
  .superRefine((profile, ctx) => {
    profile.rows.forEach((row, i) => {
      const previous = profile.rows[i - 1];
      if (previous && row.batch <= previous.batch) {
        ctx.addIssue({
          code: 'custom',
          path: ['rows', i, 'batch'],
          message: `batch rows must be in increasing order, got batch ${row.batch} after ${previous.batch}`,
        });
      }
    });
  });

const variant = z.strictObject({
  task: z.string().min(1),
  variant: variantName,
  /** Published accuracy in percent (top-1, mAP, …: see the set's accuracyMetric for the task). */
  accuracy: z.number().min(0).max(100),
  profiles: z.array(shapeProfile).superRefine(noDuplicates('profile for shape', (p) => p.shape, { arrayPath: 'profiles', field: 'shape' })),
});

const profileSetSchema = z
  .strictObject({
    format: z.literal(PROFILE_SET_FORMAT),
    name: dnsLabel,
    /** Content hash of everything else in the file; see profileSetVersion. */
    version: z.string().regex(/^sha256-[0-9a-f]{16}$/, 'must be "sha256-" and 16 hex digits'),
    description: z.string().optional(),
    latencyPercentile: percentile.default('p99'),
    source: z
      .strictObject({
        host: z.record(z.string(), z.unknown()).optional(),
        measuredAt: z.string().optional(),
        software: z.record(z.string(), z.string()).optional(),
        notes: z.array(z.string()).optional(),
      })
      .optional(),
    accuracyMetric: z.record(z.string(), z.string()).default({}),
    shapes: z
      .array(shape)
      .min(1)
      .superRefine(noDuplicates('shape', (s) => s.name, { arrayPath: 'shapes', field: 'name' })),
    variants: z
      .array(variant)
      .min(1)
      .superRefine(noDuplicates('variant', (v) => v.variant, { arrayPath: 'variants', field: 'variant' })),
  })
  .superRefine((set, ctx) => {
    const shapes = new Set(set.shapes.map((s) => s.name));
    set.variants.forEach((v, i) => {
      v.profiles.forEach((p, j) => {
        if (!shapes.has(p.shape)) {
          ctx.addIssue({
            code: 'custom',
            path: ['variants', i, 'profiles', j, 'shape'],
            message: `unknown shape ${show(p.shape)} (shapes: ${[...shapes].join(', ')})`,
          });
        }
      });
    });
  });

export type ProfileSet = z.output<typeof profileSetSchema>;
export type Shape = ProfileSet['shapes'][number];
export type VariantProfiles = ProfileSet['variants'][number];
export type ShapeProfile = VariantProfiles['profiles'][number];
export type ProfileRow = ShapeProfile['rows'][number];

/** JSON with object keys sorted, so that equal content hashes equally whatever the key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The version of a profile set is a hash of its content (everything but `version`): decisions
 * record it, so a decision can always be traced to the exact numbers it was made from.
 */
export function profileSetVersion(set: Omit<ProfileSet, 'version'> | ProfileSet): string {
  const { version: _ignored, ...content } = set as ProfileSet;
  return `sha256-${createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16)}`;
}

/** Validates a profile set, including that its version matches its (normalised) content. */
export function parseProfileSet(input: unknown, source = 'profile set'): ProfileSet {
  const set = parseWith(profileSetSchema, input, source);
  const expected = profileSetVersion(set);
  if (set.version !== expected) {
    throw new ValidationError(source, [
      {
        path: 'version',
        message: `${show(set.version)} does not match the content hash ${show(expected)} (edited by hand? run \`ipa profiles rehash FILE\`)`,
      },
    ]);
  }
  return set;
}

/** Validates content made by a program (conversion, profiling, a hand edit) and stamps its version. */
export function withVersion(content: Omit<ProfileSet, 'version'> | ProfileSet, source = 'profile set'): ProfileSet {
  const set = parseWith(profileSetSchema, { ...content, version: 'sha256-0000000000000000' }, source);
  return { ...set, version: profileSetVersion(set) };
}

export function findVariant(set: ProfileSet, name: string): VariantProfiles | undefined {
  return set.variants.find((v) => v.variant === name);
}

export function findShape(set: ProfileSet, name: string): Shape | undefined {
  return set.shapes.find((s) => s.name === name);
}
