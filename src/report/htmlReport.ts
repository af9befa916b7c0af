import { marked } from 'marked';
import type { Figure } from './chartRender.js';

const STYLE = `
body { font-family: 'DejaVu Sans', system-ui, sans-serif; max-width: 1500px; margin: 2em auto; padding: 0 1.5em; color: #222; line-height: 1.45; }
h1, h2, h3 { line-height: 1.2; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #f7f7f7; }
code { background: #f3f3f3; padding: 0 0.2em; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
`;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/**
 * The report as one HTML page a person opens: report.md's text and tables, each figure inline as
 * its SVG where report.md links its PNG, so the page needs no other file.
 */
export function htmlReport(markdown: string, figures: readonly Figure[]): string {
  const byFile = new Map(figures.map((f) => [`${f.name}.png`, f]));
  const inlined = markdown.replace(/^!\[([^\]]*)\]\(([^)]+)\)$/gm, (line, _alt: string, file: string) => {
    const figure = byFile.get(file);
    if (!figure) return line;
    // A blank line either side keeps it an HTML block, which marked passes through as it is.
    return `\n<figure id="${escapeHtml(figure.name)}">${figure.svg}<figcaption>${escapeHtml(figure.title)} (<a href="${escapeHtml(file)}">PNG</a>)</figcaption></figure>\n`;
  });
  const title = /^# (.+)$/m.exec(markdown)?.[1] ?? 'ipa report';
  const body = marked.parse(inlined, { async: false, gfm: true });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
