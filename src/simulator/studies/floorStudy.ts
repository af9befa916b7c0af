import { formatNumber } from '../../common/table.js';
import { cheapestConfig } from '../../optimizer/cheapestConfig.js';
import { problemFromSpec } from '../../optimizer/problemFromSpec.js';
import { barFigureSpec } from '../../report/barChart.js';
import { renderFigure } from '../../report/chartRender.js';
import { type SimulationRequest, simulatePolicies } from '../simulation.js';
import { costUnit } from '../simulationFigures.js';
import type { Study } from './study.js';

interface Row {
  pattern: string;
  meanCost: number;
  meanPas: number;
  violationsPct: number;
  /** Mean over the seconds of the cheapest config with PAS ≥ ipa's mean PAS at that second's load. */
  floorAtPas: number;
  /** The same at any PAS. */
  floorAnyPas: number;
}

/**
 * How far ipa's cost is from the least any policy could pay: per pattern, ipa simulated as usual
 * beside a clairvoyant floor, which every second runs the cheapest config that reaches ipa's mean
 * PAS (or any PAS) at that second's true load under IPA's own optimistic model (capacity equal to
 * the load, no queue), reconfigured at no cost. A policy that holds the SLA on real arrivals pays
 * at least that; what ipa pays above it is queueing, forecasting, holding configs and the accuracy
 * its objective buys.
 */
export async function floorStudy(base: Omit<SimulationRequest, 'policies'>): Promise<Study> {
  const { spec, profiles } = base;
  const results = await simulatePolicies({ ...base, policies: ['ipa'] });
  const optimistic = { ...spec, arrivals: 'steady' as const };
  const memo = new Map<string, number>();
  const floorAt = (load: number, minPas: number): number => {
    const key = `${load}/${minPas}`;
    let cost = memo.get(key);
    if (cost === undefined) {
      // A second without requests still runs a replica per stage (no policy scales to zero).
      cost = cheapestConfig(problemFromSpec(optimistic, profiles, Math.max(1, load)), minPas)?.cost ?? Number.NaN;
      memo.set(key, cost);
    }
    return cost;
  };
  const rows: Row[] = results.map((r) => {
    const s = (r.runs[0] as (typeof r.runs)[number]).summary;
    const loads = Array.from(r.pattern.loads);
    const mean = (minPas: number) => loads.reduce((t, load) => t + floorAt(load, minPas), 0) / loads.length;
    return {
      pattern: r.pattern.name,
      meanCost: s.meanCost,
      meanPas: s.meanPas,
      violationsPct: s.violationPercent,
      floorAtPas: mean(s.meanPas),
      floorAnyPas: mean(0),
    };
  });
  const unit = costUnit(spec);
  const title = `${spec.name}: ipa's cost against the cheapest configs`;
  const figure = await renderFigure(
    `${spec.name}-floor`,
    title,
    barFigureSpec({
      title,
      subtitle: `${base.settings.arrivals} arrivals, seed ${base.settings.seed}; floors: each second's cheapest config at its true load, no queue`,
      groupTitle: 'pattern',
      metrics: [
        {
          title: `mean cost (${unit})`,
          bars: rows.flatMap((r) => [
            { group: r.pattern, series: 'ipa', value: r.meanCost },
            { group: r.pattern, series: "floor at ipa's PAS", value: r.floorAtPas },
            { group: r.pattern, series: 'floor at any PAS', value: r.floorAnyPas },
          ]),
        },
      ],
      legendTitle: 'cost of',
    }),
  );
  const pct = (cost: number, floor: number) => formatNumber((100 * (cost - floor)) / floor, 1);
  return {
    name: 'floor',
    title: `ipa's cost against the floor: pipeline ${spec.name}`,
    intro: [
      `ipa simulated on ${rows.map((r) => r.pattern).join(', ')} (arrivals ${base.settings.arrivals}, planning for ${spec.arrivals}, seed ${base.settings.seed}), beside two floors. ` +
        "Each floor runs, every second, the cheapest config under IPA's own model (replicas that just carry that second's true load, latency the profile's plus the batch's fill wait, within the SLA less the spec's overhead), reconfigured at no cost: " +
        "one reaching ipa's mean PAS in that second, one at any PAS. No policy that holds the SLA with that PAS in every second pays less; on bunched or Poisson arrivals it pays more, for queueing.",
    ],
    header: [
      'pattern',
      'ipa mean cost',
      'ipa mean PAS',
      'ipa SLA violations %',
      "floor at ipa's PAS",
      'floor at any PAS',
      'ipa over the floor at its PAS %',
    ],
    rows: rows.map((r) => [
      r.pattern,
      formatNumber(r.meanCost, 2),
      formatNumber(r.meanPas, 4),
      formatNumber(r.violationsPct, 3),
      formatNumber(r.floorAtPas, 2),
      formatNumber(r.floorAnyPas, 2),
      pct(r.meanCost, r.floorAtPas),
    ]),
    findings: rows.map(
      (r) =>
        `**${r.pattern}**: ipa's mean cost is ${formatNumber(r.meanCost, 1)} (${unit}) for PAS ${formatNumber(r.meanPas, 4)}, ${pct(r.meanCost, r.floorAtPas)} % above the ${formatNumber(r.floorAtPas, 1)} that this PAS costs at the least; ` +
        `the cheapest configs at any PAS cost ${formatNumber(r.floorAnyPas, 1)}.`,
    ),
    figures: [figure],
    json: rows.map((r) => ({ study: 'floor', pipeline: spec.name, ...r })),
  };
}
