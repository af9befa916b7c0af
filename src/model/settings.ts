import type { PipelineSpec } from './pipelineSpec.js';

/**
 * How per-stage accuracies combine into the pipeline accuracy score (PAS). The one list: the
 * spec's schema and every check of a payload derive from it. No schema library here, so that
 * workflow code can import it.
 */
export const PAS_METHODS = ['sum', 'average', 'multiply'] as const;
export type PasMethod = (typeof PAS_METHODS)[number];

/**
 * The objective settings in force: the SLA, the weights of `α·PAS − β·cost − γ·Σbatch` and the
 * PAS method. One shape from the pipeline spec to the solver: a workflow starts from the spec's
 * (with its input's overrides), signals change them, and each decision record keeps the ones it
 * was decided under.
 */
export interface Settings {
  slaMs: number;
  alpha: number;
  beta: number;
  gamma: number;
  /** The PAS method (the spec's `pas`). */
  accuracy: PasMethod;
}

/** A spec's own settings, with any of them overridden (an absent or undefined override keeps the spec's). */
export function settingsOf(spec: PipelineSpec, overrides: Partial<Settings> = {}): Settings {
  return {
    slaMs: overrides.slaMs ?? spec.slaMs,
    alpha: overrides.alpha ?? spec.objective.alpha,
    beta: overrides.beta ?? spec.objective.beta,
    gamma: overrides.gamma ?? spec.objective.gamma,
    accuracy: overrides.accuracy ?? spec.pas,
  };
}
