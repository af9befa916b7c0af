import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A chart as the report writes it: the SVG vega draws and the PNG resvg rasterises from it. */
export interface RenderedChart {
  svg: string;
  png: Buffer;
}

/**
 * One font for layout and raster: vega measures text without a canvas by an estimate for a
 * sans-serif face, and resvg draws with the system's fonts; DejaVu Sans comes with Debian's
 * Chromium (`ipa setup`), and resvg falls back to any sans-serif it finds.
 */
const FONT = 'DejaVu Sans';

/** What every chart shares: white background, one font, no border round the plot area. */
const CONFIG: TopLevelSpec['config'] = {
  background: 'white',
  font: FONT,
  view: { stroke: null },
  title: { fontSize: 15, anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e8e8e8' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320, titleLimit: 320 },
  header: { labelFontSize: 13, labelFontWeight: 'bold' },
};

/** Scale of the PNG against the SVG's CSS pixels: sharp on high-density screens and in print. */
const PNG_ZOOM = 2;

/** Renders a Vega-Lite spec to SVG (vega, headless) and PNG (resvg). */
export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const { spec: vegaSpec } = compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec);
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
      fitTo: { mode: 'zoom', value: PNG_ZOOM },
      background: 'white',
    })
      .render()
      .asPng();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** A report's figure: written as NAME.svg and NAME.png, shown under its title. */
export interface Figure extends RenderedChart {
  name: string;
  title: string;
}

export async function renderFigure(name: string, title: string, spec: TopLevelSpec): Promise<Figure> {
  return { name, title, ...(await renderChart(spec)) };
}

/** The files of figures, as report writers write them. */
export const figureFiles = (figure: Figure): Array<[file: string, content: string | Buffer]> => [
  [`${figure.name}.png`, figure.png],
  [`${figure.name}.svg`, figure.svg],
];
