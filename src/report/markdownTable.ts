import { formatNumber } from '../common/table.js';

/**
 * A GitHub-flavoured markdown table: the first column left-aligned (names), the others right-
 * aligned (figures); numbers with thousands separators and up to 4 decimals.
 */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cell = (c: string | number) => (typeof c === 'number' ? formatNumber(c, 4) : c);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}
