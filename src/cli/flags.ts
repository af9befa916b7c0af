import { resolvePipelineSpec, resolveProfileSet } from '../io/load.js';
import { checkPipelineAgainstProfiles, type PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { ValidationError } from '../model/validation.js';

/** Command-line values, checked the way every other input is: errors name the flag and the value. */
export function flagError(flag: string, message: string): ValidationError {
  return new ValidationError('command line', [{ path: flag, message }]);
}

export interface NumberRule {
  /** Smallest value allowed (default 0). */
  min?: number;
  /** Whether `min` itself is excluded (default false). */
  exclusive?: boolean;
  max?: number;
  integer?: boolean;
}

export function numberFlag(flag: string, value: string, rule?: NumberRule): number;
export function numberFlag(flag: string, value: string | undefined, rule?: NumberRule): number | undefined;
export function numberFlag(flag: string, value: string | undefined, rule: NumberRule = {}): number | undefined {
  if (value === undefined) return undefined;
  const { min = 0, exclusive = false, max = Number.POSITIVE_INFINITY, integer = false } = rule;
  const n = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(n) && (exclusive ? n > min : n >= min) && n <= max && (!integer || Number.isInteger(n));
  if (!ok) {
    const kind = integer ? 'a whole number' : 'a finite number';
    const range = `${exclusive ? '>' : '≥'} ${min}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}`;
    throw flagError(flag, `expected ${kind} ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export const positiveNumberFlag = (flag: string, value: string | undefined) => numberFlag(flag, value, { exclusive: true });
export const portFlag = (flag: string, value: string) => numberFlag(flag, value, { min: 1, max: 65535, integer: true });
export const positiveIntFlag = (flag: string, value: string) => numberFlag(flag, value, { min: 1, integer: true });

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw flagError(flag, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** The --pipeline spec and the profile set it runs with (--profiles, else the spec's), checked against each other. */
export async function pipelineFlags(
  pipeline: string,
  profilesRef: string | undefined,
): Promise<{ spec: PipelineSpec; profiles: ProfileSet }> {
  const spec = await resolvePipelineSpec(pipeline);
  const ref = profilesRef ?? spec.profiles;
  if (!ref) throw flagError('--profiles', `required: pipeline ${spec.name} names no profile set`);
  const profiles = await resolveProfileSet(ref);
  checkPipelineAgainstProfiles(spec, profiles, pipeline);
  return { spec, profiles };
}
