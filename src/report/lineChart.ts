import { drawText, type PixelSink, type TextDirection, textHeight, textWidth } from './bitmapFont.js';
import { Raster, type Rect, type Rgb, StrokeMask } from './raster.js';

/**
 * Renders line charts straight to PNG bytes, so a simulation report's plots open in any image
 * viewer without a browser, a plotting library or a native module.
 */
export interface LineSeries {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  series: LineSeries[];
  hLines?: Array<{ y: number; label: string }>;
}

/** Tableau-style hues, minus grey and olive, which read as gridlines or blur into green. */
export const SERIES_PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
];
/** Near-black so a reference line (an SLA, say) never passes for one of the series. */
export const REFERENCE_COLOR: Rgb = [60, 60, 60];

const WHITE: Rgb = [255, 255, 255];
const TEXT_COLOR: Rgb = [34, 34, 34];
const AXIS_COLOR: Rgb = [90, 90, 90];
const GRID_COLOR: Rgb = [232, 232, 232];

const DEFAULT_WIDTH = 900;
const DEFAULT_HEIGHT = 360;
const MAX_SIZE = 8000;

const PAD = 10;
const TITLE_SCALE = 2;
const TICK_LENGTH = 4;
const LINE_WIDTH = 2.2;
const REFERENCE_WIDTH = 2;
const SERIES_DASH: Dash = [9, 6];
const REFERENCE_DASH: Dash = [6, 5];
const LEGEND_SWATCH = 24;
const LEGEND_ROW = 14;
const LEGEND_GAP = 18;
/** Keeps data that sits exactly on a domain edge from hiding under the axis lines. */
const DATA_INSET = 6;
const MIN_X_TICK_SPACING = 80;
const MIN_Y_TICK_SPACING = 36;

type Dash = readonly [on: number, off: number];
type Point = readonly [number, number];

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  labels: string[];
}

interface LegendItem {
  name: string;
  color: Rgb;
  dashed: boolean;
}

interface Layout {
  frame: Rect;
  data: Rect;
  x: Axis;
  y: Axis;
  legendRows: LegendItem[][];
  legendTop: number;
}

export function renderLineChart(chart: LineChart): Buffer {
  const spec = validated(chart);
  const raster = new Raster(spec.width, spec.height, WHITE);
  const layout = layOut(spec);
  const plotMask = new StrokeMask(raster, layout.frame);
  drawGridAndAxes(raster, layout);
  for (const line of spec.hLines) drawReferenceLine(plotMask, layout, line.y);
  for (const [i, series] of spec.series.entries()) drawSeries(plotMask, layout, series, seriesColor(i));
  for (const line of spec.hLines) drawReferenceLabel(raster, layout, line);
  if (spec.series.every((s) => runs(s.points).length === 0)) drawCentered(raster, 'no data', layout.data, TEXT_COLOR);
  drawLegend(raster, layout);
  drawTitleAndLabels(raster, spec, layout);
  return raster.toPng();
}

interface ValidChart {
  title: string;
  xLabel: string;
  yLabel: string;
  width: number;
  height: number;
  series: LineSeries[];
  hLines: Array<{ y: number; label: string }>;
}

function validated(chart: LineChart): ValidChart {
  if (typeof chart !== 'object' || chart === null) throw new Error(`renderLineChart: chart must be an object, got ${describe(chart)}`);
  if (!Array.isArray(chart.series)) throw new Error(`renderLineChart: series must be an array, got ${describe(chart.series)}`);
  chart.series.forEach((series, i) => {
    if (typeof series !== 'object' || series === null || !Array.isArray(series.points)) {
      throw new Error(`renderLineChart: series[${i}].points must be an array, got ${describe(series?.points)}`);
    }
  });
  if (chart.hLines !== undefined && !Array.isArray(chart.hLines)) {
    throw new Error(`renderLineChart: hLines must be an array when given, got ${describe(chart.hLines)}`);
  }
  return {
    title: String(chart.title ?? ''),
    xLabel: String(chart.xLabel ?? ''),
    yLabel: String(chart.yLabel ?? ''),
    width: checkedSize(chart.width, 'width', DEFAULT_WIDTH),
    height: checkedSize(chart.height, 'height', DEFAULT_HEIGHT),
    series: chart.series,
    hLines: (chart.hLines ?? []).filter((line) => Number.isFinite(line?.y)),
  };
}

function checkedSize(value: unknown, field: 'width' | 'height', fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_SIZE) {
    throw new Error(`renderLineChart: ${field} must be a positive integer no larger than ${MAX_SIZE}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function seriesColor(index: number): Rgb {
  return SERIES_PALETTE[index % SERIES_PALETTE.length] ?? TEXT_COLOR;
}

/** Splits points at every non-finite coordinate, so a missing sample shows as a gap, not a jump. */
function runs(points: ReadonlyArray<readonly [number, number]>): Point[][] {
  const result: Point[][] = [];
  let current: Point[] = [];
  for (const point of points) {
    const x = point?.[0];
    const y = point?.[1];
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) {
      current.push([x, y]);
    } else if (current.length > 0) {
      result.push(current);
      current = [];
    }
  }
  if (current.length > 0) result.push(current);
  return result;
}

/**
 * The plot's height depends on how many legend rows fit the width, the y tick labels' width sets the
 * left margin, and that in turn fixes the room for x ticks; computing in that order avoids a cycle.
 */
function layOut(spec: ValidChart): Layout {
  const legendItems = spec.series.map((s, i) => ({ name: String(s.name ?? ''), color: seriesColor(i), dashed: s.dashed === true }));
  const legendRows = wrapLegend(legendItems, spec.width - 2 * PAD);
  const legendTop = PAD + (spec.title ? textHeight(TITLE_SCALE) + 8 : 0);
  const frameTop = legendTop + legendRows.length * LEGEND_ROW + 6;
  const frameBottom = spec.height - (PAD + textHeight() * 2 + 10 + TICK_LENGTH + 4);
  const frameHeight = Math.max(1, frameBottom - frameTop);
  const allPoints = spec.series.flatMap((s) => runs(s.points).flat());
  const yValues = allPoints.map((p) => p[1]).concat(spec.hLines.map((l) => l.y));
  const y = niceAxis(extent(yValues), Math.max(2, Math.floor(frameHeight / MIN_Y_TICK_SPACING)));
  const frameLeft = PAD + textHeight() + 8 + Math.max(0, ...y.labels.map((l) => textWidth(l))) + TICK_LENGTH + 4;
  const frameWidth = Math.max(1, spec.width - frameLeft - PAD - 12);
  const frame = { x: frameLeft, y: frameTop, width: frameWidth, height: frameHeight };
  const data = inset(frame, DATA_INSET);
  const x = fittedXAxis(extent(allPoints.map((p) => p[0])), data.width);
  return { frame, data, x, y, legendRows, legendTop };
}

function inset(rect: Rect, by: number): Rect {
  const dx = Math.min(by, Math.floor(rect.width / 4));
  const dy = Math.min(by, Math.floor(rect.height / 4));
  return { x: rect.x + dx, y: rect.y + dy, width: Math.max(1, rect.width - 2 * dx), height: Math.max(1, rect.height - 2 * dy) };
}

function wrapLegend(items: LegendItem[], maxWidth: number): LegendItem[][] {
  const rows: LegendItem[][] = [];
  let row: LegendItem[] = [];
  for (const item of items) {
    if (row.length > 0 && rowWidth([...row, item]) > maxWidth) {
      rows.push(row);
      row = [];
    }
    row.push(item);
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

function legendItemWidth(item: LegendItem): number {
  return LEGEND_SWATCH + 5 + textWidth(item.name);
}

function rowWidth(row: LegendItem[]): number {
  return row.reduce((sum, item) => sum + legendItemWidth(item), 0) + LEGEND_GAP * Math.max(0, row.length - 1);
}

/** Fewer ticks until the widest label fits between neighbours, so x labels never collide. */
function fittedXAxis(range: Extent | undefined, pixels: number): Axis {
  for (let target = Math.max(2, Math.floor(pixels / MIN_X_TICK_SPACING)); ; target--) {
    const axis = niceAxis(range, target);
    const widest = Math.max(0, ...axis.labels.map((l) => textWidth(l)));
    const spacing = pixels / Math.max(1, axis.ticks.length - 1);
    if (target <= 2 || spacing >= widest + 10) return axis;
  }
}

interface Extent {
  min: number;
  max: number;
}

function extent(values: number[]): Extent | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : undefined;
}

/**
 * A domain widened to round tick values (1, 2 or 5 × 10^k). Spans are taken as differences of
 * halves because max − min overflows to Infinity when the data covers most of the double range.
 */
function niceAxis(range: Extent | undefined, target: number): Axis {
  const { min, max } = padDegenerate(range ?? { min: 0, max: 1 });
  const rough = max / target - min / target;
  const step = niceStep(rough);
  if (!(step > 0 && Number.isFinite(step))) return { lo: min, hi: max, ticks: [min, max], labels: [String(min), String(max)] };
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const lo = Number.isFinite(first * step) ? first * step : min;
  const hi = Number.isFinite(last * step) ? last * step : max;
  const ticks: number[] = [];
  for (let i = first, n = 0; i <= last && n <= 4 * target + 2; i++, n++) {
    const tick = i * step;
    if (Number.isFinite(tick) && tick >= lo && tick <= hi) ticks.push(tick);
  }
  const labels = tickLabels(ticks, step, Math.max(Math.abs(lo), Math.abs(hi)));
  return { lo, hi, ticks, labels };
}

/** A flat or empty range still needs some height, or every point would map to a division by zero. */
function padDegenerate({ min, max }: Extent): Extent {
  const magnitude = Math.max(Math.abs(min), Math.abs(max));
  if (max / 2 - min / 2 > magnitude * 1e-12 && max / 2 - min / 2 > Number.MIN_VALUE * 1e6) return { min, max };
  const mid = min / 2 + max / 2;
  const pad = mid === 0 ? 1 : Math.abs(mid) * 0.1;
  const lo = mid - pad;
  const hi = mid + pad;
  return { min: Number.isFinite(lo) ? lo : mid, max: Number.isFinite(hi) ? hi : mid };
}

function niceStep(rough: number): number {
  const exponent = Math.floor(Math.log10(rough));
  const power = 10 ** exponent;
  const fraction = rough / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  // Near the top of the double range rounding up overflows; a smaller round step merely adds ticks.
  for (const multiple of [10, 5, 2, 1]) {
    const step = multiple * power;
    if (multiple <= nice && Number.isFinite(step) && step > 0) return step;
  }
  return rough;
}

/** All labels on an axis share one notation and precision, chosen from the step, so they line up. */
function tickLabels(ticks: number[], step: number, magnitude: number): string[] {
  const stepExponent = Math.floor(Math.log10(step) + 1e-9);
  const scientific = magnitude >= 1e6 || stepExponent <= -5;
  return ticks.map((tick) => {
    if (tick === 0 || Math.abs(tick) < step * 1e-9) return '0';
    if (!scientific) return tick.toFixed(Math.min(20, Math.max(0, -stepExponent)));
    const digits = Math.min(12, Math.max(0, Math.floor(Math.log10(Math.abs(tick)) + 1e-9) - stepExponent));
    return tick
      .toExponential(digits)
      .replace(/(\.\d*?)0+e/, '$1e')
      .replace('.e', 'e')
      .replace('e+', 'e');
  });
}

function xPixel(layout: Layout, x: number): number {
  return layout.data.x + fraction(layout.x, x) * layout.data.width;
}

function yPixel(layout: Layout, y: number): number {
  return layout.data.y + (1 - fraction(layout.y, y)) * layout.data.height;
}

function fraction(axis: Axis, value: number): number {
  const span = axis.hi / 2 - axis.lo / 2;
  return span > 0 ? (value / 2 - axis.lo / 2) / span : 0.5;
}

function drawGridAndAxes(raster: Raster, layout: Layout): void {
  const { frame } = layout;
  const bottom = frame.y + frame.height;
  layout.y.ticks.forEach((tick, i) => {
    const y = Math.round(yPixel(layout, tick));
    raster.fillRect({ x: frame.x, y, width: frame.width, height: 1 }, GRID_COLOR);
    raster.fillRect({ x: frame.x - TICK_LENGTH, y, width: TICK_LENGTH, height: 1 }, AXIS_COLOR);
    const label = layout.y.labels[i] ?? '';
    drawString(raster, label, frame.x - TICK_LENGTH - 4 - textWidth(label), y - 3, TEXT_COLOR);
  });
  layout.x.ticks.forEach((tick, i) => {
    const x = Math.round(xPixel(layout, tick));
    raster.fillRect({ x, y: frame.y, width: 1, height: frame.height }, GRID_COLOR);
    raster.fillRect({ x, y: bottom, width: 1, height: TICK_LENGTH }, AXIS_COLOR);
    const label = layout.x.labels[i] ?? '';
    drawString(raster, label, x - Math.floor(textWidth(label) / 2), bottom + TICK_LENGTH + 4, TEXT_COLOR);
  });
  raster.fillRect({ x: frame.x - 1, y: frame.y, width: 1, height: frame.height + 1 }, AXIS_COLOR);
  raster.fillRect({ x: frame.x - 1, y: bottom, width: frame.width + 1, height: 1 }, AXIS_COLOR);
}

function drawSeries(mask: StrokeMask, layout: Layout, series: LineSeries, color: Rgb): void {
  for (const run of runs(series.points)) {
    const pixels = run.map(([x, y]): Point => [xPixel(layout, x), yPixel(layout, y)]);
    const [only] = pixels;
    if (pixels.length === 1 && only) mask.dot(only[0], only[1], LINE_WIDTH);
    else strokePolyline(mask, pixels, LINE_WIDTH, series.dashed ? SERIES_DASH : undefined);
  }
  mask.paint(color);
}

/** The dash phase carries across vertices, so dense series still show an even dash rhythm. */
function strokePolyline(mask: StrokeMask, points: Point[], width: number, dash?: Dash): void {
  let phase = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (!a || !b) continue;
    if (!dash) mask.segment(a[0], a[1], b[0], b[1], width);
    else phase = strokeDashed(mask, a, b, width, dash, phase);
  }
}

/** Strokes the "on" stretches of one segment and returns where in the dash cycle it ended. */
function strokeDashed(mask: StrokeMask, a: Point, b: Point, width: number, [on, off]: Dash, startPhase: number): number {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const cycle = on + off;
  let travelled = 0;
  let phase = startPhase;
  while (travelled < length) {
    const stretch = Math.min(length - travelled, phase < on ? on - phase : cycle - phase);
    if (phase < on) {
      const from = travelled / length;
      const to = (travelled + stretch) / length;
      mask.segment(lerp(a[0], b[0], from), lerp(a[1], b[1], from), lerp(a[0], b[0], to), lerp(a[1], b[1], to), width);
    }
    travelled += stretch;
    phase = (phase + stretch) % cycle;
  }
  return phase;
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** Snapped to a pixel boundary so the 2 px dashes come out crisp rather than as three grey rows. */
function drawReferenceLine(mask: StrokeMask, layout: Layout, value: number): void {
  const y = Math.round(yPixel(layout, value));
  strokePolyline(
    mask,
    [
      [layout.frame.x, y],
      [layout.frame.x + layout.frame.width, y],
    ],
    REFERENCE_WIDTH,
    REFERENCE_DASH,
  );
  mask.paint(REFERENCE_COLOR);
}

/** Drawn after the series on a white patch, so data crossing the line never hides its label. */
function drawReferenceLabel(raster: Raster, layout: Layout, line: { y: number; label: string }): void {
  const label = String(line.label ?? '');
  if (!label) return;
  const y = Math.round(yPixel(layout, line.y));
  const width = textWidth(label);
  const x = layout.frame.x + layout.frame.width - width - 6;
  const above = y - 4 - textHeight();
  const top = above >= layout.frame.y + 1 ? above : y + 4;
  raster.fillRect({ x: x - 2, y: top - 2, width: width + 4, height: textHeight() + 4 }, WHITE);
  drawString(raster, label, x, top, REFERENCE_COLOR);
}

function drawLegend(raster: Raster, layout: Layout): void {
  const mask = new StrokeMask(raster, { x: 0, y: 0, width: raster.width, height: layout.frame.y });
  layout.legendRows.forEach((row, r) => {
    const top = layout.legendTop + r * LEGEND_ROW;
    let x = Math.floor((raster.width - rowWidth(row)) / 2);
    for (const item of row) {
      const mid = top + Math.floor(textHeight() / 2) + 0.5;
      strokePolyline(
        mask,
        [
          [x + 1, mid],
          [x + LEGEND_SWATCH - 1, mid],
        ],
        LINE_WIDTH,
        item.dashed ? [6, 4] : undefined,
      );
      mask.paint(item.color);
      drawString(raster, item.name, x + LEGEND_SWATCH + 5, top, TEXT_COLOR);
      x += legendItemWidth(item) + LEGEND_GAP;
    }
  });
}

function drawTitleAndLabels(raster: Raster, spec: ValidChart, layout: Layout): void {
  const { frame } = layout;
  const titleX = Math.floor((raster.width - textWidth(spec.title, TITLE_SCALE)) / 2);
  drawString(raster, spec.title, titleX, PAD, TEXT_COLOR, TITLE_SCALE);
  const xLabelX = frame.x + Math.floor((frame.width - textWidth(spec.xLabel)) / 2);
  drawString(raster, spec.xLabel, xLabelX, raster.height - PAD - textHeight(), TEXT_COLOR);
  const yLabelBottom = frame.y + Math.floor((frame.height + textWidth(spec.yLabel)) / 2);
  drawString(raster, spec.yLabel, PAD, yLabelBottom, TEXT_COLOR, 1, 'up');
}

function drawCentered(raster: Raster, text: string, area: Rect, color: Rgb): void {
  const x = area.x + Math.floor((area.width - textWidth(text)) / 2);
  const y = area.y + Math.floor((area.height - textHeight()) / 2);
  drawString(raster, text, x, y, color);
}

function drawString(raster: Raster, text: string, x: number, y: number, color: Rgb, scale = 1, direction: TextDirection = 'right'): void {
  const sink: PixelSink = (px, py) => raster.set(px, py, color);
  drawText(sink, text, x, y, scale, direction);
}
