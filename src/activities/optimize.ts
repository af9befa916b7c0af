import { resolveProfileSet } from '../io/load.js';
import type { Config } from '../model/config.js';
import type { Decision } from '../model/decision.js';
import type { Settings } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { optimize as optimizeProblem } from '../optimizer/decide.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** A version is a content hash, so a set once read never changes. */
const profileSets = new Map<string, Promise<ProfileSet>>();

function profileSet(version: string): Promise<ProfileSet> {
  let set = profileSets.get(version);
  if (!set) {
    set = resolveProfileSet(version);
    profileSets.set(version, set);
    set.catch(() => profileSets.delete(version));
  }
  return set;
}

export interface OptimizeInput {
  spec: PipelineSpec;
  profiles: string;
  load: number;
  settings: Settings;
  /** The running config: among equally good configs the optimizer keeps it. */
  current?: Config;
}

/** The best config for the load under the settings in force, with its explanation. */
export async function optimize(input: OptimizeInput): Promise<Decision> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const { slaMs, alpha, beta, gamma, accuracy } = input.settings;
    const problem = problemFromSpec(input.spec, await profileSet(input.profiles), input.load, {
      slaMs,
      objective: { alpha, beta, gamma },
      pas: accuracy,
    });
    return optimizeProblem(problem, input.current ? { current: input.current } : {});
  });
}
