import type { Config } from './config.js';
import type { PasMethod } from './pipelineSpec.js';

/** One stage of a decided config, with what the profiles predict for it. */
export interface StageDecision {
  stage: string;
  variant: string;
  shape: string;
  batch: number;
  replicas: number;
  /** Percent, as published. */
  accuracy: number;
  profileLatencyMs: number;
  /** The batch timeout the optimizer chose (batch > 1 only). */
  batchTimeoutMs?: number;
  batchWaitMs: number;
  /** Waiting for a replica: the queue wait (poisson), or what the waves before the last batch take beyond the batch timeout (bursty). */
  queueMs: number;
  latencyMs: number;
  /** All replicas together. */
  throughputRps: number;
  cpu: number;
  gpu: number;
  cost: number;
}

export interface ObjectiveParts {
  value: number;
  /** α·PAS */
  accuracy: number;
  /** β·cost */
  cost: number;
  /** γ·Σ batch */
  batch: number;
}

export type SolverMethod = 'presolve' | 'pareto' | 'highs' | 'branch-and-bound' | 'brute-force' | 'evaluate';
export type Baseline = 'fa2' | 'rim' | 'static';

export interface Alternative {
  stage: string;
  /** The best config with another variant at this stage, if any is feasible. */
  option?: { variant: string; shape: string; batch: number; replicas: number };
  /** How much objective that config loses against the decision. */
  objectiveLoss?: number;
  reason: string;
}

export interface Explanation {
  summary: string;
  /** Constraints that keep the objective from being higher, each with what it costs. */
  binding: { constraint: 'sla' | 'maxReplicas' | 'maxBatch' | 'baseline' | 'capacity'; detail: string; objectiveCost: number }[];
  alternatives: Alternative[];
  /** Why no config is feasible, in words with numbers. */
  infeasible: string[];
}

/** One optimizer result: what to run, what it is predicted to give, and why. */
export interface Decision {
  feasible: boolean;
  /** True when `config` is the fallback (highest-throughput options) for an infeasible problem. */
  fallback: boolean;
  load: number;
  slaMs: number;
  accuracyMethod: PasMethod;
  baseline?: Baseline;
  config: StageDecision[];
  pas: number;
  cost: number;
  batchSum: number;
  latencyMs: number;
  slackMs: number;
  objective: ObjectiveParts;
  solver: {
    method: SolverMethod;
    status: 'optimal' | 'infeasible';
    timeMs: number;
    optionsConsidered: number;
    optionsAfterPruning: number;
    work: number;
  };
  explanation: Explanation;
}

/** What a decision runs, without its predictions: the config an actuator applies. */
export function configOf(decision: Pick<Decision, 'config'>): Config {
  return {
    stages: decision.config.map(({ stage, variant, shape, batch, replicas, batchTimeoutMs }) => ({
      stage,
      variant,
      shape,
      batch,
      replicas,
      ...(batchTimeoutMs !== undefined && batch > 1 ? { batchTimeoutMs } : {}),
    })),
  };
}
