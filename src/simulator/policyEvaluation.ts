import type { Policy, PolicyName } from '../adapt/policy.js';
import { HPA_METRIC_SECONDS, type Recommendation, recommend } from '../adapt/recommend.js';
import { type ForecastMethod, type Provision, plannedLoad } from '../forecast/forecast.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { HISTORY_SECONDS, HORIZON_SECONDS } from '../forecast/window.js';
import { parseAdaptInput } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import { configLabel } from '../model/decisionLine.js';
import type { PlannedLoad } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { sameConfig } from '../model/sameConfig.js';
import { settingsOf } from '../model/settings.js';
import type { ArrivalMode } from './arrivals.js';
import { latencyCdf } from './latencyCdf.js';
import type { LoadPattern } from './loadPatterns.js';
import { PipelineSimulator } from './pipelineSimulator.js';
import { type RunSummary, summarizeRun } from './runSummary.js';
import type { SecondSeries } from './secondStats.js';
import { stagePlansOf } from './stagePlans.js';

/** How policies are run: the workflow's loop settings and the simulated cluster's behaviour. */
export interface EvaluationSettings {
  intervalSeconds: number;
  forecaster: ForecastMethod;
  /** What the workflow provisions for: the forecast or its upper band. */
  provision: Provision;
  reconfigurationDelaySeconds: number;
  dropLimitMs: number;
  /** How each second's requests spread over it (arrivals.ts); IPA's load generator by default. */
  arrivals: ArrivalMode;
  seed: number;
}

/**
 * The drop limit when none is given: IPA's video pipeline dropped at 10 s under an SLA of 6.89 s,
 * about 1.5 × the SLA. Past it a request is lost anyway; the limit only bounds how long a backlog
 * keeps hurting the requests behind it.
 */
export const defaultDropLimitMs = (slaMs: number) => 1.5 * slaMs;

/** What the workflow does by default (parseAdaptInput's defaults), with IPA's arrivals: what a report compares. */
export function defaultEvaluationSettings(spec: PipelineSpec): EvaluationSettings {
  const workflow = parseAdaptInput({ pipeline: spec.name });
  return {
    intervalSeconds: workflow.intervalSeconds,
    forecaster: workflow.forecaster,
    provision: workflow.provision,
    reconfigurationDelaySeconds: 5,
    dropLimitMs: defaultDropLimitMs(spec.slaMs),
    arrivals: 'exponential',
    seed: 1,
  };
}

/** The simulated pipeline of a spec serving `arrivalsMs` for `seconds`, with the settings' drop limit, delay and seed. */
export function pipelineSimulatorFor(
  spec: PipelineSpec,
  arrivalsMs: Float64Array,
  settings: Pick<EvaluationSettings, 'dropLimitMs' | 'reconfigurationDelaySeconds' | 'seed'>,
  seconds: number,
): PipelineSimulator {
  return new PipelineSimulator({
    arrivalsMs,
    stages: spec.stages.length,
    slaMs: spec.slaMs,
    dropLimitMs: settings.dropLimitMs,
    batchTimeoutMs: spec.limits.maxBatchWaitMs,
    reconfigurationDelayMs: settings.reconfigurationDelaySeconds * 1000,
    pas: spec.pas,
    seed: settings.seed + 1,
    seconds,
    maxBatch: Math.max(spec.limits.maxBatch, ...spec.stages.map((s) => s.maxBatch ?? 0)),
  });
}

/** Decision times of a run whose steps all finish within the interval: 0, interval, 2·interval, … before its end (s). */
export function decisionTimes(seconds: number, intervalSeconds: number): number[] {
  const times: number[] = [];
  for (let t = 0; t < seconds; t += intervalSeconds) times.push(t);
  return times;
}

/**
 * When the step after one at `t` starts: the workflow's timer runs from a step's start, and a step
 * waits for its apply, so a step that deploys a config comes back after the reconfiguration delay
 * if that outlasts the interval (a replica that takes 20 s to start holds a 10-s loop for 20 s).
 */
export function nextDecisionTime(t: number, deployed: boolean, settings: EvaluationSettings): number {
  return t + (deployed ? Math.max(settings.intervalSeconds, Math.ceil(settings.reconfigurationDelaySeconds)) : settings.intervalSeconds);
}

/** λ̂ for a decision at second t of a pattern. */
export type PlannedAt = (t: number) => PlannedLoad;

/** The forecast at second t, as the workflow's forecast step makes it: the last 120 s of load into the Forecaster, provisioned for its forecast or upper band. */
function forecastAt(forecaster: Forecaster, pattern: LoadPattern, settings: EvaluationSettings, t: number): PlannedLoad {
  const window = Array.from(pattern.withHistory.subarray(t, t + HISTORY_SECONDS));
  return plannedLoad(forecaster.predict(window, settings.forecaster), settings.provision);
}

/** The perfect forecast at second t: the true peak of the horizon the forecaster predicts (the next 20 s). */
function oracleAt(pattern: LoadPattern, t: number): PlannedLoad {
  const peak = pattern.loads.subarray(t, t + HORIZON_SECONDS).reduce((m, v) => Math.max(m, v), 0);
  return { forecast: peak, upper: peak, provisioned: peak, method: 'oracle', reason: 'the true peak of the next 20 s' };
}

/**
 * λ̂ at every interval of a pattern, the same for every policy that forecasts, so it is computed
 * once per pattern (the report shows it).
 */
export function forecastLoads(forecaster: Forecaster, pattern: LoadPattern, settings: EvaluationSettings): PlannedLoad[] {
  return decisionTimes(pattern.loads.length, settings.intervalSeconds).map((t) => forecastAt(forecaster, pattern, settings, t));
}

/** The perfect forecast at every interval. */
export function oracleLoads(pattern: LoadPattern, settings: EvaluationSettings): PlannedLoad[] {
  return decisionTimes(pattern.loads.length, settings.intervalSeconds).map((t) => oracleAt(pattern, t));
}

/**
 * λ̂ at any second, each computed once: `onGrid` (the values at every interval, already computed
 * for the report) seeds it; a run whose applies outlast the interval also decides in between.
 */
function plannedAt(at: (t: number) => PlannedLoad, settings: EvaluationSettings, onGrid: readonly PlannedLoad[]): PlannedAt {
  const known = new Map(onGrid.map((p, i) => [i * settings.intervalSeconds, p]));
  return (t) => {
    let planned = known.get(t);
    if (!planned) {
      planned = at(t);
      known.set(t, planned);
    }
    return planned;
  };
}

export const forecastPlannedAt = (
  forecaster: Forecaster,
  pattern: LoadPattern,
  settings: EvaluationSettings,
  onGrid: readonly PlannedLoad[] = [],
) => plannedAt((t) => forecastAt(forecaster, pattern, settings, t), settings, onGrid);

export const oraclePlannedAt = (pattern: LoadPattern, settings: EvaluationSettings, onGrid: readonly PlannedLoad[] = []) =>
  plannedAt((t) => oracleAt(pattern, t), settings, onGrid);

/** One decision of a run, as the report and series.json show it. */
export interface DecisionPoint {
  /** Seconds since the run began. */
  t: number;
  forecast: number;
  provisioned: number;
  method: string;
  feasible: boolean;
  /** Whether it changed the running config (the first decision is the starting deployment). */
  changed: boolean;
  config: string;
  /** What the optimizer predicts for the config at the provisioned load. */
  pas: number;
  cost: number;
  latencyMs: number;
}

export interface PolicyRun {
  pattern: string;
  policy: PolicyName;
  /** What the policy planned for (see Policy.load). */
  load: Policy['load'];
  /** The config the policy was constrained by at the start (fa2's variants, rim's replicas). */
  start?: Config;
  description: string;
  seconds: number;
  series: SecondSeries;
  decisions: DecisionPoint[];
  summary: RunSummary;
  /** Share of the requests answered within each latency (ms), up to 200 points: the latency CDF figure. */
  latencyCdf: Array<[ms: number, share: number]>;
}

export interface PolicyRunInput {
  spec: PipelineSpec;
  profiles: ProfileSet;
  pattern: LoadPattern;
  policy: Policy;
  /** λ̂ at each decision time. */
  planned: PlannedAt;
  /** The pattern's request arrivals (ms): the same for every policy, so they face the same requests. */
  arrivalsMs: Float64Array;
  settings: EvaluationSettings;
}

/**
 * A policy on a pattern in simulated time: every interval (or once its apply is done, if that
 * takes longer) it decides with the workflow's optimizer on the load it plans for, and the config
 * goes to the simulator, which serves the pattern's requests through it with the reconfiguration
 * delay. Like the workflow, an infeasible problem applies the optimizer's fallback config, and the
 * running config is passed as `current` (baselines are constrained by it; ipa keeps it among
 * equally good configs).
 */
export function evaluatePolicy(input: PolicyRunInput, onDecision?: (t: number) => void): PolicyRun {
  const { spec, profiles, pattern, policy, settings } = input;
  const seconds = pattern.loads.length;
  const simulator = pipelineSimulatorFor(spec, input.arrivalsMs, settings, seconds);
  const ipaSettings = settingsOf(spec);
  // What the simulated pipeline runs: nothing until the first decision deploys a config.
  let running: Config | undefined;
  let hpaHistory: Recommendation['hpaHistory'];
  let plannedWindow: Recommendation['plannedWindow'];
  const decisions: DecisionPoint[] = [];
  const decideAt = (t: number, planned: PlannedLoad): boolean => {
    const recommendation = recommend({
      spec,
      profiles,
      load: planned,
      settings: ipaSettings,
      explain: false,
      policy,
      // What the loop's window would hold at t: the pattern's loads up to t.
      observed: Array.from(pattern.withHistory.subarray(t + HISTORY_SECONDS - HPA_METRIC_SECONDS, t + HISTORY_SECONDS)),
      atMs: t * 1000,
      ...(hpaHistory ? { hpaHistory } : {}),
      ...(plannedWindow ? { plannedWindow } : {}),
      ...(running ? { current: running } : {}),
    });
    const { decision, config } = recommendation;
    hpaHistory = recommendation.hpaHistory;
    plannedWindow = recommendation.plannedWindow;
    const deploys = config.stages.length > 0 && !sameConfig(running, config);
    if (deploys) simulator.reconfigure(stagePlansOf(decision.config, profiles, spec.cost), t * 1000);
    decisions.push({
      t,
      forecast: planned.forecast,
      provisioned: planned.provisioned,
      method: planned.method,
      feasible: decision.feasible,
      changed: running !== undefined && deploys,
      config: configLabel(config.stages.length > 0 ? config : (running ?? { stages: [] })),
      pas: decision.pas,
      cost: decision.cost,
      latencyMs: decision.latencyMs,
    });
    if (deploys) running = config;
    return deploys;
  };
  for (let t = 0; t < seconds; ) {
    simulator.advanceTo(t * 1000);
    const deployed = decideAt(t, input.planned(t));
    onDecision?.(t);
    t = nextDecisionTime(t, deployed, settings);
  }
  simulator.advanceTo(seconds * 1000);
  simulator.drain();
  const series = simulator.series();
  return {
    pattern: pattern.name,
    policy: policy.name,
    load: policy.load,
    ...(policy.held ? { start: policy.held } : {}),
    description: policy.description,
    seconds,
    series,
    decisions,
    summary: summarizeRun(series, simulator.latencyMs, seconds, spec.slaMs, decisions),
    latencyCdf: latencyCdf(simulator.latencyMs),
  };
}
