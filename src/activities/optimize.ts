import { profileSetByVersion } from '../io/load.js';
import type { Config } from '../model/config.js';
import type { Baseline, Decision } from '../model/decision.js';
import type { Settings } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import { optimize as optimizeProblem } from '../optimizer/decide.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

export interface OptimizeInput {
  spec: PipelineSpec;
  profiles: string;
  load: number;
  settings: Settings;
  /** The running config: among equally good configs the optimizer keeps it. */
  current?: Config;
  /** Constrain the optimizer like a baseline; `static` evaluates `current` as it runs. */
  baseline?: Baseline;
  /** Compute binding constraints and alternatives (a few more solves). Default true. */
  explain?: boolean;
}

/** The best config for the load under the settings in force, with its explanation. */
export async function optimize(input: OptimizeInput): Promise<Decision> {
  return failingFast(FAILURE_TYPES.invalidInput, async () => {
    const { slaMs, alpha, beta, gamma, accuracy } = input.settings;
    const problem = problemFromSpec(input.spec, await profileSetByVersion(input.profiles), input.load, {
      slaMs,
      objective: { alpha, beta, gamma },
      pas: accuracy,
    });
    return optimizeProblem(problem, {
      ...(input.current ? { current: input.current } : {}),
      ...(input.baseline ? { baseline: input.baseline } : {}),
      ...(input.explain !== undefined ? { explain: input.explain } : {}),
    });
  });
}
