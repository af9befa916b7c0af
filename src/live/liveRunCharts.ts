import { type Figure, renderFigure } from '../report/chartRender.js';
import { type LineFigure, type LineSeries, lineFigureSpec } from '../report/lineChart.js';
import type { LiveExperiment } from './liveExperiment.js';

const perSecond = (values: readonly number[]): Array<[number, number]> => values.map((v, t) => [t, v]);

/** The p99 of each interval held across it, a gap where no request was answered ok. */
const perInterval = (intervals: LiveExperiment['runs'][number]['series']['intervals']): Array<[number, number]> =>
  intervals.flatMap(
    (i): Array<[number, number]> => [
      [i.fromS, i.p99Ms],
      [i.toS, i.p99Ms],
      [i.toS, Number.NaN],
    ],
  );

/**
 * A live experiment's charts, one per quantity with a line per policy: the load sent, the
 * measured p99 per loop interval against the SLA, the cores the replicas held, and the running
 * config's PAS.
 */
export async function liveRunCharts(experiment: LiveExperiment, slaMs: number): Promise<Figure[]> {
  const { pipeline, pattern, runs } = experiment;
  const policies = runs.map((run) => run.result.policy);
  const chart = (title: string, yTitle: string, values: (run: LiveExperiment['runs'][number]) => Array<[number, number]>) =>
    ({
      title: `${pipeline} · ${pattern}: ${title}`,
      subtitle: `measured on the live pipeline, ${runs.length} polic${runs.length === 1 ? 'y' : 'ies'} one after another on the same requests`,
      xTitle: 'time since the replay began (s)',
      yTitle,
      panels: [{ series: runs.map((run): LineSeries => ({ name: run.result.policy, points: values(run) })) }],
      legendOrder: policies,
      legendTitle: 'policy',
    }) satisfies LineFigure;
  const latency = chart(`measured p99 latency per ${experiment.intervalSeconds}-s interval`, 'p99 latency (ms)', (r) =>
    perInterval(r.series.intervals),
  );
  const figures: Array<[name: string, figure: LineFigure]> = [
    [`${pattern}-load`, chart('requests sent', 'load (requests/s)', (r) => perSecond(r.series.sent))],
    [
      `${pattern}-latency`,
      { ...latency, panels: latency.panels.map((p) => ({ ...p, hLines: [{ at: slaMs, label: `SLA ${slaMs} ms` }] })) },
    ],
    [`${pattern}-cores`, chart('allocated cores', 'allocated CPU (cores)', (r) => perSecond(r.series.cores))],
    [`${pattern}-pas`, chart('PAS of the running config', 'PAS (accuracy score)', (r) => perSecond(r.series.pas))],
  ];
  return Promise.all(figures.map(([name, figure]) => renderFigure(name, figure.title, lineFigureSpec(figure))));
}
