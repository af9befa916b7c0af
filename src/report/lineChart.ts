import type { TopLevelSpec } from 'vega-lite';
import { legendDomain, seriesColor } from './seriesColors.js';

/** One line: its name in the legend, its points (NaN y leaves a gap), dashed for a reference such as a forecast. */
export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

/** A reference line across the plot (an SLA, say), labelled on the plot itself. */
export interface ReferenceLine {
  at: number;
  label: string;
}

export interface LinePanel {
  /** The panel's heading in a grid; a single panel takes the figure's title alone. */
  title?: string;
  series: LineSeries[];
  /** Horizontal lines at these y values. */
  hLines?: ReferenceLine[];
  /** Vertical lines at these x values. */
  vLines?: ReferenceLine[];
}

/** Line charts in one figure: one panel, or a grid of panels with shared axes titles and one legend. */
export interface LineFigure {
  title: string;
  subtitle?: string;
  /** Axis titles, with units: `time (s)`, `p99 latency (ms)`. */
  xTitle: string;
  yTitle: string;
  /** The x axis's range; lines beyond it are clipped. The data's extent when absent. */
  xDomain?: [number, number];
  panels: LinePanel[];
  /** Points marked on the lines: for a few points that mean something each (a sweep), not a time series. */
  markers?: boolean;
  /** Whole-number ticks on the x axis (a count, not a measure). */
  xInteger?: boolean;
  /** A logarithmic y axis, for values over orders of magnitude. */
  yLog?: boolean;
  /** Panels per row of the grid (default 2). */
  columns?: number;
  /** Series names in legend order, so a policy keeps its colour across figures; unlisted names follow. */
  legendOrder?: readonly string[];
  legendTitle?: string;
  width?: number;
  height?: number;
}

/** Near-black so a reference line never passes for one of the series. */
export const REFERENCE_COLOR = '#3c3c3c';

function referenceLayers(lines: readonly ReferenceLine[], axis: 'x' | 'y') {
  if (lines.length === 0) return [];
  const data = { values: lines.map((l) => ({ at: l.at, label: l.label })) };
  const position = { field: 'at', type: 'quantitative' as const };
  return [
    { data, mark: { type: 'rule' as const, color: REFERENCE_COLOR, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { [axis]: position } },
    {
      data,
      mark:
        axis === 'y'
          ? { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, dx: 4, dy: -3, x: 0, color: REFERENCE_COLOR }
          : { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 4, y: 4, color: REFERENCE_COLOR },
      encoding: { [axis]: position, text: { field: 'label' } },
    },
  ];
}

/**
 * The Vega-Lite spec of a figure of line charts. Every panel shares the colour scale (one legend,
 * a policy the same colour everywhere); each keeps its own y scale, as load and latency differ
 * by pattern.
 */
export function lineFigureSpec(figure: LineFigure): TopLevelSpec {
  const domain = legendDomain(
    figure.panels.flatMap((p) => p.series.map((s) => s.name)),
    figure.legendOrder,
  );
  const width = figure.width ?? (figure.panels.length > 1 ? 420 : 760);
  const height = figure.height ?? (figure.panels.length > 1 ? 200 : 280);
  const encoding = {
    x: {
      field: 'x',
      type: 'quantitative',
      title: figure.xTitle,
      ...(figure.xDomain ? { scale: { domain: figure.xDomain } } : {}),
      ...(figure.xInteger ? { axis: { format: 'd', tickMinStep: 1 } } : {}),
    },
    y: { field: 'y', type: 'quantitative', title: figure.yTitle, ...(figure.yLog ? { scale: { type: 'log' } } : {}) },
    color: seriesColor(domain, figure.legendTitle),
    strokeDash: {
      field: 'dashed',
      type: 'nominal',
      scale: {
        domain: [false, true],
        range: [
          [1, 0],
          [7, 5],
        ],
      },
      legend: null,
    },
  } as const;
  const panelSpec = (panel: LinePanel) => ({
    width,
    height,
    ...(panel.title && figure.panels.length > 1 ? { title: { text: panel.title, fontSize: 13 } } : {}),
    layer: [
      {
        data: {
          values: panel.series.flatMap((s) =>
            s.points.map(([x, y]) => ({ series: s.name, dashed: s.dashed ?? false, x, y: Number.isFinite(y) ? y : null })),
          ),
        },
        mark: { type: 'line' as const, strokeWidth: 1.8, clip: true, ...(figure.markers ? { point: { size: 40 } } : {}) },
        encoding,
      },
      ...referenceLayers(panel.hLines ?? [], 'y'),
      ...referenceLayers(panel.vLines ?? [], 'x'),
    ],
  });
  const title = { text: figure.title, ...(figure.subtitle ? { subtitle: figure.subtitle } : {}) };
  if (figure.panels.length === 1) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      ...panelSpec(figure.panels[0] as LinePanel),
    } as TopLevelSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    columns: figure.columns ?? 2,
    concat: figure.panels.map(panelSpec),
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  } as TopLevelSpec;
}
