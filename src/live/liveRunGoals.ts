import type { Goal } from '../simulator/goals.js';
import { VIOLATION_GOAL_PERCENT } from '../simulator/goals.js';
import type { LiveRunResult } from './liveRunSummary.js';

/** How close the simulator must come to the measurement (issue 17's sim-to-real goals). */
export const SIM_TO_REAL = { violationsPoints: 1, p99Relative: 0.25, coreSecondsRelative: 0.1 } as const;

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const within = (measured: number, simulated: number, relative: number) =>
  Number.isFinite(measured) && Number.isFinite(simulated) && Math.abs(simulated - measured) <= relative * Math.abs(measured);

/**
 * The live experiment's goals, each held or missed with its numbers: ipa's violations under 1 %
 * and no higher than the HPA's; its PAS at least fa2-low's; its core-seconds at most fa2-high's and
 * the HPA's; for every policy the simulator within 1 point of the measured violations, 25 % of the
 * p99 and 10 % of the core-seconds; and every request accounted for. A goal whose policy did not
 * run is left out.
 */
export function liveGoals(results: readonly LiveRunResult[]): Goal[] {
  const by = new Map(results.map((r) => [r.policy, r]));
  const goals: Goal[] = [];
  const ipa = by.get('ipa');
  if (ipa) {
    goals.push({
      held: ipa.violationsPct < VIOLATION_GOAL_PERCENT,
      text: `ipa's SLA violations ${f(ipa.violationsPct, 3)} % < ${VIOLATION_GOAL_PERCENT} %`,
    });
    const hpa = by.get('hpa');
    if (hpa) {
      goals.push({
        held: ipa.violationsPct <= hpa.violationsPct,
        text: `ipa's violations ${f(ipa.violationsPct, 3)} % ≤ hpa's ${f(hpa.violationsPct, 3)} %`,
      });
    }
    const low = by.get('fa2-low');
    if (low) goals.push({ held: ipa.meanPas >= low.meanPas, text: `ipa's PAS ${f(ipa.meanPas, 4)} ≥ fa2-low's ${f(low.meanPas, 4)}` });
    for (const name of ['fa2-high', 'hpa'] as const) {
      const other = by.get(name);
      if (other) {
        goals.push({
          held: ipa.coreSeconds <= other.coreSeconds,
          text: `ipa's core-seconds ${f(ipa.coreSeconds, 1)} ≤ ${name}'s ${f(other.coreSeconds, 1)}`,
        });
      }
    }
  }
  for (const r of results) {
    const s = r.simulated;
    goals.push({
      held: Number.isFinite(s.violationsPct) && Math.abs(s.violationsPct - r.violationsPct) <= SIM_TO_REAL.violationsPoints,
      text: `${r.policy}: simulated violations ${f(s.violationsPct, 3)} % within ${SIM_TO_REAL.violationsPoints} point of measured ${f(r.violationsPct, 3)} %`,
    });
    goals.push({
      held: within(r.p99Ms, s.p99Ms, SIM_TO_REAL.p99Relative),
      text: `${r.policy}: simulated p99 ${f(s.p99Ms, 1)} ms within ${SIM_TO_REAL.p99Relative * 100} % of measured ${f(r.p99Ms, 1)} ms`,
    });
    goals.push({
      held: within(r.coreSeconds, s.coreSeconds, SIM_TO_REAL.coreSecondsRelative),
      text: `${r.policy}: simulated core-seconds ${f(s.coreSeconds, 1)} within ${SIM_TO_REAL.coreSecondsRelative * 100} % of measured ${f(r.coreSeconds, 1)}`,
    });
    goals.push({
      held: r.sent === r.ok + r.dropped + r.errors,
      text: `${r.policy}: sent ${r.sent} = ok ${r.ok} + dropped ${r.dropped} + errors ${r.errors}`,
    });
  }
  return goals;
}
