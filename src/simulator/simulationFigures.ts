import type { PipelineSpec } from '../model/pipelineSpec.js';
import { barFigureSpec } from '../report/barChart.js';
import { type Figure, renderFigure } from '../report/chartRender.js';
import { type LineFigure, type LinePanel, type LineSeries, lineFigureSpec } from '../report/lineChart.js';
import type { PatternResult } from './simulation.js';

const perSecond = (values: ArrayLike<number>, seconds: number): Array<[number, number]> =>
  Array.from({ length: Math.min(seconds, values.length) }, (_, t) => [t, values[t] as number]);

/** A value held from each decision to the next: how a config or a forecast is in force. */
function steps(decisions: { t: number }[], value: (i: number) => number, end: number): Array<[number, number]> {
  return decisions.flatMap((d, i): Array<[number, number]> => {
    const next = decisions[i + 1]?.t ?? end;
    return [
      [d.t, value(i)],
      [next, value(i)],
    ];
  });
}

/** The load panel of one pattern: the trace's load, and what the forecasting policies and the oracle provisioned. */
function loadPanel(result: PatternResult): LinePanel {
  const { pattern, runs, forecasts } = result;
  const seconds = pattern.loads.length;
  const times = runs[0]?.decisions ?? [];
  const forecasting = runs.some((r) => r.load === 'forecast');
  const series: LineSeries[] = [{ name: 'load', points: perSecond(pattern.loads, seconds) }];
  if (forecasting && times.length === forecasts.length) {
    series.push(
      { name: 'forecast', points: steps(times, (i) => forecasts[i]?.forecast ?? Number.NaN, seconds), dashed: true },
      { name: 'provisioned (forecasting policies)', points: steps(times, (i) => forecasts[i]?.provisioned ?? Number.NaN, seconds) },
    );
  }
  const oracle = runs.find((r) => r.policy === 'oracle');
  if (oracle) {
    series.push({
      name: 'oracle (true peak ahead)',
      points: steps(oracle.decisions, (i) => oracle.decisions[i]?.provisioned ?? Number.NaN, seconds),
      dashed: true,
    });
  }
  return { title: pattern.name, series };
}

/** The cost unit in words, from the spec's prices: what a y axis of cost is measured in. */
export const costUnit = (spec: PipelineSpec) =>
  spec.cost.gpu === 0 ? `${spec.cost.cpu} per core` : `${spec.cost.cpu} per core, ${spec.cost.gpu} per GPU`;

/**
 * The figures of `ipa simulate` for one pipeline, as the paper draws them: per quantity a grid of
 * the patterns' time series (load and forecasts; cost, PAS and p99 latency per policy, Fig. 8),
 * the per-policy summary bars (mean cost, mean PAS, SLA violations, Fig. 8b-12b), and the latency
 * CDF per policy with the SLA marked (Fig. 15).
 */
export async function simulationFigures(results: readonly PatternResult[], spec: PipelineSpec): Promise<Figure[]> {
  const policies = [...new Set(results.flatMap((r) => r.runs.map((run) => run.policy)))];
  const patterns = `pattern${results.length > 1 ? 's' : ''} ${results.map((r) => r.pattern.name).join(', ')}`;
  const sla = { at: spec.slaMs, label: `SLA ${spec.slaMs} ms` };
  const grid = (title: string, yTitle: string, panel: (r: PatternResult) => LinePanel): LineFigure => ({
    title: `${spec.name}: ${title}`,
    subtitle: patterns,
    xTitle: 'time (s)',
    yTitle,
    panels: results.map(panel),
    legendOrder: policies,
    legendTitle: 'policy',
  });
  const byPolicy = (r: PatternResult, values: (run: PatternResult['runs'][number]) => ArrayLike<number>): LinePanel => ({
    title: r.pattern.name,
    series: r.runs.map((run) => ({ name: run.policy, points: perSecond(values(run), r.pattern.loads.length) })),
  });
  const lines: Array<[name: string, figure: LineFigure]> = [
    ['load', { ...grid('load and forecast', 'load (requests/s)', loadPanel), legendTitle: 'series' }],
    ['cost', grid('cost per second', `cost (${costUnit(spec)})`, (r) => byPolicy(r, (run) => run.series.cost))],
    ['pas', grid('PAS of the requests served', 'PAS (accuracy score)', (r) => byPolicy(r, (run) => run.series.pas))],
    [
      'latency',
      grid('p99 end-to-end latency per second', 'p99 latency (ms)', (r) => ({ ...byPolicy(r, (run) => run.series.p99Ms), hLines: [sla] })),
    ],
    [
      'latency-cdf',
      {
        ...grid('end-to-end latency CDF', 'share of requests answered', (r) => ({
          title: r.pattern.name,
          series: r.runs.map((run) => ({ name: run.policy, points: run.latencyCdf })),
          vLines: [sla],
        })),
        xTitle: 'end-to-end latency (ms), cut at 3× the SLA',
        xDomain: [0, 3 * spec.slaMs],
      },
    ],
  ];
  const bars = (title: string, value: (s: PatternResult['runs'][number]['summary']) => number) => ({
    title,
    bars: results.flatMap((r) => r.runs.map((run) => ({ group: r.pattern.name, series: run.policy, value: value(run.summary) }))),
  });
  const summary = barFigureSpec({
    title: `${spec.name}: per-policy averages`,
    subtitle: `${patterns}; SLA ${spec.slaMs} ms`,
    groupTitle: 'pattern',
    metrics: [
      bars(`mean cost (${costUnit(spec)})`, (s) => s.meanCost),
      bars('mean PAS (accuracy score)', (s) => s.meanPas),
      bars('SLA violations (% of requests)', (s) => s.violationPercent),
    ],
    legendOrder: policies,
    legendTitle: 'policy',
  });
  return Promise.all([
    ...lines.map(([name, figure]) => renderFigure(`${spec.name}-${name}`, figure.title, lineFigureSpec(figure))),
    renderFigure(`${spec.name}-summary`, `${spec.name}: per-policy averages`, summary),
  ]);
}
