import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barFigureSpec } from '../../src/report/barChart.js';
import { renderChart } from '../../src/report/chartRender.js';
import { lineFigureSpec } from '../../src/report/lineChart.js';
import { colorsFor, legendDomain, SERIES_COLORS } from '../../src/report/seriesColors.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PNG's size from its IHDR, and the SVG's from its root element. */
function sizes(svg: string, png: Buffer) {
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
  const root = /^<svg [^>]*width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(root, 'the SVG states its size');
  return { png: { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }, svg: { width: Number(root[1]), height: Number(root[2]) } };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** A figure drawn by vega and resvg, the libraries the reports use: what a reader must find in it. */
describe('charts (Vega-Lite specs rendered by vega and resvg)', () => {
  it('draws a line chart with its title, axis titles, legend, a gap, a dashed series and the SLA line', async () => {
    const { svg, png } = await renderChart(
      lineFigureSpec({
        title: 'testbed · bursty: p99 latency',
        xTitle: 'time (s)',
        yTitle: 'p99 latency (ms)',
        panels: [
          {
            series: [
              {
                name: 'ipa',
                points: [
                  [0, 50],
                  [1, 60],
                  [2, Number.NaN],
                  [3, 70],
                ],
              },
              {
                name: 'forecast',
                points: [
                  [0, 40],
                  [3, 80],
                ],
                dashed: true,
              },
            ],
            hLines: [{ at: 200, label: 'SLA 200 ms' }],
          },
        ],
      }),
    );
    for (const text of ['testbed · bursty: p99 latency', 'time (s)', 'p99 latency (ms)', 'ipa', 'forecast', 'SLA 200 ms']) {
      assert.ok(svg.includes(`>${text}<`), `the SVG shows "${text}"`);
    }
    assert.ok(svg.includes('stroke-dasharray="7,5"'), 'the dashed series is dashed');
    assert.ok(svg.includes('stroke-dasharray="6,4"'), 'the reference line is dashed its own way');
    const size = sizes(svg, png);
    assert.deepEqual(size.png, { width: size.svg.width * 2, height: size.svg.height * 2 }, 'the PNG is the SVG at twice the size');
  });

  it('lays panels out in a grid with one legend for all, each panel titled', async () => {
    const panel = (title: string, offset: number) => ({
      title,
      series: ['ipa', 'hpa'].map((name, i) => ({ name, points: [0, 1, 2].map((t): [number, number] => [t, offset + i + t]) })),
    });
    const { svg, png } = await renderChart(
      lineFigureSpec({
        title: 'video: cost per second',
        subtitle: 'patterns bursty, steady-low, steady-high, fluctuating',
        xTitle: 'time (s)',
        yTitle: 'cost (1 per core, 24 per GPU)',
        panels: [panel('bursty', 0), panel('steady-low', 5), panel('steady-high', 10), panel('fluctuating', 15)],
        legendTitle: 'policy',
      }),
    );
    for (const title of ['bursty', 'steady-low', 'steady-high', 'fluctuating']) assert.equal(count(svg, `>${title}<`), 1, title);
    assert.equal(count(svg, '>ipa<'), 1, 'one legend');
    assert.equal(count(svg, '>cost (1 per core, 24 per GPU)<'), 4, 'every panel has its y title');
    const size = sizes(svg, png);
    assert.ok(size.svg.width > 800 && size.svg.height > 400, `two columns, two rows: ${size.svg.width}×${size.svg.height}`);
  });

  it('draws grouped bars per metric, a policy in the same colour as in the line charts', async () => {
    const bars = (scale: number) =>
      ['bursty', 'fluctuating'].flatMap((group) => ['ipa', 'fa2-low'].map((series, i) => ({ group, series, value: scale * (i + 1) })));
    const spec = barFigureSpec({
      title: 'video: per-policy averages',
      groupTitle: 'pattern',
      metrics: [
        { title: 'mean cost (1 per core, 24 per GPU)', bars: bars(10) },
        { title: 'SLA violations (% of requests)', bars: bars(0.5) },
      ],
      legendOrder: ['fa2-low', 'ipa'],
    });
    const { svg, png } = await renderChart(spec);
    for (const text of [
      'video: per-policy averages',
      'pattern',
      'mean cost (1 per core, 24 per GPU)',
      'SLA violations (% of requests)',
      'ipa',
      'fa2-low',
    ])
      assert.ok(svg.includes(`>${text}<`), `the SVG shows "${text}"`);
    assert.ok(count(svg, 'role-mark') >= 2, 'bars drawn');
    sizes(svg, png);
    const color = JSON.stringify(spec).match(/"range":\[("#[0-9a-f]+",?)+\]/)?.[0];
    assert.equal(color, `"range":${JSON.stringify(colorsFor(['fa2-low', 'ipa']))}`, 'legend order decides the colours');
  });

  it('orders a legend by the given order first, then as the names appear, and cycles the palette', () => {
    assert.deepEqual(legendDomain(['hpa', 'ipa', 'rim', 'hpa'], ['ipa', 'fa2-low', 'hpa']), ['ipa', 'hpa', 'rim']);
    const many = Array.from({ length: SERIES_COLORS.length + 1 }, (_, i) => `p${i}`);
    assert.equal(colorsFor(many)[SERIES_COLORS.length], SERIES_COLORS[0]);
  });
});
