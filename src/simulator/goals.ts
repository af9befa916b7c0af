import type { PolicyName } from '../adapt/policy.js';
import type { RunSummary } from './runSummary.js';

/**
 * One goal ipa must reach on a load pattern, checked against the run's figures: PAS at least
 * FA2-low's, cost at most FA2-high's or RIM's, or SLA violations under VIOLATION_GOAL_PERCENT.
 */
export interface Goal {
  held: boolean;
  text: string;
}

/** SLA violations ipa must stay under, in percent of requests. */
export const VIOLATION_GOAL_PERCENT = 1;

const f = (n: number, digits: number) => n.toFixed(digits);

/**
 * ipa's goals against the baselines that ran: PAS at least FA2-low's, cost at most FA2-high's and
 * RIM's, SLA violations under 1 %. A goal whose baseline did not run is left out.
 */
export function goalsFor(summaries: Partial<Record<PolicyName, RunSummary>>): Goal[] {
  const ipa = summaries.ipa;
  if (!ipa) return [];
  const goals: Goal[] = [];
  const low = summaries['fa2-low'];
  if (low) goals.push({ held: ipa.meanPas >= low.meanPas, text: `PAS ipa ${f(ipa.meanPas, 4)} ≥ fa2-low ${f(low.meanPas, 4)}` });
  for (const name of ['fa2-high', 'rim'] as const) {
    const other = summaries[name];
    if (other)
      goals.push({ held: ipa.meanCost <= other.meanCost, text: `cost ipa ${f(ipa.meanCost, 2)} ≤ ${name} ${f(other.meanCost, 2)}` });
  }
  goals.push({
    held: ipa.violationPercent < VIOLATION_GOAL_PERCENT,
    text: `SLA violations ipa ${f(ipa.violationPercent, 2)} % < ${VIOLATION_GOAL_PERCENT} %`,
  });
  return goals;
}

export const goalLine = (goals: readonly Goal[]) => goals.map((g) => `${g.held ? 'held' : 'MISSED'}: ${g.text}`).join('; ');
