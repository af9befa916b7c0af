import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  type LocalActivityOptions,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Observation } from '../activities/observe.js';
import type { PreparedPipeline } from '../activities/preparePipeline.js';
import type { AdaptInputFields } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import { configOf, type Decision } from '../model/decision.js';
import { decisionLine } from '../model/decisionLine.js';
import type { ApplyOutcome, DecisionRecord, ForecastSummary, Settings, WindowSummary } from '../model/decisionRecord.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import { roundTo } from '../roundTo.js';
import { adaptDetails } from './currentDetails.js';
import { failureMessage } from './failureMessage.js';
import { IpaPipeline, IpaSlaMs } from './searchAttributes.js';
import {
  type DecisionsQuery,
  decisionsLimit,
  objectiveProblems,
  type ReloadProfiles,
  reloadProblems,
  type SetObjective,
  type SetSla,
  slaProblems,
} from './steering.js';

export const setSla = defineSignal<[SetSla]>('setSla');
export const setObjective = defineSignal<[SetObjective]>('setObjective');
export const pause = defineSignal('pause');
export const resume = defineSignal('resume');
export const reloadProfiles = defineSignal<[ReloadProfiles?]>('reloadProfiles');
export const updateSla = defineUpdate<DecisionRecord, [SetSla]>('updateSla');
export const status = defineQuery<AdaptStatus>('status');
export const decisions = defineQuery<DecisionRecord[], [DecisionsQuery?]>('decisions');

export interface Counters {
  steps: number;
  applied: number;
  unchanged: number;
  infeasible: number;
  applyFailures: number;
  staleWindows: number;
  ignoredSignals: number;
}

export interface IgnoredSignal {
  at: string;
  signal: string;
  reason: string;
}

/** What one run hands the next across continue-as-new. */
export interface AdaptCarry {
  prepared: PreparedPipeline;
  settings: Settings;
  paused: boolean;
  step: number;
  current?: Config;
  lastWindow?: number[];
  recent: DecisionRecord[];
  counters: Counters;
  ignored: IgnoredSignal[];
  /** Workflow time the first run began: trace replays are positioned from it. */
  startedAtMs: number;
  run: number;
  /** Whether the config found running at start was adopted, and why (or why not). */
  adoption?: string;
}

export interface AdaptInput extends AdaptInputFields {
  carry?: AdaptCarry;
}

export interface AdaptStatus {
  pipeline: string;
  profiles: string;
  settings: Settings;
  paused: boolean;
  step: number;
  run: number;
  intervalSeconds: number;
  current?: Config;
  lastDecision?: DecisionRecord;
  counters: Counters;
  ignored: IgnoredSignal[];
  adoption?: string;
}

const activityFailureTypes = Object.values(FAILURE_TYPES);

const { preparePipeline, resolveProfiles, readRunningConfig } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: activityFailureTypes },
});
// Every step's reads and computations are short (a range query, the forecaster and the optimizer,
// a log line): local activities, run inside the workflow task the timer starts, their results
// recorded as markers in the history. An unchanged step is one workflow task and 8 events.
// observe gives up after a few quick attempts: the step then reuses the last window.
const { observe } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: activityFailureTypes },
});
const stepOptions: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: activityFailureTypes },
};
const { recommend } = proxyLocalActivities<Activities>(stepOptions);
/**
 * record, with the decision in one line as the summary of its marker: the Web UI shows the
 * summary on the event before the marker's internals (seq, attempt, times) and the full record.
 */
const record = (rec: DecisionRecord) => proxyLocalActivities<Activities>({ ...stepOptions, summary: decisionLine(rec) }).record(rec);
// A rollout may take minutes; transient API errors are retried, refusals are not.
const { apply } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: activityFailureTypes,
  },
});

function summarize(observation: Observation, stale: boolean): WindowSummary {
  const loads = observation.loads;
  const sum = loads.reduce((t, v) => t + v, 0);
  return {
    source: observation.source,
    seconds: loads.length,
    last: loads[loads.length - 1] ?? 0,
    mean: roundTo(loads.length > 0 ? sum / loads.length : 0, 3),
    max: loads.reduce((m, v) => Math.max(m, v), 0),
    stale,
  };
}

function sameConfig(a: Config | undefined, b: Config): boolean {
  return (
    a !== undefined &&
    a.stages.length === b.stages.length &&
    a.stages.every((s, i) => {
      const t = b.stages[i];
      return (
        t !== undefined &&
        s.stage === t.stage &&
        s.variant === t.variant &&
        s.shape === t.shape &&
        s.batch === t.batch &&
        s.replicas === t.replicas
      );
    })
  );
}

/**
 * One pipeline's adaptation loop: observe → forecast → optimize → apply → record every interval,
 * at once when a signal changes the problem, continuing as new before the history grows large.
 */
export async function adaptPipeline(input: AdaptInput): Promise<void> {
  const prepared = input.carry?.prepared ?? (await preparePipeline(withoutCarry(input)));
  const { spec, options } = prepared;
  const info = workflowInfo();
  const carry: AdaptCarry = input.carry ?? {
    prepared,
    settings: prepared.settings,
    paused: false,
    step: 0,
    recent: [],
    counters: { steps: 0, applied: 0, unchanged: 0, infeasible: 0, applyFailures: 0, staleWindows: 0, ignoredSignals: 0 },
    ignored: [],
    startedAtMs: Date.now(),
    run: 0,
  };
  carry.run += 1;
  if (carry.run === 1) {
    try {
      const running = await readRunningConfig({ actuator: options.actuator, spec, profiles: prepared.profiles });
      if (running.config) carry.current = running.config;
      carry.adoption = running.reason;
    } catch (err) {
      carry.adoption = `could not read the running config: ${failureMessage(err)}`;
    }
  }
  /** What ends the wait for the next step before its time, and becomes the step's trigger. */
  let wake: 'signal' | 'resume' | undefined;
  let busy = false;
  let lastStepAtMs = Number.NEGATIVE_INFINITY;

  const publishSearchAttributes = () => {
    if (options.searchAttributes) {
      upsertSearchAttributes([
        { key: IpaPipeline, value: spec.name },
        { key: IpaSlaMs, value: Math.round(carry.settings.slaMs) },
      ]);
    }
  };

  const ignore = (signal: string, problems: string[]) => {
    const reason = problems.join('; ');
    carry.counters.ignoredSignals += 1;
    carry.ignored = [...carry.ignored.slice(-19), { at: new Date(Date.now()).toISOString(), signal, reason }];
    log.warn(`ignored ${signal}: ${reason}`);
  };

  /** One step at a time: the loop and `updateSla` both run steps. */
  const exclusive = async <T>(body: () => Promise<T>): Promise<T> => {
    await condition(() => !busy);
    busy = true;
    try {
      return await body();
    } finally {
      busy = false;
    }
  };

  const step = async (trigger: DecisionRecord['trigger']): Promise<DecisionRecord> => {
    const n = carry.step + 1;
    lastStepAtMs = Date.now();
    const settings = { ...carry.settings };
    const base = {
      id: `${info.workflowId}#${n}`,
      step: n,
      pipeline: spec.name,
      at: new Date(lastStepAtMs).toISOString(),
      trigger,
      profiles: prepared.profiles,
      settings,
    };
    const rec = await decideStep(base);
    carry.step = n;
    carry.counters.steps += 1;
    carry.recent = [...carry.recent.slice(1 - options.keepDecisions), rec];
    try {
      await record(rec);
    } catch (err) {
      // Only a timeout gets here (record never throws): the step's activities' results are in the
      // history, and `decisions` still answers from the workflow's memory.
      log.warn(`record ${rec.id}: ${failureMessage(err)}`);
    }
    setCurrentDetails(adaptDetails(spec.name, carry));
    return rec;
  };

  const decideStep = async (base: Omit<DecisionRecord, 'outcome'>): Promise<DecisionRecord> => {
    let observation: Observation | undefined;
    let reason: string | undefined;
    let method = options.forecaster;
    try {
      observation = await observe({
        pipeline: spec.name,
        source: options.observe,
        atMs: lastStepAtMs,
        elapsedMs: lastStepAtMs - carry.startedAtMs,
      });
      carry.lastWindow = observation.loads;
    } catch (err) {
      if (!carry.lastWindow) {
        return { ...base, outcome: 'skipped', reason: `observe failed and no earlier window exists: ${failureMessage(err)}` };
      }
      carry.counters.staleWindows += 1;
      observation = { loads: carry.lastWindow, source: 'last good window', endMs: lastStepAtMs };
      method = 'max';
      reason = `observe failed (${failureMessage(err)}): reused the last good window with the max forecaster`;
    }
    const observed = summarize(observation, reason !== undefined);

    let decision: Decision;
    let forecastSummary: ForecastSummary;
    let changeReason: string | undefined;
    const previous = carry.recent[carry.recent.length - 1];
    try {
      ({
        decision,
        forecast: forecastSummary,
        changeReason,
      } = await recommend({
        window: observation.loads,
        method,
        provision: options.provision,
        spec,
        profiles: base.profiles,
        settings: base.settings,
        ...(carry.current ? { current: carry.current } : {}),
        ...(previous ? { previousSettings: previous.settings } : {}),
      }));
    } catch (err) {
      return {
        ...base,
        observed,
        outcome: 'skipped',
        reason: join(reason, `recommend failed: ${failureMessage(err)}; the running config stays`),
      };
    }
    const common = { ...base, observed, forecast: forecastSummary };
    if (!decision.feasible) carry.counters.infeasible += 1;
    const config = configOf(decision);
    const outcomeParts = {
      feasible: decision.feasible,
      config,
      predicted: {
        pas: decision.pas,
        cost: decision.cost,
        latencyMs: decision.latencyMs,
        slackMs: decision.slackMs,
        objective: decision.objective,
      },
      solver: { method: decision.solver.method, status: decision.solver.status, timeMs: roundTo(decision.solver.timeMs, 4) },
      explanation: decision.explanation.summary,
    };
    if (!decision.feasible) reason = join(reason, `infeasible: ${decision.explanation.infeasible.join('; ')}`);
    if (config.stages.length === 0) {
      return {
        ...common,
        ...outcomeParts,
        outcome: 'skipped',
        reason: join(reason, 'no fallback config exists; the running config stays'),
      };
    }
    if (sameConfig(carry.current, config)) {
      carry.counters.unchanged += 1;
      const applyOutcome: ApplyOutcome = { actuator: options.actuator.kind, status: 'skipped', detail: 'same config as running' };
      return {
        ...common,
        ...outcomeParts,
        outcome: 'unchanged',
        apply: applyOutcome,
        reason: join(reason, 'the running config is still the best'),
      };
    }
    try {
      const shapes = Object.fromEntries(decision.config.map((s) => [s.shape, { cpu: s.cpu / s.replicas, gpu: s.gpu / s.replicas }]));
      const request = { decisionId: base.id, pipeline: spec.name, config, shapes, maxBatchWaitMs: spec.limits.maxBatchWaitMs };
      const applied = await apply({ actuator: options.actuator, request });
      carry.current = config;
      carry.counters.applied += 1;
      return {
        ...common,
        ...outcomeParts,
        outcome: decision.feasible ? 'applied' : 'fallback',
        apply: applied,
        ...(reason || changeReason ? { reason: changeReason ? join(reason, changeReason) : reason } : {}),
      };
    } catch (err) {
      carry.counters.applyFailures += 1;
      const detail = failureMessage(err);
      return {
        ...common,
        ...outcomeParts,
        outcome: 'apply-failed',
        apply: { actuator: options.actuator.kind, status: 'failed', detail },
        reason: join(reason, `apply failed: ${detail}`),
      };
    }
  };

  setHandler(
    setSla,
    (payload) => {
      const problems = slaProblems(payload);
      if (problems.length > 0) return ignore('setSla', problems);
      carry.settings = { ...carry.settings, slaMs: payload.slaMs };
      publishSearchAttributes();
      wake = 'signal';
    },
    { description: 'Sets the latency SLA, {"slaMs": 200}: the loop decides again at once (or on resume when paused).' },
  );
  setHandler(
    setObjective,
    (payload) => {
      const problems = objectiveProblems(payload);
      if (problems.length > 0) return ignore('setObjective', problems);
      carry.settings = { ...carry.settings, ...payload };
      wake = 'signal';
    },
    {
      description:
        'Sets the objective weights and PAS method, {"alpha", "beta", "gamma", "accuracy": "sum|average|multiply"}: the loop decides again at once.',
    },
  );
  setHandler(
    pause,
    () => {
      carry.paused = true;
      setCurrentDetails(adaptDetails(spec.name, carry));
    },
    { description: 'Pauses the loop: no steps and no applies until resume; the running config stays.' },
  );
  setHandler(
    resume,
    () => {
      if (!carry.paused) return;
      carry.paused = false;
      wake = 'resume';
    },
    { description: 'Resumes a paused loop with a step at once.' },
  );
  setHandler(
    reloadProfiles,
    async (payload) => {
      const problems = reloadProblems(payload);
      if (problems.length > 0) return ignore('reloadProfiles', problems);
      try {
        prepared.profiles = await resolveProfiles({ spec, ...(payload?.version ? { ref: payload.version } : {}) });
        wake = 'signal';
      } catch (err) {
        ignore('reloadProfiles', [failureMessage(err)]);
      }
    },
    { description: 'Switches to another profile set, {"version": "SET"} (default: the newest of the spec\'s), and decides again at once.' },
  );
  setHandler(
    updateSla,
    async (payload) => {
      carry.settings = { ...carry.settings, slaMs: payload.slaMs };
      publishSearchAttributes();
      return exclusive(() => step('update'));
    },
    {
      description: 'Sets the latency SLA, {"slaMs": 150}, runs a step at once and returns its decision record; rejected while paused.',
      validator: (payload) => {
        const problems = slaProblems(payload);
        if (carry.paused) problems.push('the loop is paused: resume it first, or use the setSla signal to take effect on resume');
        if (problems.length > 0) throw ApplicationFailure.nonRetryable(`updateSla rejected: ${problems.join('; ')}`, 'InvalidInput');
      },
    },
  );
  setHandler(
    status,
    () => ({
      pipeline: spec.name,
      profiles: prepared.profiles,
      settings: carry.settings,
      paused: carry.paused,
      step: carry.step,
      run: carry.run,
      intervalSeconds: options.intervalSeconds,
      ...(carry.current ? { current: carry.current } : {}),
      ...(carry.recent.length > 0 ? { lastDecision: carry.recent[carry.recent.length - 1] } : {}),
      counters: carry.counters,
      ignored: carry.ignored,
      ...(carry.adoption ? { adoption: carry.adoption } : {}),
    }),
    {
      description:
        'The loop now: pipeline, profile set, SLA and weights, paused, step, running config, last decision, counters, ignored signals.',
    },
  );
  setHandler(decisions, (query) => carry.recent.slice(-decisionsLimit(query, carry.recent.length)).reverse(), {
    description: 'The last decision records, newest first, {"limit": 20} (default: all kept, up to keepDecisions).',
  });

  publishSearchAttributes();
  setCurrentDetails(adaptDetails(spec.name, carry));
  const intervalMs = options.intervalSeconds * 1000;
  let stepsThisRun = 0;
  let trigger: DecisionRecord['trigger'] = carry.step === 0 ? 'start' : 'timer';
  if (carry.step > 0) lastStepAtMs = carry.recent.length > 0 ? Date.parse(carry.recent[carry.recent.length - 1]?.at ?? '') : Date.now();

  for (;;) {
    if (carry.paused) {
      await condition(() => !carry.paused);
      continue;
    }
    if (trigger !== 'start') {
      const dueMs = lastStepAtMs + intervalMs;
      const woken = await condition(() => wake !== undefined || carry.paused, Math.max(1, dueMs - Date.now()));
      if (carry.paused) continue;
      // An update may have run a step meanwhile: wait out the rest of the interval from it.
      if (!woken && Date.now() < lastStepAtMs + intervalMs) continue;
      trigger = wake ?? 'timer';
    }
    wake = undefined;
    await exclusive(() => step(trigger));
    trigger = 'timer';
    stepsThisRun += 1;
    if (stepsThisRun >= options.maxStepsPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const next: AdaptInput = { ...withoutCarry(input), carry };
      await continueAsNew<typeof adaptPipeline>(next);
    }
  }
}

function withoutCarry(input: AdaptInput): AdaptInputFields {
  const { carry: _carry, ...fields } = input;
  return fields;
}

function join(first: string | undefined, second: string): string {
  return first ? `${first}; ${second}` : second;
}
