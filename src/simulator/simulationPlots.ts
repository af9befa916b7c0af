import { type LineChart, type LineSeries, renderLineChart } from '../report/lineChart.js';
import type { PatternResult } from './simulation.js';

export interface Plot {
  file: string;
  title: string;
  png: Buffer;
}

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

/**
 * The paper's Figure 8 for one pattern, one image per quantity with a line per policy: load and
 * forecasts, cost, PAS, and per-second p99 latency against the SLA.
 */
export function patternPlots(result: PatternResult, slaMs: number): Plot[] {
  const { pattern, runs, forecasts } = result;
  const seconds = pattern.loads.length;
  const times = runs[0]?.decisions ?? [];
  const forecasting = runs.filter((r) => r.load === 'forecast').map((r) => r.policy);
  const loadSeries: LineSeries[] = [{ name: 'load (requests/s)', points: perSecond(pattern.loads, seconds) }];
  if (forecasting.length > 0 && times.length === forecasts.length) {
    loadSeries.push(
      { name: 'forecast', points: steps(times, (i) => forecasts[i]?.forecast ?? Number.NaN, seconds), dashed: true },
      { name: `provisioned (${forecasting.join(', ')})`, points: steps(times, (i) => forecasts[i]?.provisioned ?? Number.NaN, seconds) },
    );
  }
  const oracle = runs.find((r) => r.policy === 'oracle');
  if (oracle)
    loadSeries.push({
      name: 'oracle (true peak ahead)',
      points: steps(oracle.decisions, (i) => oracle.decisions[i]?.provisioned ?? Number.NaN, seconds),
      dashed: true,
    });
  const byPolicy = (values: (r: (typeof runs)[number]) => ArrayLike<number>): LineSeries[] =>
    runs.map((r) => ({ name: r.policy, points: perSecond(values(r), seconds) }));
  const charts: Array<{ file: string; chart: LineChart }> = [
    {
      file: `${pattern.name}-load.png`,
      chart: { title: `${pattern.name}: load and forecast`, xLabel: 'time (s)', yLabel: 'requests/s', series: loadSeries },
    },
    {
      file: `${pattern.name}-cost.png`,
      chart: { title: `${pattern.name}: cost`, xLabel: 'time (s)', yLabel: 'cost', series: byPolicy((r) => r.series.cost) },
    },
    {
      file: `${pattern.name}-pas.png`,
      chart: { title: `${pattern.name}: PAS of served requests`, xLabel: 'time (s)', yLabel: 'PAS', series: byPolicy((r) => r.series.pas) },
    },
    {
      file: `${pattern.name}-latency.png`,
      chart: {
        title: `${pattern.name}: p99 latency per second`,
        xLabel: 'time (s)',
        yLabel: 'ms',
        series: byPolicy((r) => r.series.p99Ms),
        hLines: [{ y: slaMs, label: `SLA ${slaMs} ms` }],
      },
    },
  ];
  return charts.map(({ file, chart }) => ({ file, title: chart.title, png: renderLineChart(chart) }));
}
