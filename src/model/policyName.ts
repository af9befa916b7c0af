/**
 * Who decides in the adaptation loop: ipa's optimizer, one of the baselines IPA's paper compares
 * it with, or the Kubernetes HPA's rule. The one list; src/adapt/policy.ts says what each does.
 */
export const LOOP_POLICIES = ['ipa', 'fa2-low', 'fa2-high', 'rim', 'static', 'hpa'] as const;
export type LoopPolicyName = (typeof LOOP_POLICIES)[number];

/** Policies whose fixed part is sized for the run's peak load: they need it to start. */
export const PEAK_SIZED: readonly LoopPolicyName[] = ['rim', 'static', 'hpa'];
