import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, inflateSync } from 'node:zlib';
import { type LineChart, REFERENCE_COLOR, renderLineChart, SERIES_PALETTE } from '../../src/report/lineChart.js';

type Rgb = readonly [number, number, number];

interface Image {
  width: number;
  height: number;
  rgb(x: number, y: number): Rgb;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const WHITE: Rgb = [255, 255, 255];
const FIRST: Rgb = SERIES_PALETTE[0] ?? WHITE;

/** Just enough PNG decoding for what the renderer writes: 8-bit RGB, every row filter type 0. */
function decodePng(png: Buffer): Image {
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    assert.equal(png.readUInt32BE(offset + 8 + length), crc32(png.subarray(offset + 4, offset + 8 + length)), `${type} CRC`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 2, 0, 0, 0], 'bit depth 8, RGB, no interlace');
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3 + 1;
  assert.equal(raw.length, height * stride);
  for (let y = 0; y < height; y++) assert.equal(raw[y * stride], 0, `row ${y} filter type`);
  return {
    width,
    height,
    rgb: (x, y) => {
      const i = y * stride + 1 + x * 3;
      return [raw[i] ?? -1, raw[i + 1] ?? -1, raw[i + 2] ?? -1];
    },
  };
}

/** Flat x, y, x, y, … numbers as points, which stays on one line where nested arrays would not. */
function pairs(...values: number[]): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (let i = 0; i + 1 < values.length; i += 2) points.push([values[i] ?? 0, values[i + 1] ?? 0]);
  return points;
}

function render(overrides: Partial<LineChart>): Image {
  return decodePng(renderLineChart({ title: 'T', xLabel: 'x', yLabel: 'y', series: [], ...overrides }));
}

function same(a: Rgb, b: Rgb): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

function rowsWith(image: Image, color: Rgb, x: number, fromY = 0, toY = image.height - 1): number[] {
  const rows: number[] = [];
  for (let y = fromY; y <= toY; y++) if (same(image.rgb(x, y), color)) rows.push(y);
  return rows;
}

function countInRow(image: Image, color: Rgb, y: number): number {
  let count = 0;
  for (let x = 0; x < image.width; x++) if (same(image.rgb(x, y), color)) count++;
  return count;
}

/** Rows where a dashed reference line runs: far more pixels of its colour than its label could have. */
function referenceRows(image: Image): number[] {
  const rows: number[] = [];
  for (let y = 0; y < image.height; y++) if (countInRow(image, REFERENCE_COLOR, y) > 100) rows.push(y);
  return rows;
}

/** Separates contiguous row numbers into bands and returns each band's middle row. */
function bandCentres(rows: number[]): number[] {
  const bands: number[][] = [];
  for (const row of rows) {
    const last = bands.at(-1);
    if (last && row - (last.at(-1) ?? 0) <= 1) last.push(row);
    else bands.push([row]);
  }
  return bands.map((band) => Math.round(((band[0] ?? 0) + (band.at(-1) ?? 0)) / 2));
}

/** Leftmost and rightmost columns where the colour shows between two rows. */
function horizontalExtent(image: Image, color: Rgb, fromY: number, toY: number): [number, number] {
  let left = Number.POSITIVE_INFINITY;
  let right = -1;
  for (let x = 0; x < image.width; x++) {
    if (rowsWith(image, color, x, fromY, toY).length > 0) {
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  assert.ok(right >= 0, 'colour never appears');
  return [left, right];
}

function runsInRow(image: Image, color: Rgb, y: number): number {
  let runs = 0;
  let inside = false;
  for (let x = 0; x < image.width; x++) {
    const hit = same(image.rgb(x, y), color);
    if (hit && !inside) runs++;
    inside = hit;
  }
  return runs;
}

describe('renderLineChart', () => {
  it('writes a PNG of the requested size, defaulting to 900×360', () => {
    const png = renderLineChart({ title: 'T', xLabel: 'x', yLabel: 'y', series: [], width: 640, height: 240 });
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [640, 240]);
    const image = render({});
    assert.deepEqual([image.width, image.height], [900, 360]);
  });

  it('has a white background at every corner', () => {
    const image = render({ series: [{ name: 'a', points: pairs(0, 1, 1, 3, 2, 2) }] });
    for (const [x, y] of [
      [0, 0],
      [image.width - 1, 0],
      [0, image.height - 1],
      [image.width - 1, image.height - 1],
    ] as const) {
      assert.deepEqual(image.rgb(x, y), WHITE, `corner ${x},${y}`);
    }
  });

  it('plots a point where the axes say it belongs', () => {
    // Reference lines at y = 0 and y = 100 give the pixel rows of two known values.
    const image = render({
      series: [{ name: 'rise', points: pairs(0, 25, 10, 75) }],
      hLines: [
        { y: 0, label: 'zero' },
        { y: 100, label: 'hundred' },
      ],
    });
    const [top, bottom] = bandCentres(referenceRows(image));
    assert.ok(top !== undefined && bottom !== undefined && bottom - top > 100, `reference rows ${top}, ${bottom}`);
    const rowOf = (value: number) => bottom - ((bottom - top) * value) / 100;
    const [left, right] = horizontalExtent(image, FIRST, top, bottom);
    const middle = Math.round((left + right) / 2);
    const rows = rowsWith(image, FIRST, middle, top, bottom);
    assert.ok(rows.length > 0, 'the line crosses its middle column');
    for (const row of rows) assert.ok(Math.abs(row - rowOf(50)) <= 3, `x=5 drawn at row ${row}, expected ≈${rowOf(50)}`);
    const nearStart = rowsWith(image, FIRST, left + Math.round((right - left) / 10), top, bottom);
    for (const row of nearStart) assert.ok(Math.abs(row - rowOf(30)) <= 3, `x=1 drawn at row ${row}, expected ≈${rowOf(30)}`);
  });

  it('draws reference lines dashed, with gaps between the dashes', () => {
    const image = render({ series: [{ name: 'low', points: pairs(0, 0, 10, 10) }], hLines: [{ y: 100, label: 'SLA' }] });
    const [row] = bandCentres(referenceRows(image));
    assert.ok(row !== undefined, 'the reference line is drawn');
    const dashes = runsInRow(image, REFERENCE_COLOR, row);
    assert.ok(dashes >= 20, `expected many dashes, found ${dashes}`);
  });

  it('draws a dashed series with gaps and a solid one without', () => {
    const flat = (value: number) => pairs(0, value, 10, value);
    const image = render({
      series: [
        { name: 'solid', points: flat(0) },
        { name: 'dashed', points: flat(10), dashed: true },
      ],
    });
    const solidRow = Math.max(...rowsWith(image, FIRST, Math.floor(image.width / 2)));
    assert.equal(runsInRow(image, FIRST, solidRow), 1);
    const second = SERIES_PALETTE[1] ?? WHITE;
    const dashedRows = [...Array(image.height).keys()].filter((y) => countInRow(image, second, y) > 100);
    assert.ok(dashedRows.length > 0, 'the dashed series is drawn');
    assert.ok(runsInRow(image, second, dashedRows[0] ?? 0) >= 20);
  });

  it('draws the title in the top band', () => {
    // The middle third of the top rows: where a centred title goes, clear of the axis and its labels.
    const band = (image: Image) => {
      let dark = 0;
      for (let y = 0; y < 26; y++) {
        for (let x = Math.floor(image.width / 3); x < (2 * image.width) / 3; x++) if (Math.max(...image.rgb(x, y)) < 100) dark++;
      }
      return dark;
    };
    assert.ok(band(render({ title: 'Latency under load' })) > 100);
    assert.equal(band(render({ title: '' })), 0);
  });

  it('skips NaN and infinite points as gaps in the line', () => {
    const image = render({
      series: [
        {
          name: 'gappy',
          points: pairs(0, 5, 1, 5, 2, Number.NaN, 3, 5, 4, 5, 5, Number.POSITIVE_INFINITY, 6, 5, Number.NaN, 7),
        },
      ],
    });
    const [left, right] = horizontalExtent(image, FIRST, 40, image.height - 40);
    const column = (x: number) => Math.round(left + ((right - left) * x) / 6);
    const drawnNear = (x: number) => rowsWith(image, FIRST, column(x), 40, image.height - 40).length > 0;
    assert.ok(drawnNear(0.5) && drawnNear(3.5), 'finite stretches are drawn');
    assert.ok(!drawnNear(2) && !drawnNear(5), 'non-finite points leave gaps');
  });

  it('spaces ticks evenly', () => {
    const image = render({ series: [{ name: 'a', points: pairs(0, 0, 1234, 0.5) }] });
    const grid: Rgb = [232, 232, 232];
    const row = [...Array(image.height).keys()].find((y) => {
      const count = countInRow(image, grid, y);
      return count >= 3 && count < 40;
    });
    assert.ok(row !== undefined, 'vertical gridlines are drawn');
    const columns = [...Array(image.width).keys()].filter((x) => same(image.rgb(x, row), grid));
    const gaps = columns.slice(1).map((x, i) => x - (columns[i] ?? 0));
    assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 1, `gridline gaps ${gaps.join(',')}`);
  });

  it('draws awkward data where it belongs, or nothing', () => {
    // Below the legend (its swatches sit on row 38) and above the x axis' labels: the plot.
    const plotPixels = (image: Image, color: Rgb) => {
      const points: Array<[number, number]> = [];
      for (let y = 40; y < image.height - 40; y++)
        for (let x = 0; x < image.width; x++) if (same(image.rgb(x, y), color)) points.push([x, y]);
      return points;
    };
    const plotted = (overrides: Partial<LineChart>) => {
      const image = render(overrides);
      const points = plotPixels(image, FIRST);
      const xs = points.map(([x]) => x);
      const ys = points.map(([, y]) => y);
      return { image, count: points.length, width: Math.max(...xs) - Math.min(...xs), rows: new Set(ys).size, points };
    };
    const series = (...values: number[]) => ({ series: [{ name: 's', points: pairs(...values) }] });
    // Nothing to draw: no series pixel in the plot.
    assert.equal(plotted({ series: [] }).count, 0, 'no series');
    assert.equal(plotted({ series: [{ name: 'e', points: [] }] }).count, 0, 'an empty series');
    assert.equal(plotted(series(Number.NaN, Number.NaN)).count, 0, 'a series of NaN only');
    // A lone point: a dot, a few pixels wide. Two at the origin of an all-zero plot: at its corner,
    // where the axes cover most of it, but drawn.
    const dot = plotted(series(3, 4));
    assert.ok(dot.count > 0 && dot.width >= 2 && dot.width <= 12, `one point: a dot, ${dot.width} px wide`);
    assert.ok(plotted(series(0, 0, 0, 0)).count > 0, 'all zero: drawn');
    // A flat series, or one whose range is below float resolution: a horizontal line across the plot.
    for (const [name, values] of [
      ['flat', [0, 7, 1, 7, 2, 7]],
      ['tiny range', [0, 1, 1e-300, 1 + 1e-15]],
    ] as const) {
      const line = plotted(series(...values));
      assert.ok(line.rows <= 3 && line.width > 600, `${name}: a horizontal line, ${line.rows} rows, ${line.width} px wide`);
    }
    // Falling and rising lines keep their direction, whatever the scale (y grows downwards).
    const slope = (name: string, values: number[]) => {
      const line = plotted(series(...values));
      assert.ok(line.width > 600 && line.rows > 100, `${name}: a sloped line across the plot`);
      const xs = line.points.map(([x]) => x);
      const [first, last] = [Math.min(...xs), Math.max(...xs)];
      const left = line.points.filter(([x]) => x < first + 5).map(([, y]) => y);
      const right = line.points.filter(([x]) => x > last - 5).map(([, y]) => y);
      return Math.min(...right) - Math.min(...left);
    };
    assert.ok(slope('negative', [-5, -1e3, -1, -2e3]) > 100, 'from −1,000 down to −2,000: the right end is lower');
    assert.ok(slope('huge range', [-1e308, -1.7e308, 1e308, 1.7e308]) < -100, 'from −1.7e308 up to 1.7e308: the right end is higher');
    // A 1×1 image has no room for anything but must not fail; many series take the palette's colours.
    const tiny = render({ width: 1, height: 1, series: [{ name: 'a', points: pairs(0, 1, 1, 2) }] });
    assert.deepEqual([tiny.width, tiny.height], [1, 1]);
    const many = render({ series: Array.from({ length: 20 }, (_, i) => ({ name: `series ${i}`, points: pairs(0, i, 1, i) })) });
    for (const color of SERIES_PALETTE) assert.ok(plotPixels(many, color).length > 0, `palette colour ${color} draws a series`);
  });

  it('rejects bad sizes and series, naming the field and the value', () => {
    const base: LineChart = { title: 'T', xLabel: 'x', yLabel: 'y', series: [] };
    assert.throws(() => renderLineChart({ ...base, width: 0 }), /width.*got 0/);
    assert.throws(() => renderLineChart({ ...base, width: 12.5 }), /width.*got 12\.5/);
    assert.throws(() => renderLineChart({ ...base, width: '900' as unknown as number }), /width.*got "900"/);
    assert.throws(() => renderLineChart({ ...base, height: 8001 }), /height.*got 8001/);
    assert.throws(() => renderLineChart({ ...base, series: null as unknown as LineChart['series'] }), /series.*got null/);
    assert.throws(() => renderLineChart({ ...base, series: [{ name: 'a', points: 'x' as unknown as [] }] }), /series\[0\]\.points/);
  });
});
