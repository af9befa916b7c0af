import { type Policy, policyFor } from '../adapt/policy.js';
import { pipelineSpecOf, resolveProfileSet } from '../io/load.js';
import type { AdaptOptions } from '../model/adaptInput.js';
import { parseAdaptInput } from '../model/adaptInput.js';
import { checkPipelineAgainstProfiles, type PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { type Settings, settingsOf } from '../model/settings.js';
import { ValidationError } from '../model/validation.js';
import { withHighsSolver } from '../optimizer/highsSolver.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** A validated `adaptPipeline` input: the spec resolved, the profile set pinned by its version, the policy resolved. */
export interface PreparedPipeline {
  spec: PipelineSpec;
  /** Content hash of the profile set the optimizer reads. */
  profilesVersion: string;
  settings: Settings;
  options: Omit<AdaptOptions, 'pipeline' | 'profiles' | 'slaMs' | 'objective' | 'policy' | 'peakRps' | 'hpa'>;
  /** Who decides, with what it holds fixed; absent in loops started before policies (ipa). */
  policy?: Policy;
}

/** The policy with its fixed part worked out once: the variants, replicas or config it holds. */
function resolvePolicy(options: AdaptOptions, spec: PipelineSpec, profiles: ProfileSet, settings: Settings): Promise<Policy> {
  const { policy, peakRps, hpa } = options;
  const atPeak = problemFromSpec(spec, profiles, peakRps ?? 0, settings);
  return withHighsSolver(
    () =>
      policyFor(policy, atPeak, {
        ...(hpa?.target !== undefined ? { target: hpa.target } : {}),
        ...(hpa?.tolerance !== undefined ? { tolerance: hpa.tolerance } : {}),
        ...(hpa?.stabilizationSeconds !== undefined ? { stabilizationMs: hpa.stabilizationSeconds * 1000 } : {}),
        ...(hpa?.minReplicas !== undefined ? { minReplicas: hpa.minReplicas } : {}),
        ...(hpa?.maxReplicas !== undefined ? { maxReplicas: hpa.maxReplicas } : {}),
      }),
    (err) => err instanceof ValidationError,
  );
}

/** Validates a workflow input and resolves what it names; an invalid input is a non-retryable InvalidInput. */
export async function preparePipeline(input: unknown): Promise<PreparedPipeline> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const parsed = parseAdaptInput(input);
    const { pipeline, profiles: profilesRef, slaMs, objective, policy: _policy, peakRps: _peak, hpa: _hpa, ...options } = parsed;
    const spec = await pipelineSpecOf(pipeline);
    const ref = profilesRef ?? spec.profiles;
    if (!ref) {
      throw new ValidationError('adaptPipeline input', [
        { path: 'profiles', message: `required: pipeline ${spec.name} names no profile set` },
      ]);
    }
    const profiles = await resolveProfileSet(ref);
    checkPipelineAgainstProfiles(spec, profiles, `pipeline ${spec.name}`);
    const settings = settingsOf(spec, { ...objective, slaMs });
    const policy = await resolvePolicy(parsed, spec, profiles, settings);
    return { spec, profilesVersion: profiles.version, settings, options, policy };
  });
}

/**
 * The version of a profile set to switch to, checked against the spec: `ref` by version, name or
 * path, or the newest set of the spec's own profile name.
 */
export async function resolveProfiles(input: { spec: PipelineSpec; ref?: string }): Promise<string> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const ref = input.ref ?? input.spec.profiles;
    if (!ref)
      throw new ValidationError('reloadProfiles', [
        { path: 'version', message: `required: pipeline ${input.spec.name} names no profile set` },
      ]);
    const profiles = await resolveProfileSet(ref);
    checkPipelineAgainstProfiles(input.spec, profiles, `pipeline ${input.spec.name}`);
    return profiles.version;
  });
}
