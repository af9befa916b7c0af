import type { TopLevelSpec } from 'vega-lite';
import { legendDomain, seriesColor } from './seriesColors.js';

/** One bar: its group on the x axis (a pattern), its series within the group (a policy), its height. */
export interface Bar {
  group: string;
  series: string;
  value: number;
}

/** One panel of bars: its y-axis title, with the unit (`mean cost (cores)`, `SLA violations (%)`). */
export interface BarMetric {
  title: string;
  bars: Bar[];
}

export interface BarFigure {
  title: string;
  subtitle?: string;
  /** The x axis's title: what the groups are. */
  groupTitle: string;
  metrics: BarMetric[];
  legendOrder?: readonly string[];
  legendTitle?: string;
}

/**
 * Grouped bars, one panel per metric side by side, the series coloured as in the line figures
 * (same legend order, same palette).
 */
export function barFigureSpec(figure: BarFigure): TopLevelSpec {
  const domain = legendDomain(
    figure.metrics.flatMap((m) => m.bars.map((b) => b.series)),
    figure.legendOrder,
  );
  const groups = [...new Set(figure.metrics.flatMap((m) => m.bars.map((b) => b.group)))];
  // Each group at least as wide as a label like "steady-high", however few its bars.
  const width = Math.max(180, groups.length * Math.max(domain.length * 14 + 24, 90));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: figure.title, ...(figure.subtitle ? { subtitle: figure.subtitle } : {}) },
    hconcat: figure.metrics.map((metric) => ({
      width,
      height: 220,
      data: { values: metric.bars.filter((b) => Number.isFinite(b.value)) },
      encoding: {
        x: { field: 'group', type: 'nominal', title: figure.groupTitle, sort: groups, axis: { labelAngle: 0 } },
        xOffset: { field: 'series', type: 'nominal', sort: domain, scale: { domain } },
        y: { field: 'value', type: 'quantitative', title: metric.title },
        color: seriesColor(domain, figure.legendTitle),
      },
      layer: [{ mark: { type: 'bar' } }],
    })),
    resolve: { scale: { color: 'shared', y: 'independent' } },
  } as TopLevelSpec;
}
