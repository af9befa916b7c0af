import { displayWidth, padEndTo, padStartTo, terminalWidth, wrapText } from './terminalText.js';

/** How one column of a table gives way when the table is wider than it may be. */
export interface TableColumn {
  /** Lower is more important; the highest goes first when columns must be dropped. Without one, never dropped. */
  priority?: number;
  /** Its text may wrap onto continuation lines within the column, down to this many columns wide. */
  wrapMin?: number;
}

export interface TableOptions {
  /** Display columns every line must fit: default the terminal's, 100 when stdout is not one. */
  width?: number;
  /** Per column (by index), how it gives way; a table without any never wraps nor drops. */
  columns?: (TableColumn | undefined)[];
}

const GAP = 2;
/** A cell that stands for "no value": it leaves a column of numbers numeric. */
const PLACEHOLDERS = new Set(['–', '']);

/** Below its `wrapMin` a wrapping column narrows only when nothing is left to drop. */
const WRAP_FLOOR = 8;

/**
 * Narrows the widest wrapping column, one display column at a time, down to `floor(column)`,
 * until the kept columns fit `width`; returns the columns still too many.
 */
function narrow(
  widths: number[],
  kept: number[],
  columns: (TableColumn | undefined)[],
  width: number,
  floor: (min: number) => number,
): number {
  let excess = kept.reduce((t, c) => t + (widths[c] as number), 0) + GAP * (kept.length - 1) - width;
  while (excess > 0) {
    let widest: number | undefined;
    for (const c of kept) {
      const min = columns[c]?.wrapMin;
      if (min === undefined || (widths[c] as number) <= floor(min)) continue;
      if (widest === undefined || (widths[c] as number) > (widths[widest] as number)) widest = c;
    }
    if (widest === undefined) break;
    widths[widest] = (widths[widest] as number) - 1;
    excess -= 1;
  }
  return excess;
}

/**
 * Which columns to keep and how wide each is, so that the table fits `width` if it can: wrapping
 * columns narrow to their `wrapMin`, then columns go, least important (and rightmost) first, and
 * when none is left to drop the wrapping columns narrow further.
 */
function fit(natural: number[], columns: (TableColumn | undefined)[], width: number): { kept: number[]; widths: number[] } {
  const kept = natural.map((_, c) => c);
  for (;;) {
    const widths = [...natural];
    if (narrow(widths, kept, columns, width, (min) => min) <= 0) return { kept, widths };
    let drop: number | undefined;
    for (const c of kept) {
      const p = columns[c]?.priority;
      if (p !== undefined && (drop === undefined || p >= (columns[drop]?.priority as number))) drop = c;
    }
    if (drop === undefined) {
      narrow(widths, kept, columns, width, (min) => Math.min(min, WRAP_FLOOR));
      return { kept, widths };
    }
    kept.splice(kept.indexOf(drop), 1);
  }
}

/**
 * Plain-text columns for terminal output: numbers right-aligned, text left-aligned, aligned by
 * display width (so `λ̂` takes one column). With `columns`, a table wider than `width` wraps its
 * wrapping columns onto continuation lines and then drops columns, least important first.
 */
export function table(header: string[], rows: (string | number)[][], options: TableOptions = {}): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const numeric = header.map(
    (_, c) =>
      rows.some((r) => typeof r[c] === 'number') && rows.every((r) => typeof r[c] === 'number' || PLACEHOLDERS.has(String(r[c] ?? ''))),
  );
  const natural = header.map((_, c) => Math.max(...cells.flatMap((r) => (r[c] ?? '').split('\n').map(displayWidth))));
  const columns = options.columns ?? [];
  const { kept, widths } =
    columns.length > 0 ? fit(natural, columns, options.width ?? terminalWidth()) : { kept: header.map((_, c) => c), widths: natural };
  return cells
    .flatMap((r) => {
      const wrapped = kept.map((c) => {
        const cell = r[c] ?? '';
        const w = widths[c] as number;
        return cell.split('\n').flatMap((line) => (displayWidth(line) > w ? wrapText(line, w) : [line]));
      });
      const height = Math.max(...wrapped.map((lines) => lines.length));
      return Array.from({ length: height }, (_, line) =>
        kept
          .map((c, k) => {
            const cell = wrapped[k]?.[line] ?? '';
            return numeric[c] ? padStartTo(cell, widths[c] as number) : padEndTo(cell, widths[c] as number);
          })
          .join(' '.repeat(GAP))
          .trimEnd(),
      );
    })
    .join('\n');
}

export function formatNumber(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 1) });
}
