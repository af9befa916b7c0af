import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { log } from '../common/log.js';
import type { Forecaster } from '../forecast/forecaster.js';
import { loadTrace, TRACE_FILE } from '../forecast/trace.js';
import { resolvePipelineSpec, resolveProfileSet } from '../io/load.js';
import type { AdaptInputFields } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import { configLabel } from '../model/decisionLine.js';
import type { DecisionRecord } from '../model/decisionRecord.js';
import type { ArrivalPattern, PipelineSpec, ReconfigurationRule } from '../model/pipelineSpec.js';
import type { LoopPolicyName } from '../model/policyName.js';
import type { ProfileSet } from '../model/profileSet.js';
import { loadPattern, PATTERN_NAMES, type PatternName } from '../simulator/loadPatterns.js';
import { adaptPipeline } from '../workflows/adaptPipeline.js';
import { decisionsQuery, statusQuery } from '../workflows/messages.js';
import { IpaPipeline } from '../workflows/searchAttributes.js';
import type { HeldSample } from './heldSamples.js';
import { allocatedCores, configPas } from './liveAllocation.js';
import { GATEWAY_LOAD_QUERY } from './livePrometheus.js';
import { type LiveRunPlan, liveRunPlan } from './liveRunPlan.js';
import { type LiveRunResult, type LiveRunSeries, liveRunSeries, measuredFigures, roundedFigures } from './liveRunSummary.js';
import { livePeakRps } from './liveScale.js';
import { type LiveServer, readReplicas } from './liveState.js';
import { outsideGateway, type ReplayProgress, type ReplayRecord, replayLoad, replaySchedule, sourceLoads } from './loadReplay.js';
import { rolloutWindows, type ServingFigures, simulateServing, splitByRollouts } from './servingReplay.js';
import { measuredReconfigurationDelay, type ReconfigurationDelay, type SimulatedLiveRun, simulateLiveRun } from './simulatedLiveRun.js';

/**
 * `ipa live run`: each policy in turn on the live pipeline, on the same pattern and seed. Per
 * policy: the pipeline up with its first replicas, the loop started on it (local actuator,
 * Prometheus source, as `ipa live up` prints it), the pattern replayed against the gateway while
 * the cores and the running config's PAS are read every second, then the loop cancelled (its end
 * releases its replicas). After the last policy, or on a failure or an abort, everything is brought
 * down. Each run is then simulated on the same requests for the simulator's prediction.
 */

/** Starting and stopping the live pipeline (the CLI's `ipa live up|down`, which this layer may not import). */
export interface PipelineControl {
  /**
   * The gateway, Prometheus and the first replicas. `again` is true between policies: the gateway
   * and Prometheus that run are kept, and the first replicas started anew.
   */
  up(again: boolean): Promise<{ gateway: LiveServer; prometheus: LiveServer }>;
  /** Stops replicas, gateway and Prometheus; one line per thing stopped. */
  down(): Promise<string[]>;
}

/** A Temporal client and the task queue of a worker, in this process, that runs the loops. */
export interface LoopHost {
  client: Client;
  taskQueue: string;
  searchAttributes: boolean;
}

export interface LiveExperimentOptions {
  /** A pipeline under profiles/pipelines/, or a spec file of one (its rule, objective or SLA tried on the same stages). */
  pipeline: string;
  pattern: PatternName;
  policies: readonly LoopPolicyName[];
  /** Real minutes each policy's replay takes; default the pattern at DEMO_LOAD's speed (liveRunPlan). */
  minutes?: number;
  /** Real requests/s of the busiest second of all patterns; default what this machine carries (livePeakRps). */
  peakRps?: number;
  seed: number;
  stateDir: string;
  /** Where each run's request lines go (requests-POLICY.jsonl). */
  out: string;
  /** The loop's interval, s. */
  intervalSeconds: number;
  /** What the policies plan for instead of the spec's `arrivals` (the loops and the simulation alike). */
  planArrivals?: ArrivalPattern;
  /**
   * Seconds the pipeline stays without load before each policy's loop starts (from the gateway's
   * start, or the previous replay's last answer). With the forecaster's window (120 s) the loop's
   * first step sees an idle pipeline over a whole window, as the simulation's first decision does,
   * and no policy sees the load of the one before it; less is quicker but leaves that unequal.
   */
  idleSeconds: number;
  control: PipelineControl;
  host: LoopHost;
  forecaster: Forecaster;
  /** Stops the run under way (what was sent is still answered and counted) and skips the rest. */
  signal?: AbortSignal;
  /** A line of what is happening, for the user. */
  onEvent?: (line: string) => void;
  onProgress?: (policy: LoopPolicyName, progress: ReplayProgress) => void;
  /** Each run as soon as it is done. */
  onRun?: (run: LiveRun) => void;
}

/** One decision of a live loop, as series.json keeps it: t in seconds from the replay's start. */
export interface LiveDecision {
  t: number;
  step: number;
  outcome: DecisionRecord['outcome'];
  provisioned?: number;
  /** Who forecast (lstm, or a fallback and why) and how many seconds of load the step saw. */
  forecastMethod?: string;
  observedSeconds?: number;
  config?: Config;
  label?: string;
  predictedPas?: number;
  predictedCost?: number;
  reason?: string;
  apply?: string;
  /** From the apply's start to the replicas it started serving, ms (the local actuator measures it). */
  servingMs?: number;
}

export interface LiveRun {
  result: LiveRunResult;
  series: LiveRunSeries;
  decisions: LiveDecision[];
  simulated: SimulatedLiveRun;
  /** The simulator's reconfiguration delay: what this run's applies measured. */
  reconfigurationDelay: ReconfigurationDelay;
  /** The simulator serving this run's own configs (servingReplay.ts): the serving model's share of the gap. */
  servedAsRun: ServingFigures;
  /** The measured requests sent while new replicas were starting, and the rest. */
  rollouts: { during: ServingFigures; outside: ServingFigures };
  /** What the path outside the gateway added to the ok answers (loadReplay.ts), beside the spec's overheadMs. */
  outsideGateway?: { p50Ms: number; p99Ms: number };
  workflowId: string;
  /** The profile set the loop planned with (its decisions' version). */
  profilesVersion?: string;
  /** 1-minute load average of the machine, read every second during the replay. */
  loadAverage: { mean: number; max: number };
  /** The replay was stopped before its end. */
  aborted: boolean;
  requestsFile: string;
}

export interface LiveExperiment {
  pipeline: string;
  pattern: PatternName;
  seed: number;
  plan: LiveRunPlan;
  /** The replay's busiest second, requests per real second: what rim, static and hpa are sized for. */
  peakRps: number;
  intervalSeconds: number;
  idleSeconds: number;
  /** What the optimizer planned for, and when a better config was worth a change: the spec's, or as overridden. */
  arrivals: ArrivalPattern;
  reconfiguration: ReconfigurationRule;
  /** The spec's serving-path overhead the policies planned with, ms. */
  overheadMs: number;
  profiles: { name: string; version: string };
  startedAt: string;
  runs: LiveRun[];
  aborted: boolean;
  /** What stopped the experiment before its last policy, if anything failed; the runs before it stand. */
  failure?: string;
}

/** The readings of a run: cores and PAS (wall-clock ms), the 1-minute load average. */
interface Samples {
  cores: HeldSample[];
  pas: HeldSample[];
  load: number[];
}

/** Cores and PAS every second, and the machine's load average, until stopped. */
function startSampler(pipeline: string, stateDir: string, profiles: ProfileSet, spec: PipelineSpec) {
  const { cores, pas, load }: Samples = { cores: [], pas: [], load: [] };
  let busy = false;
  const read = async () => {
    if (busy) return;
    busy = true;
    try {
      const atMs = Date.now();
      const live = await readReplicas(pipeline, stateDir);
      cores.push({ atMs, value: allocatedCores(live) });
      const value = configPas(live.config, profiles, spec.pas);
      if (Number.isFinite(value)) pas.push({ atMs, value });
      load.push(loadavg()[0] as number);
    } catch (err) {
      // A reading lost (replicas.json replaced under us is atomic; this is rarer): the last one holds.
      log.debug({ err: (err as Error).message }, 'live run: a sample was lost');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void read(), 1000);
  const first = read();
  return {
    first,
    async stop(): Promise<Samples> {
      clearInterval(timer);
      await read();
      return { cores, pas, load };
    },
  };
}

/** Samples from epoch ms to ms from the replay's start. */
const relative = (samples: HeldSample[], t0: number): HeldSample[] => samples.map((s) => ({ atMs: s.atMs - t0, value: s.value }));

async function readRecords(file: string): Promise<ReplayRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ReplayRecord);
}

function liveDecision(d: DecisionRecord, t0: number): LiveDecision {
  return {
    t: Math.round(Date.parse(d.at) - t0) / 1000,
    step: d.step,
    outcome: d.outcome,
    ...(d.forecast ? { provisioned: d.forecast.provisioned, forecastMethod: d.forecast.method } : {}),
    ...(d.observed ? { observedSeconds: d.observed.seconds } : {}),
    ...(d.config ? { config: d.config, label: configLabel(d.config) } : {}),
    ...(d.predicted ? { predictedPas: d.predicted.pas, predictedCost: d.predicted.cost } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.apply ? { apply: `${d.apply.status}: ${d.apply.detail}` } : {}),
    ...(d.apply?.servingMs !== undefined ? { servingMs: d.apply.servingMs } : {}),
  };
}

/** Polls `check` until it holds (true) or `signal` aborts (false); throws after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (signal?.aborted) return false;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
  return true;
}

/**
 * Cancels a loop and waits until its end has released its replicas (replicas.json empty): the
 * next policy starts from the same first replicas, and nothing it ran is left.
 */
async function stopLoop(handle: WorkflowHandle<typeof adaptPipeline>, pipeline: string, stateDir: string): Promise<void> {
  await handle.cancel().catch((err: Error) => log.warn({ err: err.message, workflowId: handle.workflowId }, 'live run: cancel failed'));
  await handle.result().catch(() => undefined);
  await waitFor(
    `the loop ${handle.workflowId} releasing its replicas`,
    async () => (await readReplicas(pipeline, stateDir)).replicas.length === 0,
    60_000,
  ).catch((err: Error) => log.warn({ err: err.message }, 'live run: replicas left after the loop ended; down stops them'));
}

/** The highest per-second load of IPA's patterns: the common scale of every pattern (liveRunPlan). */
async function patternsPeak(): Promise<number> {
  const trace = await loadTrace(TRACE_FILE);
  return Math.max(...PATTERN_NAMES.map((name) => loadPattern(trace, name).loads.reduce((m, v) => Math.max(m, v), 0)));
}

/** What every policy of an experiment shares: the spec, the profiles and the replay's schedule. */
interface Setting {
  o: LiveExperimentOptions;
  spec: PipelineSpec;
  profiles: ProfileSet;
  plan: LiveRunPlan;
  schedule: ReturnType<typeof replaySchedule>;
}

/** The replay's arrivals: Poisson within each second, as the live demo and test send them (the spec plans for poisson). */
const ARRIVALS = 'poisson' as const;

/**
 * Starts a policy's loop on the pipeline `up` brought up, as `ipa live up` prints it (local
 * actuator, Prometheus source), and waits for its first step; undefined when aborted meanwhile.
 */
async function startPolicyLoop(
  x: Setting,
  policy: LoopPolicyName,
  prometheus: LiveServer,
  workflowId: string,
  started: (handle: WorkflowHandle<typeof adaptPipeline>) => void,
): Promise<boolean> {
  const { o, spec, plan, schedule } = x;
  const input: AdaptInputFields = {
    // Inline when the run decides otherwise than the spec on disk says: a spec file, or another plan.
    pipeline: o.planArrivals || o.pipeline.endsWith('.json') ? spec : spec.name,
    intervalSeconds: o.intervalSeconds,
    observe: { kind: 'prometheus', url: prometheus.url, query: GATEWAY_LOAD_QUERY },
    actuator: { kind: 'local', stateDir: o.stateDir },
    // Every step of the run, a few to spare: the decisions query answers from these.
    keepDecisions: Math.min(500, Math.ceil(schedule.durationMs / 1000 / o.intervalSeconds) + 20),
    searchAttributes: o.host.searchAttributes,
    policy,
    peakRps: schedule.peakRps,
    ...(policy === 'hpa' ? { hpa: { stabilizationSeconds: plan.hpaStabilizationSeconds } } : {}),
  };
  const handle = await o.host.client.workflow.start(adaptPipeline, {
    taskQueue: o.host.taskQueue,
    workflowId,
    args: [input],
    ...(o.host.searchAttributes ? { typedSearchAttributes: [{ key: IpaPipeline, value: spec.name }] } : {}),
  });
  started(handle);
  // The replay starts once the loop has decided for the first time (from an idle gateway, as
  // the simulation's first decision does): the run is the policy's from its first second.
  return withPending(
    handle,
    waitFor(
      `the first step of ${workflowId}`,
      async () => {
        const described = await handle.describe();
        if (described.status.name !== 'RUNNING') {
          const failure = await handle.result().then(
            () => 'it ended',
            (err: Error) => (err.cause as Error | undefined)?.message ?? err.message,
          );
          throw new Error(`the loop ${workflowId} stopped before its first step: ${failure}`);
        }
        // The loop sets its handlers once its pipeline is prepared: until then a query fails.
        const status = await handle.query(statusQuery).catch(() => undefined);
        return (status?.step ?? 0) >= 1;
      },
      // A replica start can wait out its ready timeout (120 s) once and the apply still succeed on its retry.
      300_000,
      o.signal,
    ),
  );
}

/** A loop that did not step in time says what it was doing: its pending activities, their attempts and last failures. */
async function withPending<T>(handle: WorkflowHandle<typeof adaptPipeline>, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting;
  } catch (err) {
    const pending = await handle.describe().then(
      (d) =>
        (d.raw.pendingActivities ?? []).map(
          (a) =>
            `${a.activityType?.name ?? 'an activity'} (attempt ${a.attempt ?? 1}` +
            `${a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : ''})`,
        ),
      () => [],
    );
    if (pending.length === 0) throw err;
    throw new Error(`${(err as Error).message}; pending: ${pending.join('; ')}`);
  }
}

/** What one policy's replay left: its requests, the readings taken meanwhile, the loop's decisions. */
interface Played {
  policy: LoopPolicyName;
  workflowId: string;
  requestsFile: string;
  records: ReplayRecord[];
  aborted: boolean;
  elapsedMs: number;
  /** Wall clock of the replay's start, ms. */
  t0: number;
  samples: Samples;
  decisions: DecisionRecord[];
}

/** A policy's run in figures, measured and simulated on the same requests. */
function liveRunOf(x: Setting, p: Played): LiveRun {
  const { o, spec, profiles, plan, schedule } = x;
  const durationMs = p.aborted ? Math.min(p.elapsedMs, schedule.durationMs) : schedule.durationMs;
  const measures = {
    records: p.records,
    cores: relative(p.samples.cores, p.t0),
    pas: relative(p.samples.pas, p.t0),
    durationMs,
    slaMs: spec.slaMs,
  };
  const delay = measuredReconfigurationDelay(p.decisions);
  const simulatedSends = p.aborted ? Float64Array.from(p.records.map((r) => r.scheduledMs)).sort() : schedule.sendAtMs;
  const simulated = simulateLiveRun({
    spec,
    profiles,
    forecaster: o.forecaster,
    pattern: o.pattern,
    sendAtMs: simulatedSends,
    durationMs,
    policy: p.policy,
    peakRps: schedule.peakRps,
    intervalSeconds: o.intervalSeconds,
    seed: o.seed,
    hpaStabilizationSeconds: plan.hpaStabilizationSeconds,
    reconfigurationDelaySeconds: delay.seconds,
  });
  const decisions = p.decisions.map((d) => liveDecision(d, p.t0));
  // What the live pipeline served: a failed apply left the config before it running.
  const served = decisions.filter((d) => d.outcome !== 'apply-failed' && d.outcome !== 'skipped');
  const servedAsRun = simulateServing({
    spec,
    profiles,
    sendAtMs: simulatedSends,
    durationMs,
    steps: served,
    reconfigurationDelaySeconds: delay.seconds,
    seed: o.seed,
  });
  const load = p.samples.load;
  const outside = outsideGateway(p.records);
  return {
    result: {
      pipeline: spec.name,
      pattern: o.pattern,
      policy: p.policy,
      seed: o.seed,
      ...measuredFigures(measures),
      simulated: roundedFigures(simulated.figures),
    },
    series: liveRunSeries(measures, o.intervalSeconds),
    decisions,
    simulated,
    reconfigurationDelay: delay,
    servedAsRun,
    rollouts: splitByRollouts(p.records, rolloutWindows(decisions), spec.slaMs),
    ...(outside ? { outsideGateway: outside } : {}),
    workflowId: p.workflowId,
    ...(p.decisions[0] ? { profilesVersion: p.decisions[0].profilesVersion } : {}),
    loadAverage: {
      mean: load.length > 0 ? load.reduce((a, b) => a + b, 0) / load.length : Number.NaN,
      max: load.length > 0 ? Math.max(...load) : Number.NaN,
    },
    aborted: p.aborted,
    requestsFile: p.requestsFile,
  };
}

export async function runLiveExperiment(o: LiveExperimentOptions): Promise<LiveExperiment> {
  const say = (line: string) => o.onEvent?.(line);
  const written = await resolvePipelineSpec(o.pipeline);
  const spec = o.planArrivals ? { ...written, arrivals: o.planArrivals } : written;
  const profiles = await resolveProfileSet(spec.profiles ?? spec.name);
  const { loads } = await sourceLoads({ pattern: o.pattern });
  const peakRps = o.peakRps ?? livePeakRps(spec, profiles);
  if (peakRps === undefined) {
    throw new Error(
      `not even 1 request/s of ${spec.name} fits in this machine's ${cpus().length} cores with profiles ${profiles.version}: give --peak-rps`,
    );
  }
  const plan = liveRunPlan(loads.length, await patternsPeak(), peakRps, o.minutes);
  // The same schedule replayLoad makes from the same options (pure and seeded): its send times
  // are the simulation's arrivals, its peak what the peak-sized policies are sized for.
  const schedule = replaySchedule({ loads, scale: plan.scale, speed: plan.speed, arrivals: ARRIVALS, seed: o.seed });
  const x: Setting = { o, spec, profiles, plan, schedule };
  const experiment: LiveExperiment = {
    pipeline: spec.name,
    pattern: o.pattern,
    seed: o.seed,
    plan,
    peakRps: schedule.peakRps,
    intervalSeconds: o.intervalSeconds,
    idleSeconds: o.idleSeconds,
    arrivals: spec.arrivals,
    reconfiguration: spec.reconfiguration,
    overheadMs: spec.overheadMs,
    profiles: { name: profiles.name, version: profiles.version },
    startedAt: new Date().toISOString(),
    runs: [],
    aborted: false,
  };
  say(
    `${o.pattern}: ${schedule.sendAtMs.length} requests in ${(schedule.durationMs / 1000).toFixed(0)} s per policy ` +
      `(speed ${+plan.speed.toFixed(3)}, peak ${+schedule.peakRps.toFixed(1)} requests/s), seed ${o.seed}, profiles ${profiles.version}`,
  );
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let handle: WorkflowHandle<typeof adaptPipeline> | undefined;
  // Down only once this run brought the pipeline up: a first `up` refused because the pipeline
  // already runs (someone else's) must leave it running.
  let broughtUp = false;
  /** Since when the gateway has had no request: its start, then each replay's end. */
  let quietSince: number | undefined;
  try {
    for (const [index, policy] of o.policies.entries()) {
      if (o.signal?.aborted) break;
      const up = await o.control.up(index > 0);
      broughtUp = true;
      // Prometheus scrapes the idle gateway from its start: wait until its window holds no load
      // of the run before (a few seconds more, so that the window is whole).
      quietSince ??= Date.now();
      const idleMs = o.idleSeconds > 0 ? quietSince + (o.idleSeconds + 5) * 1000 - Date.now() : 0;
      if (idleMs > 0) {
        say(`${policy}: ${Math.ceil(idleMs / 1000)} s without load first, so the loop starts from an idle window`);
        await sleep(idleMs, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
        if (o.signal?.aborted) break;
      }
      const workflowId = `live-run-${spec.name}-${o.pattern}-${policy}-${stamp}`;
      const stepped = await startPolicyLoop(x, policy, up.prometheus, workflowId, (started) => {
        handle = started;
        say(`${policy}: loop ${workflowId} started on ${up.gateway.url}`);
      });
      if (!stepped || !handle) break;
      const loop: WorkflowHandle<typeof adaptPipeline> = handle;

      const sampler = startSampler(spec.name, o.stateDir, profiles, spec);
      await sampler.first;
      const requestsFile = join(o.out, `requests-${policy}.jsonl`);
      const replayStartedAt = Date.now();
      let samples: Samples;
      let summary: Awaited<ReturnType<typeof replayLoad>>;
      try {
        summary = await replayLoad({
          pipeline: spec.name,
          url: up.gateway.url,
          source: { loads, name: `pattern ${o.pattern}` },
          scale: plan.scale,
          speed: plan.speed,
          arrivals: ARRIVALS,
          seed: o.seed,
          slaMs: spec.slaMs,
          out: requestsFile,
          ...(o.signal ? { signal: o.signal } : {}),
          onProgress: (p) => o.onProgress?.(policy, p),
        });
      } finally {
        samples = await sampler.stop();
        quietSince = Date.now();
      }
      const decisions = (await loop.query(decisionsQuery, { limit: 500 })).slice().reverse();
      await stopLoop(loop, spec.name, o.stateDir);
      handle = undefined;

      const records = await readRecords(requestsFile);
      if (summary.aborted) experiment.aborted = true;
      // Stopped before its first request: no run to report.
      if (summary.aborted && records.length === 0) break;
      const first = records[0];
      const run = liveRunOf(x, {
        policy,
        workflowId,
        requestsFile,
        records,
        aborted: summary.aborted,
        elapsedMs: summary.elapsedMs,
        // The replay's own clock: sentAt (wall) − sentMs (from its start) is when it started.
        t0: first ? first.sentAt - first.sentMs : replayStartedAt,
        samples,
        decisions,
      });
      experiment.runs.push(run);
      o.onRun?.(run);
      const r = run.result;
      say(
        `${policy}: sent ${r.sent}, ok ${r.ok}, dropped ${r.dropped}, errors ${r.errors}; violations ${r.violationsPct} % ` +
          `(simulated ${r.simulated.violationsPct} %), p99 ${r.p99Ms} ms, ${r.coreSeconds} core-s, PAS ${r.meanPas}`,
      );
    }
    if (o.signal?.aborted) experiment.aborted = true;
  } catch (error) {
    experiment.failure = (error as Error).message;
  } finally {
    // Nothing left running, whatever happened: the loop under way first (its end releases its
    // replicas), then replicas, gateway and Prometheus.
    if (handle) await stopLoop(handle, spec.name, o.stateDir);
    if (broughtUp) for (const line of await o.control.down()) say(line);
  }
  return experiment;
}
