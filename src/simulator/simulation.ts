import { type PolicyName, policyFor } from '../adapt/policy.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { loadTrace } from '../forecast/trace.js';
import type { PlannedLoad } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { loadHighsSolver } from '../optimizer/highsSolver.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { loadGeneratorArrivals } from './arrivals.js';
import { type LoadPattern, loadPattern, type PatternName } from './loadPatterns.js';
import {
  decisionTimes,
  type EvaluationSettings,
  evaluatePolicy,
  forecastLoads,
  forecastPlannedAt,
  oracleLoads,
  oraclePlannedAt,
  type PolicyRun,
} from './policyEvaluation.js';

export interface SimulationRequest {
  spec: PipelineSpec;
  profiles: ProfileSet;
  forecaster: Forecaster;
  patterns: readonly PatternName[];
  policies: readonly PolicyName[];
  settings: EvaluationSettings;
  /** Cut every pattern to its first `seconds`. */
  seconds?: number;
  /** The Twitter trace (read from data/ when absent). */
  trace?: Float64Array;
  onProgress?: (done: number, total: number, detail: string) => void;
}

export interface PatternResult {
  pattern: LoadPattern;
  /** λ̂ of the policies that forecast, per decision time. */
  forecasts: PlannedLoad[];
  runs: PolicyRun[];
  /** Wall time of the forecasts and of each policy's run (decisions and simulation), ms. */
  forecastMs: number;
  runMs: Record<string, number>;
}

/**
 * Every policy on every pattern. Each pattern's forecasts and request arrivals are made once
 * and shared, so policies differ only in what they decide.
 */
export async function simulatePolicies(request: SimulationRequest): Promise<PatternResult[]> {
  const { spec, profiles, settings } = request;
  await loadHighsSolver();
  const trace = request.trace ?? (await loadTrace());
  const patterns = request.patterns.map((name) => loadPattern(trace, name, request.seconds));
  const total = patterns.reduce((n, p) => n + decisionTimes(p.loads.length, settings.intervalSeconds).length * request.policies.length, 0);
  let done = 0;
  const results: PatternResult[] = [];
  for (const pattern of patterns) {
    const started = performance.now();
    const forecasts = forecastLoads(request.forecaster, pattern, settings);
    const forecastMs = performance.now() - started;
    const planned = {
      forecast: forecastPlannedAt(request.forecaster, pattern, settings, forecasts),
      oracle: oraclePlannedAt(pattern, settings, oracleLoads(pattern, settings)),
    };
    const arrivalsMs = loadGeneratorArrivals(pattern.loads, settings.seed, settings.arrivals);
    const atPeak = problemFromSpec(
      spec,
      profiles,
      pattern.loads.reduce((m, v) => Math.max(m, v), 0),
    );
    const runs: PolicyRun[] = [];
    const runMs: Record<string, number> = {};
    for (const name of request.policies) {
      const policyStarted = performance.now();
      const policy = policyFor(name, atPeak);
      runs.push(
        evaluatePolicy({ spec, profiles, pattern, policy, planned: planned[policy.load], arrivalsMs, settings }, (t) => {
          done += 1;
          request.onProgress?.(done, total, `${pattern.name} ${name} t=${t} s`);
        }),
      );
      runMs[name] = performance.now() - policyStarted;
    }
    results.push({ pattern, forecasts, runs, forecastMs, runMs });
  }
  return results;
}
