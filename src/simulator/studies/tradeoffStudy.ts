import { formatNumber } from '../../common/table.js';
import { renderFigure } from '../../report/chartRender.js';
import { lineFigureSpec } from '../../report/lineChart.js';
import { type SimulationRequest, simulatePolicies } from '../simulation.js';
import { costUnit } from '../simulationFigures.js';
import type { Study } from './study.js';

/**
 * β as multiples of the spec's, 1/8 to 8×. Not 0: with cost free every replica count ties, and
 * the optimizer may take any of them.
 */
const BETA_FACTORS = [0.125, 0.25, 0.5, 1, 2, 4, 8];

interface Point {
  pattern: string;
  beta: number;
  meanCost: number;
  meanPas: number;
  violationsPct: number;
}

/**
 * The accuracy/cost trade-off over β (the paper's Fig. 14): ipa with the objective's cost weight
 * swept from 0 to 8× the spec's, the rest of the spec as it is; PAS against cost per pattern.
 */
export async function tradeoffStudy(base: Omit<SimulationRequest, 'policies'>): Promise<Study> {
  const { spec } = base;
  const points: Point[] = [];
  for (const factor of BETA_FACTORS) {
    const beta = spec.objective.beta * factor;
    const results = await simulatePolicies({ ...base, spec: { ...spec, objective: { ...spec.objective, beta } }, policies: ['ipa'] });
    for (const r of results) {
      const s = (r.runs[0] as (typeof r.runs)[number]).summary;
      points.push({ pattern: r.pattern.name, beta, meanCost: s.meanCost, meanPas: s.meanPas, violationsPct: s.violationPercent });
    }
  }
  const patterns = [...new Set(points.map((p) => p.pattern))];
  const title = `${spec.name}: PAS against cost as β grows`;
  const figure = await renderFigure(
    `${spec.name}-tradeoff`,
    title,
    lineFigureSpec({
      title,
      subtitle: `ipa, β from ${BETA_FACTORS[0]} to ${BETA_FACTORS.at(-1)}× the spec's ${spec.objective.beta} (α ${spec.objective.alpha}); pattern${patterns.length > 1 ? 's' : ''} ${patterns.join(', ')}; the paper's Figure 14`,
      xTitle: `mean cost (${costUnit(spec)})`,
      yTitle: 'mean PAS (accuracy score)',
      markers: true,
      panels: [
        {
          series: patterns.map((pattern) => ({
            name: pattern,
            points: points.filter((p) => p.pattern === pattern).map((p): [number, number] => [p.meanCost, p.meanPas]),
          })),
        },
      ],
      legendTitle: 'pattern',
    }),
  );
  const spans = patterns.map((pattern) => {
    const mine = points.filter((p) => p.pattern === pattern);
    const free = mine[0] as Point;
    const dear = mine.at(-1) as Point;
    return (
      `**${pattern}**: from β ${formatNumber(free.beta, 6)} (PAS ${formatNumber(free.meanPas, 4)} at cost ${formatNumber(free.meanCost, 1)}) to β ${formatNumber(dear.beta, 4)} ` +
      `(PAS ${formatNumber(dear.meanPas, 4)} at ${formatNumber(dear.meanCost, 1)}): ${formatNumber(free.meanCost / dear.meanCost, 2)}× the cost for ` +
      `${formatNumber(free.meanPas - dear.meanPas, 4)} more PAS.`
    );
  });
  return {
    name: 'tradeoff',
    title: `Accuracy and cost over β: pipeline ${spec.name}`,
    intro: [
      `ipa with the objective α·PAS − β·cost − γ·Σbatch, β at ${BETA_FACTORS.join(', ')} × the spec's ${spec.objective.beta}; same patterns, arrivals (${base.settings.arrivals}) and seed (${base.settings.seed}).`,
      "IPA's paper (Fig. 14, nlp pipeline): 100 CPU cores at average accuracy 2.5 against 46 cores at accuracy 1 as β rose.",
    ],
    header: ['pattern', 'β', 'mean cost', 'mean PAS', 'SLA violations %'],
    rows: points.map((p) => [
      p.pattern,
      formatNumber(p.beta, 6),
      formatNumber(p.meanCost, 2),
      formatNumber(p.meanPas, 4),
      formatNumber(p.violationsPct, 3),
    ]),
    findings: spans,
    figures: [figure],
    json: points.map((p) => ({ study: 'tradeoff', pipeline: spec.name, ...p })),
  };
}
