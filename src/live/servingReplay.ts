import { roundTo } from '../common/roundTo.js';
import type { Config } from '../model/config.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { sameConfig } from '../model/sameConfig.js';
import { defaultDropLimitMs, pipelineSimulatorFor } from '../simulator/policyEvaluation.js';
import { summarizeRun } from '../simulator/runSummary.js';
import { stagePlansOf } from '../simulator/stagePlans.js';
import { countRecords, type ReplayRecord } from './loadReplay.js';

/**
 * Where the simulator and a live run part, taken apart. The simulated run differs from the live
 * one in two ways at once: it decides for itself (its own forecasts, so its own configs and their
 * timing) and it serves requests with its own model of a replica. Serving the live run's *own*
 * configs, at the times the loop applied them, isolates the second: what is left between that
 * replay and the measurement is the serving model (the profile rows, the batching, the gateway's
 * hop, the machine). Splitting the measured requests by whether they were sent while the loop's
 * new replicas were starting shows how much of it is the cost of a rollout on this machine, where a
 * starting replica takes CPU from the ones serving.
 */

/** What a live loop did, as the comparison needs it: when (s from the replay's start), what it ran, how long its new replicas took. */
export interface AppliedStep {
  t: number;
  config?: Config;
  /** From the apply's start to its new replicas serving, where the actuator measured it. */
  servingMs?: number;
}

/** Latency figures of a set of requests: violations (late or dropped) and the ok answers' percentiles. */
export interface ServingFigures {
  requests: number;
  violationsPct: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ServingReplayInput {
  spec: PipelineSpec;
  profiles: ProfileSet;
  /** The replay's send times, ms from its start, ascending. */
  sendAtMs: Float64Array;
  durationMs: number;
  steps: readonly AppliedStep[];
  reconfigurationDelaySeconds: number;
  seed: number;
}

/**
 * The simulator serving the configs the live loop ran, each from the step that chose it (the first
 * one serving from the start, as the live replay starts after the loop's first apply), with the
 * run's reconfiguration delay, on the very requests sent.
 */
export function simulateServing(input: ServingReplayInput): ServingFigures {
  const { spec, profiles, sendAtMs } = input;
  const seconds = Math.max(1, Math.ceil(input.durationMs / 1000 - 1e-9));
  const settings = {
    dropLimitMs: defaultDropLimitMs(spec.slaMs),
    reconfigurationDelaySeconds: input.reconfigurationDelaySeconds,
    seed: input.seed,
  };
  const simulator = pipelineSimulatorFor(spec, sendAtMs, settings, seconds);
  let running: Config | undefined;
  for (const step of [...input.steps].sort((a, b) => a.t - b.t)) {
    if (!step.config || sameConfig(running, step.config)) continue;
    const atMs = Math.max(0, step.t * 1000);
    simulator.advanceTo(atMs);
    simulator.reconfigure(stagePlansOf(step.config.stages, profiles, spec.cost), atMs);
    running = step.config;
  }
  if (!running) throw new Error(`the live run of ${spec.name} recorded no config to serve`);
  simulator.drain();
  // The same summary as the simulated loop's, so the report's two simulated columns count alike.
  const summary = summarizeRun(simulator.series(), simulator.latencyMs, seconds, spec.slaMs, []);
  return { requests: summary.requests, violationsPct: roundTo(summary.violationPercent, 3), p50Ms: summary.p50Ms, p99Ms: summary.p99Ms };
}

/**
 * The seconds in which the loop's new replicas were starting: from each step whose apply started
 * replicas to them serving, as [from, to) in ms from the replay's start.
 */
export function rolloutWindows(steps: readonly AppliedStep[]): [number, number][] {
  return steps.flatMap((s) => (s.servingMs !== undefined ? [[s.t * 1000, s.t * 1000 + s.servingMs] as [number, number]] : []));
}

/** The measured requests split by whether they were sent during a rollout window. */
export function splitByRollouts(
  records: readonly ReplayRecord[],
  windows: readonly [number, number][],
  slaMs: number,
): { during: ServingFigures; outside: ServingFigures } {
  const inWindow = (r: ReplayRecord) => windows.some(([from, to]) => r.scheduledMs >= from && r.scheduledMs < to);
  const figures = (subset: ReplayRecord[]): ServingFigures => {
    const c = countRecords(subset, slaMs);
    return { requests: c.sent, violationsPct: c.violationsPercent, p50Ms: c.p50Ms, p99Ms: c.p99Ms };
  };
  return { during: figures(records.filter(inWindow)), outside: figures(records.filter((r) => !inWindow(r))) };
}
