import { roundTo } from '../common/roundTo.js';
import type { LoopPolicyName } from '../model/policyName.js';
import type { PatternName } from '../simulator/loadPatterns.js';
import { type HeldSample, heldIntegral, heldMean, heldPerSecond } from './heldSamples.js';
import { countRecords, intervalsOf, type ReplayInterval, type ReplayRecord } from './loadReplay.js';

/**
 * One policy's live run in a few figures, measured and as the simulator predicted it: what
 * `ipa live run --json` prints, one object per run.
 *
 * - A violation is a request answered after the SLA or dropped by the gateway (countRecords'
 *   rule, the simulator's too). Errors (no answer, a 5xx other than a drop) are not violations:
 *   they are counted apart, and a run with errors shows them beside its violations, since the
 *   simulator has no such outcome to compare with.
 * - p50 and p99 are of the ok answers, from each request's scheduled send (the client's lag too).
 * - coreSeconds is the cores the replicas held (allocatedCores, read every second and held between
 *   readings) integrated over the replay; meanPas the running config's PAS averaged over time.
 */
export interface LiveRunFigures {
  violationsPct: number;
  p99Ms: number;
  coreSeconds: number;
  meanPas: number;
}

export interface LiveRunResult extends LiveRunFigures {
  pipeline: string;
  pattern: PatternName;
  policy: LoopPolicyName;
  seed: number;
  /** Length of the replay, real seconds. */
  seconds: number;
  slaMs: number;
  sent: number;
  ok: number;
  dropped: number;
  errors: number;
  p50Ms: number;
  simulated: LiveRunFigures;
}

/** What a live run measured: its requests, and the readings of its cores and PAS (ms from the replay's start). */
export interface LiveRunMeasures {
  records: readonly ReplayRecord[];
  cores: readonly HeldSample[];
  pas: readonly HeldSample[];
  /** Length of the replay's schedule, ms. */
  durationMs: number;
  slaMs: number;
}

const r3 = (n: number) => (Number.isFinite(n) ? roundTo(n, 3) : n);

/** The measured part of a run's figures. */
export function measuredFigures(
  m: LiveRunMeasures,
): Pick<
  LiveRunResult,
  'seconds' | 'slaMs' | 'sent' | 'ok' | 'dropped' | 'errors' | 'violationsPct' | 'p50Ms' | 'p99Ms' | 'coreSeconds' | 'meanPas'
> {
  const counts = countRecords(m.records, m.slaMs);
  return {
    seconds: r3(m.durationMs / 1000),
    slaMs: m.slaMs,
    sent: counts.sent,
    ok: counts.ok,
    dropped: counts.dropped,
    errors: counts.errors,
    violationsPct: counts.violationsPercent,
    p50Ms: counts.p50Ms,
    p99Ms: counts.p99Ms,
    coreSeconds: r3(heldIntegral(m.cores, 0, m.durationMs)),
    meanPas: r3(heldMean(m.pas, 0, m.durationMs)),
  };
}

/** The simulator's figures rounded as the measured ones are. */
export function roundedFigures(f: LiveRunFigures): LiveRunFigures {
  return { violationsPct: r3(f.violationsPct), p99Ms: r3(f.p99Ms), coreSeconds: r3(f.coreSeconds), meanPas: r3(f.meanPas) };
}

/** sent = ok + dropped + errors: every request counted once. */
export const conserved = (r: Pick<LiveRunResult, 'sent' | 'ok' | 'dropped' | 'errors'>) => r.sent === r.ok + r.dropped + r.errors;

/** A run per second for series.json and the plots: requests sent, cores held, PAS, and the p99 per interval. */
export interface LiveRunSeries {
  /** Requests sent in each real second (by scheduled send time). */
  sent: number[];
  cores: number[];
  pas: number[];
  /** Counts and latencies per interval of the loop (p99 of the ok answers). */
  intervals: ReplayInterval[];
}

export function liveRunSeries(m: LiveRunMeasures, intervalSeconds: number): LiveRunSeries {
  const seconds = Math.max(1, Math.ceil(m.durationMs / 1000 - 1e-9));
  return {
    sent: intervalsOf(m.records, m.slaMs, 1, m.durationMs).map((i) => i.sent),
    cores: heldPerSecond(m.cores, 0, seconds).map(r3),
    pas: heldPerSecond(m.pas, 0, seconds).map(r3),
    intervals: intervalsOf(m.records, m.slaMs, intervalSeconds, m.durationMs),
  };
}
