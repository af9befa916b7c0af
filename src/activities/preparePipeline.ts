import { pipelineSpecOf, resolveProfileSet } from '../io/load.js';
import type { AdaptOptions } from '../model/adaptInput.js';
import { parseAdaptInput } from '../model/adaptInput.js';
import { checkPipelineAgainstProfiles, type PipelineSpec } from '../model/pipelineSpec.js';
import { type Settings, settingsOf } from '../model/settings.js';
import { ValidationError } from '../model/validation.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** A validated `adaptPipeline` input: the spec resolved, the profile set pinned by its version. */
export interface PreparedPipeline {
  spec: PipelineSpec;
  /** Content hash of the profile set the optimizer reads. */
  profilesVersion: string;
  settings: Settings;
  options: Omit<AdaptOptions, 'pipeline' | 'profiles' | 'slaMs' | 'objective'>;
}

/** Validates a workflow input and resolves what it names; an invalid input is a non-retryable InvalidInput. */
export async function preparePipeline(input: unknown): Promise<PreparedPipeline> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const { pipeline, profiles: profilesRef, slaMs, objective, ...options } = parseAdaptInput(input);
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
    return { spec, profilesVersion: profiles.version, settings, options };
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
