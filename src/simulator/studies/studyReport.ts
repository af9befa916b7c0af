import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { figureFiles } from '../../report/chartRender.js';
import { htmlReport } from '../../report/htmlReport.js';
import { markdownTable } from '../../report/markdownTable.js';
import type { Study } from './study.js';

export function studyMarkdown(study: Study): string {
  return [
    `# ${study.title}`,
    '',
    ...study.intro.flatMap((p) => [p, '']),
    markdownTable(study.header, study.rows),
    '',
    ...study.findings.flatMap((p) => [p, '']),
    ...study.figures.flatMap((f) => [`![${f.title}](${f.name}.png)`, '']),
  ].join('\n');
}

/** Writes report.md, report.html and the study's figures into `dir`; returns the files written. */
export async function writeStudyReport(dir: string, study: Study): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const markdown = studyMarkdown(study);
  const files: Array<[string, string | Buffer]> = [
    ['report.md', markdown],
    ['report.html', htmlReport(markdown, study.figures)],
    ...study.figures.flatMap(figureFiles),
  ];
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return files.map(([name]) => join(dir, name));
}
