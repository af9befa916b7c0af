/**
 * A series keeps its colour in every figure of a report: the legend order decides it (the
 * policies in the order they ran), from one palette.
 */

/** Tableau-style hues, minus grey and olive, which read as gridlines or blur into green. */
export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'] as const;

/** The series names in legend order: the given order first, then as they appear. */
export function legendDomain(names: Iterable<string>, order: readonly string[] = []): string[] {
  const seen = [...new Set(names)];
  return [...order.filter((n) => seen.includes(n)), ...seen.filter((n) => !order.includes(n))];
}

/** Colours for a legend domain, cycling the palette. */
export const colorsFor = (domain: readonly string[]) => domain.map((_, i) => SERIES_COLORS[i % SERIES_COLORS.length] as string);

/** The Vega-Lite colour channel of a figure's series (the field `series`) over `domain`, its legend titled `title`. */
export const seriesColor = (domain: readonly string[], title: string | undefined) => ({
  field: 'series',
  type: 'nominal' as const,
  title: title ?? null,
  scale: { domain: [...domain], range: colorsFor(domain) },
  sort: [...domain],
});
