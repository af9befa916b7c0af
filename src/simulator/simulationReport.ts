import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyName } from '../adapt/policy.js';
import { roundTo } from '../common/roundTo.js';
import { formatNumber, table } from '../common/table.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { type Figure, figureFiles } from '../report/chartRender.js';
import { htmlReport } from '../report/htmlReport.js';
import { markdownTable } from '../report/markdownTable.js';
import type { ArrivalMode } from './arrivals.js';
import { goalLine, goalsFor } from './goals.js';
import { besideThePaper, loadPaperResults, type PaperResults } from './paperComparison.js';
import type { EvaluationSettings, PolicyRun } from './policyEvaluation.js';
import type { RunSummary } from './runSummary.js';
import type { SecondSeries } from './secondStats.js';
import type { PatternResult } from './simulation.js';
import { simulationFigures } from './simulationFigures.js';

export interface ReportContext {
  spec: PipelineSpec;
  profiles: ProfileSet;
  settings: EvaluationSettings;
  /** Which forecaster answered (the LSTM, or why a fallback did). */
  forecasterNote: string;
  /** The arrivals the pipeline's spec declares for its live traffic, when the policies planned for others. */
  specArrivals?: PipelineSpec['arrivals'];
}

const ARRIVALS_TEXT: Record<ArrivalMode, string> = {
  exponential:
    "Requests arrive as IPA's load generator sends them: each second's requests at independent exponential offsets (mean 1/load), so they bunch up at the start of the second.",
  uniform:
    'Requests arrive spread uniformly over each second (a Poisson process given the count), not as IPA’s load generator bunches them.',
  equal: 'Requests arrive evenly spaced within each second (IPA’s `equal` mode).',
};

const PLAN_TEXT: Record<PipelineSpec['arrivals'], string> = {
  steady: "IPA's model: batches fill at the mean rate, no queueing",
  poisson: 'batches fill at the mean rate and wait for a free replica as in M/M/c, at the latency percentile',
  'poisson-mgc':
    "batches fill at the mean rate and wait for a free replica as in M/G/c with the profile's spread, at the latency percentile",
  bursty: "each second's requests together, served in waves",
};

const SUMMARY_HEADER = [
  'policy',
  'mean PAS',
  'mean cost',
  'SLA violations %',
  'p99 latency ms',
  'p50 latency ms',
  'dropped',
  'seconds p99 ≤ SLA %',
  'reconfigurations',
  'infeasible',
];

const summaryRow = (r: PolicyRun): (string | number)[] => {
  const s = r.summary;
  return [
    r.policy,
    s.meanPas.toFixed(4),
    roundTo(s.meanCost, 2),
    roundTo(s.violationPercent, 2),
    roundTo(s.p99Ms, 1),
    roundTo(s.p50Ms, 1),
    s.dropped,
    roundTo(s.secondsP99WithinSlaPercent, 1),
    s.reconfigurations,
    s.infeasible,
  ];
};

const summariesOf = (result: PatternResult) =>
  Object.fromEntries(result.runs.map((r) => [r.policy, r.summary])) as Partial<Record<PolicyName, RunSummary>>;

function loadLine(result: PatternResult): string {
  const loads = result.pattern.loads;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  for (const v of loads) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return `${formatNumber(loads.length)} s, ${formatNumber(sum)} requests, load ${min}–${max} requests/s (mean ${formatNumber(sum / loads.length)})`;
}

/** The per-pattern summary tables and goal lines, for the terminal. */
export function renderSummaryText(results: readonly PatternResult[]): string {
  return results
    .map((result) => {
      const goals = goalsFor(summariesOf(result));
      return [
        `${result.pattern.name}: ${loadLine(result)}`,
        table(SUMMARY_HEADER, result.runs.map(summaryRow)),
        ...(goals.length > 0 ? [`goals: ${goalLine(goals)}`] : []),
      ].join('\n');
    })
    .join('\n\n');
}

function renderMarkdown(
  results: readonly PatternResult[],
  context: ReportContext,
  figures: readonly Figure[],
  paper: PaperResults,
): string {
  const { spec, profiles, settings } = context;
  const descriptions = new Map(results.flatMap((r) => r.runs.map((run) => [run.policy, run.description] as const)));
  const lines = [
    `# Simulation: pipeline ${spec.name}`,
    '',
    `${spec.stages.map((s) => s.name).join(' → ')}; SLA ${formatNumber(spec.slaMs)} ms; PAS ${spec.pas}; ` +
      `α ${spec.objective.alpha}, β ${spec.objective.beta}, γ ${spec.objective.gamma}; profiles ${profiles.name} (${profiles.version}).`,
    '',
    `Every ${settings.intervalSeconds} s each policy decides with the workflow's optimizer on the last 120 s of load ` +
      `(forecaster ${settings.forecaster}, provisioned for the ${settings.provision === 'upper' ? 'upper band' : 'forecast'}; ${context.forecasterNote}), ` +
      `planning for ${spec.arrivals} arrivals (${PLAN_TEXT[spec.arrivals]})` +
      `${context.specArrivals && context.specArrivals !== spec.arrivals ? `, not the spec's ${context.specArrivals}` : ''}. ` +
      `The first decision, at 0 s, sees the 120 s of trace before the pattern and is the deployment the run starts with. ` +
      `${ARRIVALS_TEXT[settings.arrivals]} ` +
      `Each stage batches (with the batch timeout its config chose, at most ${formatNumber(spec.limits.maxBatchWaitMs)} ms) in front of its replicas, whose batch times are lognormal ` +
      `fits of the profile's p50 and p99. New replicas serve ${formatNumber(settings.reconfigurationDelaySeconds)} s after a decision; ` +
      `removed ones finish their batch. A request still queued ${formatNumber(settings.dropLimitMs)} ms after it arrived is dropped. ` +
      `SLA violations are completions over the SLA plus drops. Cost is Σ replicas × (cpu × ${spec.cost.cpu} + gpu × ${spec.cost.gpu}), ` +
      `counted from the decision that asks for a replica until it is gone; PAS is per completed request, from the variants that served it. Seed ${settings.seed}.`,
    '',
    'Policies:',
    '',
    ...[...descriptions.entries()].map(([name, text]) => `- **${name}**: ${text}`),
  ];
  for (const result of results) {
    const goals = goalsFor(summariesOf(result));
    lines.push('', `## ${result.pattern.name}`, '', loadLine(result), '', markdownTable(SUMMARY_HEADER, result.runs.map(summaryRow)));
    const rim = result.runs.find((r) => r.policy === 'rim')?.start;
    if (rim) lines.push('', `RIM's fixed replicas: ${rim.stages.map((s) => `${s.stage} ×${s.replicas}`).join(', ')}.`);
    if (goals.length > 0) lines.push('', `Goals: ${goalLine(goals)}.`);
  }
  const beside = besideThePaper(paper, spec.name, results);
  if (beside.length > 0) lines.push('', ...beside);
  lines.push('', '## Figures', '', ...figures.flatMap((f) => [`![${f.title}](${f.name}.png)`, '']));
  return `${lines.join('\n')}\n`;
}

/** Per-second values with 3 decimals at most; NaN (a second without completions) becomes null. */
const compact = (values: ArrayLike<number>) =>
  Array.from(values as ArrayLike<number>, (v) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null));

function seriesOf(series: SecondSeries): Record<string, (number | null)[]> {
  const { seconds: _seconds, ...columns } = series;
  return Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, compact(values)]));
}

function seriesJson(results: readonly PatternResult[], context: ReportContext) {
  return {
    pipeline: context.spec.name,
    slaMs: context.spec.slaMs,
    profiles: { name: context.profiles.name, version: context.profiles.version },
    settings: context.settings,
    forecaster: context.forecasterNote,
    patterns: Object.fromEntries(
      results.map((result) => [
        result.pattern.name,
        {
          seconds: result.pattern.loads.length,
          load: Array.from(result.pattern.loads),
          forecasts: result.forecasts,
          policies: Object.fromEntries(
            result.runs.map((run) => [
              run.policy,
              { description: run.description, summary: run.summary, decisions: run.decisions, perSecond: seriesOf(run.series) },
            ]),
          ),
        },
      ]),
    ),
  };
}

/** Writes report.md, report.html, series.json and the plots into `dir`; returns the files written. */
export async function writeSimulationReport(dir: string, results: readonly PatternResult[], context: ReportContext): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const figures = await simulationFigures(results, context.spec);
  const files: string[] = [];
  const write = async (name: string, content: string | Buffer) => {
    await writeFile(join(dir, name), content);
    files.push(join(dir, name));
  };
  const markdown = renderMarkdown(results, context, figures, await loadPaperResults());
  await write('report.md', markdown);
  await write('report.html', htmlReport(markdown, figures));
  await write('series.json', `${JSON.stringify(seriesJson(results, context))}\n`);
  for (const [file, content] of figures.flatMap(figureFiles)) await write(file, content);
  return files;
}
