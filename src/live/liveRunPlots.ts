import { type LineChart, type LineSeries, renderLineChart } from '../report/lineChart.js';
import type { Plot } from '../simulator/simulationPlots.js';
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
 * A live experiment's plots, one image per quantity with a line per policy: the load sent, the
 * measured p99 per loop interval against the SLA, the cores the replicas held, and the running
 * config's PAS.
 */
export function liveRunPlots(experiment: LiveExperiment, slaMs: number): Plot[] {
  const { pattern, runs } = experiment;
  const lines = (values: (run: LiveExperiment['runs'][number]) => Array<[number, number]>): LineSeries[] =>
    runs.map((run) => ({ name: run.result.policy, points: values(run) }));
  const charts: Array<{ file: string; chart: LineChart }> = [
    {
      file: `${pattern}-load.png`,
      chart: {
        title: `${pattern}: requests sent`,
        xLabel: 'time (s)',
        yLabel: 'requests/s',
        series: lines((r) => perSecond(r.series.sent)),
      },
    },
    {
      file: `${pattern}-latency.png`,
      chart: {
        title: `${pattern}: measured p99 latency per ${experiment.intervalSeconds}-s interval`,
        xLabel: 'time (s)',
        yLabel: 'ms',
        series: lines((r) => perInterval(r.series.intervals)),
        hLines: [{ y: slaMs, label: `SLA ${slaMs} ms` }],
      },
    },
    {
      file: `${pattern}-cores.png`,
      chart: { title: `${pattern}: allocated cores`, xLabel: 'time (s)', yLabel: 'cores', series: lines((r) => perSecond(r.series.cores)) },
    },
    {
      file: `${pattern}-pas.png`,
      chart: {
        title: `${pattern}: PAS of the running config`,
        xLabel: 'time (s)',
        yLabel: 'PAS',
        series: lines((r) => perSecond(r.series.pas)),
      },
    },
  ];
  return charts.map(({ file, chart }) => ({ file, title: chart.title, png: renderLineChart(chart) }));
}
