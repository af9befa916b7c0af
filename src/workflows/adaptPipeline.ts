import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  type LocalActivityOptions,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { afterStep, initialState, type LoopState, lastDecision, statusOf, withIgnoredSignal } from '../adapt/loopState.js';
import { type Attempt, planStep, type StepHeader, stepWindow } from '../adapt/step.js';
import type { AdaptInputFields } from '../model/adaptInput.js';
import { decisionLine } from '../model/decisionLine.js';
import type { DecisionRecord } from '../model/decisionRecord.js';
import { FAILURE_TYPES } from '../model/failureTypes.js';
import type { LoopPolicyName } from '../model/policyName.js';
import { adaptDetails } from './currentDetails.js';
import { failureMessage } from './failureMessage.js';
import {
  type Change,
  DESCRIPTIONS,
  decisionsLimit,
  decisionsQuery,
  pauseSignal,
  reloadProblems,
  reloadProfilesSignal,
  resumeSignal,
  setObjectiveSignal,
  setSlaSignal,
  slaUpdate,
  slaUpdateProblems,
  statusQuery,
  withObjective,
  withSla,
} from './messages.js';
import { IpaPipeline, IpaSlaMs } from './searchAttributes.js';

export interface AdaptInput extends AdaptInputFields {
  /** The loop's state, handed from one run to the next across continue-as-new. */
  state?: LoopState;
}

const nonRetryableErrorTypes = Object.values(FAILURE_TYPES);
const { preparePipeline, resolveProfiles, readRunningConfig } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes },
});
// A step's reads and computations take milliseconds (a range query, the forecaster and the
// optimizer, a log line): local activities, run inside the workflow task the timer starts, their
// results recorded as markers. An unchanged step is one workflow task and 8 history events.
const quick: LocalActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
};
// observe gives up sooner: the step then reuses the last window.
const { observe } = proxyLocalActivities<Activities>({ ...quick, startToCloseTimeout: '15s' });
const { recommend } = proxyLocalActivities<Activities>(quick);
/** record, with the decision in one line as its marker's summary: the Web UI shows it first. */
const record = (rec: DecisionRecord) => proxyLocalActivities<Activities>({ ...quick, summary: decisionLine(rec) }).record(rec);
// A rollout may take minutes; transient API errors are retried, refusals are not.
const { apply, release } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

/** Patch: a `setSla` at or below the spec's overheadMs is ignored (before it, it was taken and every decision was infeasible). */
const SLA_ABOVE_OVERHEAD = 'sla-above-overhead';

async function attempt<T>(call: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    return { ok: false, error: failureMessage(err) };
  }
}

/**
 * One pipeline's adaptation loop: observe → recommend (forecast, optimize) → apply → record every
 * interval, at once when a message changes the problem, continuing as new before the history
 * grows large. What each step decides is src/adapt/step.ts; this is when and with what.
 */
export async function adaptPipeline(input: AdaptInput): Promise<void> {
  let state = input.state ?? initialState(await preparePipeline(withoutState(input)), Date.now());
  const { spec, options } = state.pipeline;
  state = { ...state, run: state.run + 1 };
  if (state.run === 1) {
    const running = await attempt(() => readRunningConfig({ actuator: options.actuator, spec, profilesVersion: state.profilesVersion }));
    if (running.ok)
      state = { ...state, ...(running.value.config ? { current: running.value.config } : {}), adoption: running.value.reason };
    else state = { ...state, adoption: `could not read the running config: ${running.error}` };
  }
  /** Set by a message that changes the problem: the next step runs at once, with this trigger. */
  let wakeBy: 'signal' | 'resume' | undefined;
  let stepping = false;
  let lastStepAtMs = state.step > 0 ? Date.parse(lastDecision(state)?.at ?? '') || Date.now() : Number.NEGATIVE_INFINITY;

  const showDetails = () => setCurrentDetails(adaptDetails(spec.name, state));
  let publishedSlaMs: number | undefined;
  /** IpaPipeline and IpaSlaMs, written when the SLA changes: each write is an event in the history. */
  const publishSearchAttributes = () => {
    if (!options.searchAttributes || publishedSlaMs === state.settings.slaMs) return;
    publishedSlaMs = state.settings.slaMs;
    upsertSearchAttributes([
      { key: IpaPipeline, value: spec.name },
      { key: IpaSlaMs, value: Math.round(state.settings.slaMs) },
    ]);
  };
  const ignore = (signal: string, problems: string[]) => {
    state = withIgnoredSignal(state, new Date(Date.now()).toISOString(), signal, problems);
    log.warn(`ignored ${signal}: ${problems.join('; ')}`);
  };

  const step = async (trigger: DecisionRecord['trigger']): Promise<DecisionRecord> => {
    await condition(() => !stepping);
    stepping = true;
    try {
      lastStepAtMs = Date.now();
      const n = state.step + 1;
      const header: StepHeader = {
        ...{ id: `${workflowInfo().workflowId}#${n}`, step: n, pipeline: spec.name, at: new Date(lastStepAtMs).toISOString() },
        ...{ trigger, profilesVersion: state.profilesVersion, settings: { ...state.settings }, intervalSeconds: options.intervalSeconds },
        ...(state.pipeline.policy && state.pipeline.policy.name !== 'ipa' ? { policy: state.pipeline.policy.name as LoopPolicyName } : {}),
      };
      const observed = await attempt(() =>
        observe({ pipeline: spec.name, source: options.observe, atMs: lastStepAtMs, elapsedMs: lastStepAtMs - state.startedAtMs }),
      );
      const window = stepWindow(state, header, observed, options.forecaster);
      let rec: DecisionRecord;
      if ('skip' in window) rec = window.skip;
      else {
        const previous = lastDecision(state);
        const policy = state.pipeline.policy;
        const recommendation = await attempt(() =>
          recommend({
            ...{ window: window.loads, method: window.method, provision: options.provision, spec },
            ...{ profilesVersion: header.profilesVersion, settings: header.settings },
            ...(state.current ? { current: state.current } : {}),
            ...(previous ? { previousSettings: previous.settings } : {}),
            ...(policy && policy.name !== 'ipa' ? { policy, observed: window.loads } : {}),
            atMs: lastStepAtMs,
            ...(state.hpaHistory ? { hpaHistory: state.hpaHistory } : {}),
            ...(state.plannedWindow ? { plannedWindow: state.plannedWindow } : {}),
          }),
        );
        if (recommendation.ok) {
          const { hpaHistory, plannedWindow } = recommendation.value;
          state = { ...state, ...(hpaHistory ? { hpaHistory } : {}), ...(plannedWindow ? { plannedWindow } : {}) };
        }
        const plan = planStep(header, window, recommendation, {
          actuator: options.actuator.kind,
          maxBatchWaitMs: spec.limits.maxBatchWaitMs,
          reconcile: options.actuator.kind === 'local',
        });
        rec = 'record' in plan ? plan.record : plan.finish(await attempt(() => apply({ actuator: options.actuator, request: plan.apply })));
      }
      state = afterStep(state, rec, 'skip' in window ? undefined : window.fresh, options.keepDecisions);
      // record never throws; only a timeout gets here, and `decisions` still answers from memory.
      await record(rec).catch((err) => log.warn(`record ${rec.id}: ${failureMessage(err)}`));
      showDetails();
      return rec;
    } finally {
      stepping = false;
    }
  };

  const about = (name: keyof typeof DESCRIPTIONS) => ({ description: DESCRIPTIONS[name] });
  /** A message's change to the loop; `wake` runs the next step at once, with that trigger. */
  const change = (message: string, result: Change, wake: 'signal' | 'resume' | undefined = 'signal') => {
    if ('problems' in result) return ignore(message, result.problems);
    state = result.state;
    publishSearchAttributes();
    showDetails();
    wakeBy = wake ?? wakeBy;
  };
  // Loops whose histories accepted an SLA under the overhead replay as they ran.
  setHandler(
    setSlaSignal,
    (payload) => change('setSla', withSla(state, payload, patched(SLA_ABOVE_OVERHEAD) ? spec.overheadMs : 0)),
    about('setSla'),
  );
  setHandler(setObjectiveSignal, (payload) => change('setObjective', withObjective(state, payload)), about('setObjective'));
  setHandler(pauseSignal, () => change('pause', { state: { ...state, paused: true } }, undefined), about('pause'));
  setHandler(
    resumeSignal,
    () => change('resume', { state: { ...state, paused: false } }, state.paused ? 'resume' : undefined),
    about('resume'),
  );
  setHandler(
    reloadProfilesSignal,
    async (payload) => {
      const problems = reloadProblems(payload);
      if (problems.length > 0) return ignore('reloadProfiles', problems);
      const resolved = await attempt(() => resolveProfiles({ spec, ...(payload?.version ? { ref: payload.version } : {}) }));
      if (!resolved.ok) return ignore('reloadProfiles', [resolved.error]);
      change('reloadProfiles', { state: { ...state, profilesVersion: resolved.value } });
    },
    about('reloadProfiles'),
  );
  setHandler(
    slaUpdate,
    (payload) => {
      state = { ...state, settings: { ...state.settings, slaMs: payload.slaMs } };
      publishSearchAttributes();
      return step('update');
    },
    {
      ...about('updateSla'),
      validator: (payload) => {
        const problems = slaUpdateProblems(payload, state.paused, spec.overheadMs);
        if (problems.length > 0) throw ApplicationFailure.nonRetryable(`updateSla rejected: ${problems.join('; ')}`, 'InvalidInput');
      },
    },
  );
  setHandler(statusQuery, () => statusOf(state), about('status'));
  setHandler(decisionsQuery, (request) => state.recent.slice(-decisionsLimit(request, state.recent.length)).reverse(), about('decisions'));

  publishSearchAttributes();
  showDetails();
  const intervalMs = options.intervalSeconds * 1000;
  let trigger: DecisionRecord['trigger'] = state.step === 0 ? 'start' : 'timer';
  try {
    await loop();
  } catch (err) {
    // Stopping the loop stops what only it would stop: the local actuator's model servers.
    if (isCancellation(err) && options.actuator.kind === 'local') {
      await CancellationScope.nonCancellable(() => release({ actuator: options.actuator, pipeline: spec.name }));
    }
    throw err;
  }

  async function loop(): Promise<never> {
    for (let stepsThisRun = 0; ; ) {
      if (state.paused) {
        await condition(() => !state.paused);
        continue;
      }
      if (trigger !== 'start') {
        const woken = await condition(() => wakeBy !== undefined || state.paused, Math.max(1, lastStepAtMs + intervalMs - Date.now()));
        if (state.paused) continue;
        // An update may have run a step meanwhile: wait out the rest of the interval from it.
        if (!woken && Date.now() < lastStepAtMs + intervalMs) continue;
        trigger = wakeBy ?? 'timer';
      }
      wakeBy = undefined;
      await step(trigger);
      trigger = 'timer';
      stepsThisRun += 1;
      if (stepsThisRun >= options.maxStepsPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof adaptPipeline>({ ...withoutState(input), state });
      }
    }
  }
}

function withoutState(input: AdaptInput): AdaptInputFields {
  const { state: _state, ...fields } = input;
  return fields;
}
