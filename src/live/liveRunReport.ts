import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { roundTo } from '../common/roundTo.js';
import { formatNumber } from '../common/table.js';
import { type Figure, figureFiles } from '../report/chartRender.js';
import { htmlReport } from '../report/htmlReport.js';
import { markdownTable } from '../report/markdownTable.js';
import type { LiveExperiment, LiveRun } from './liveExperiment.js';
import { liveRunCharts } from './liveRunCharts.js';
import { liveGoals } from './liveRunGoals.js';
import { conserved } from './liveRunSummary.js';
import type { ServingFigures } from './servingReplay.js';
import { LOCAL_RECONFIGURATION_DELAY_SECONDS, type ReconfigurationDelay } from './simulatedLiveRun.js';

/** What the report says beyond the experiment: how it was started and where its loops ran. */
export interface LiveReportContext {
  command: string;
  temporal: string;
}

const f = (n: number, digits = 2) => (Number.isFinite(n) ? formatNumber(roundTo(n, digits), digits) : '–');

/** How far the simulator is from the measurement: a difference in points for a share, a relative one otherwise. */
function gap(measured: number, simulated: number, kind: 'points' | 'relative'): string {
  if (!Number.isFinite(measured) || !Number.isFinite(simulated)) return '–';
  if (kind === 'points') return `${simulated - measured >= 0 ? '+' : ''}${f(simulated - measured)} pp`;
  if (measured === 0) return simulated === 0 ? '0 %' : '–';
  const pct = (100 * (simulated - measured)) / measured;
  return `${pct >= 0 ? '+' : ''}${f(pct, 1)} %`;
}

function decisionsLine(run: LiveRun): string {
  const applied = run.decisions.filter((d) => d.outcome === 'applied' || d.outcome === 'fallback').length;
  const configs = [...new Set(run.decisions.map((d) => d.label).filter((l): l is string => l !== undefined))];
  const methods = new Map<string, number>();
  for (const d of run.decisions) if (d.forecastMethod) methods.set(d.forecastMethod, (methods.get(d.forecastMethod) ?? 0) + 1);
  const simulatedMethods = new Map<string, number>();
  for (const d of run.simulated.run.decisions) simulatedMethods.set(d.method, (simulatedMethods.get(d.method) ?? 0) + 1);
  const list = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
  return (
    `${run.decisions.length} steps, ${applied} applied a change (the simulator: ${run.simulated.run.summary.reconfigurations} of ` +
    `${run.simulated.run.summary.decisions}); forecasts by ${list(methods)} (the simulator: ${list(simulatedMethods)}); ` +
    `configs run: ${configs.map((c) => `\`${c}\``).join('; ') || 'none recorded'}`
  );
}

function policySection(run: LiveRun): string {
  const r = run.result;
  const s = r.simulated;
  const rows: (string | number)[][] = [
    ['SLA violations %', f(r.violationsPct, 3), f(s.violationsPct, 3), gap(r.violationsPct, s.violationsPct, 'points')],
    ['p99 latency ms', f(r.p99Ms, 1), f(s.p99Ms, 1), gap(r.p99Ms, s.p99Ms, 'relative')],
    ['core-seconds', f(r.coreSeconds, 1), f(s.coreSeconds, 1), gap(r.coreSeconds, s.coreSeconds, 'relative')],
    ['mean PAS', f(r.meanPas, 4), f(s.meanPas, 4), gap(r.meanPas, s.meanPas, 'relative')],
  ];
  const accounted = conserved(r)
    ? `every request accounted for: sent ${r.sent} = ok ${r.ok} + dropped ${r.dropped} + errors ${r.errors}`
    : `**NOT ACCOUNTED**: sent ${r.sent} ≠ ok ${r.ok} + dropped ${r.dropped} + errors ${r.errors}`;
  return [
    `### ${r.policy}`,
    '',
    `${run.simulated.run.description}. Loop \`${run.workflowId}\`${run.aborted ? ' (**aborted** before the end of the replay)' : ''}.`,
    '',
    markdownTable(['', 'measured', 'simulated', 'simulated − measured'], rows),
    '',
    `- ${accounted}; p50 ${f(r.p50Ms, 1)} ms; errors are not violations (see below)`,
    `- ${decisionsLine(run)}`,
    `- ${delayLine(run.reconfigurationDelay)}`,
    `- machine load average (1 min) during the replay: mean ${f(run.loadAverage.mean)}, max ${f(run.loadAverage.max)} on ${cpus().length} cores`,
  ].join('\n');
}

function delayLine(delay: ReconfigurationDelay): string {
  return delay.measured > 0
    ? `the simulator's reconfiguration delay: ${f(delay.seconds, 1)} s, the median the local actuator measured from an apply to its new replicas serving over this run's ${delay.measured} apply(s) that started replicas`
    : `the simulator's reconfiguration delay: ${LOCAL_RECONFIGURATION_DELAY_SECONDS} s (bench:serving's): no apply of this run started a replica`;
}

/**
 * The runs side by side, measured and simulated: a header and a row per run, each figure passed
 * through `figure` (rounded for the report; as it is for the terminal, whose table formats numbers).
 */
export function overviewTable(
  runs: readonly LiveRun[],
  figure: (n: number, digits: number) => string | number,
): [string[], (string | number)[][]] {
  const header = [
    ...['policy', 'sent', 'ok', 'dropped', 'errors'],
    ...['violations %', 'sim. violations %', 'p99 ms', 'sim. p99 ms', 'core-s', 'sim. core-s', 'PAS', 'sim. PAS'],
  ];
  const rows = runs.map(({ result: r }) => [
    ...[r.policy, r.sent, r.ok, r.dropped, r.errors],
    ...[figure(r.violationsPct, 3), figure(r.simulated.violationsPct, 3), figure(r.p99Ms, 1), figure(r.simulated.p99Ms, 1)],
    ...[figure(r.coreSeconds, 1), figure(r.simulated.coreSeconds, 1), figure(r.meanPas, 4), figure(r.simulated.meanPas, 4)],
  ]);
  return [header, rows];
}

/**
 * Per policy, the gap between measurement and simulation taken apart (servingReplay.ts): the
 * simulator serving the run's own configs isolates the serving model; the requests sent while new
 * replicas were starting show what a rollout costs on this machine.
 */
export function partingTable(runs: readonly LiveRun[]): [string[], (string | number)[][]] {
  const header = [
    'policy',
    'measured p50 / p99 ms, viol. %',
    "sim. on the run's configs",
    'sim. deciding itself',
    'measured, sent during rollouts',
    'measured, the rest',
    'outside the gateway p50 / p99 ms',
  ];
  const cell = (x: { p50Ms: number; p99Ms: number; violationsPct: number }) =>
    `${f(x.p50Ms, 1)} / ${f(x.p99Ms, 1)}, ${f(x.violationsPct, 3)}`;
  const withCount = (x: ServingFigures) => (x.requests > 0 ? `${cell(x)} (${x.requests} req.)` : '–');
  const rows = runs.map((run) => [
    run.result.policy,
    cell(run.result),
    cell(run.servedAsRun),
    cell({ ...run.simulated.run.summary, violationsPct: run.simulated.run.summary.violationPercent }),
    withCount(run.rollouts.during),
    withCount(run.rollouts.outside),
    run.outsideGateway ? `${f(run.outsideGateway.p50Ms, 1)} / ${f(run.outsideGateway.p99Ms, 1)}` : '–',
  ]);
  return [header, rows];
}

function renderMarkdown(e: LiveExperiment, context: LiveReportContext, figures: readonly Figure[]): string {
  const slaMs = e.runs[0]?.result.slaMs;
  const versions = [...new Set(e.runs.map((r) => r.profilesVersion).filter((v): v is string => v !== undefined))];
  const overview = markdownTable(...overviewTable(e.runs, f));
  return [
    `# Live run: ${e.pattern} on ${e.pipeline}`,
    '',
    `\`${context.command}\`, started ${e.startedAt}${e.aborted ? ' (**aborted**: the runs below are what was done)' : ''}.`,
    '',
    `- load: IPA's ${e.pattern} pattern, the whole of it in ${f(e.plan.minutes)} min per policy (speed ${f(e.plan.speed, 3)}), ` +
      `its busiest second at ${f(e.peakRps, 1)} requests/s, Poisson arrivals within each second, seed ${e.seed}`,
    `- loop: every ${e.intervalSeconds} s, local actuator, load observed from Prometheus; rim, static and hpa sized for ${f(e.peakRps, 1)} requests/s; ` +
      `hpa's scale-down stabilisation ${f(e.plan.hpaStabilizationSeconds, 1)} s (300 s at the run's speed); ` +
      `each loop started after ${e.idleSeconds} s without load`,
    `- planning: for ${e.arrivals} arrivals; a better config is applied when the running one breaks the SLA at the planned load, ` +
      `or when it holds the SLA at the highest load planned in the last ${e.reconfiguration.stabilizationSeconds} s and gains ` +
      `${e.reconfiguration.switchGain} of objective by a switch (${e.reconfiguration.scaleGain} by replicas alone) (the spec's reconfiguration rule)`,
    `- profiles: ${e.profiles.name} \`${e.profiles.version}\`` +
      (versions.some((v) => v !== e.profiles.version) ? `; the loops planned with ${versions.map((v) => `\`${v}\``).join(', ')}` : ''),
    `- Temporal: ${context.temporal}`,
    `- machine: ${cpus().length} cores; load average (1 min) per run below`,
    '',
    '## Measured and simulated',
    '',
    overview,
    '',
    '## Where they part',
    '',
    markdownTable(...partingTable(e.runs)),
    '',
    "Serving the run's own configs (at the times its loop applied them, with its reconfiguration delay), the simulator " +
      'isolates its serving model: the profile rows as service times, its batching, no gateway hop, a machine of its own. ' +
      'What is left between that column and the simulated one is deciding: its own forecasts, hence its own configs and their timing. ' +
      `Outside the gateway is each answer's latency less the gateway's own handling (its Server-Timing): the client's late sends, its HTTP work and the hop, which the plan keeps ${f(e.overheadMs, 1)} ms of the SLA for (the spec's overheadMs). ` +
      'Rollouts are the seconds from a step whose apply started replicas to them serving: capacity the new config adds is not there yet, and a starting MLServer shares the cores of the machine (at the lowest CPU weight) with those serving.',
    '',
    '## Goals',
    '',
    ...liveGoals(e.runs.map((r) => r.result)).map((g) => `- ${g.held ? 'held' : '**missed**'}: ${g.text}`),
    '',
    ...e.runs.flatMap((run) => [policySection(run), '']),
    '## How the figures are made',
    '',
    `- A violation is an answer later than the SLA (${slaMs ?? '–'} ms) or a request the gateway dropped (queued longer than 1.5 × SLA). ` +
      'Errors (no answer, another failure status) are counted apart and are not violations: the simulator has no such outcome.',
    "- Latencies are of the ok answers, from each request's scheduled send. p99 over the whole run.",
    '- core-seconds: the cores of every replica in replicas.json (starting, serving and draining ones), read every second and held ' +
      'between readings, integrated over the replay. The simulator: its cost rate (cores at 1 per core) over the same seconds.',
    "- mean PAS: the running config's PAS averaged over time. The simulator: the PAS of each second's answers, averaged over the seconds with answers.",
    `- The simulation replays the very requests sent (their send times), decides at the same interval from the same seed with the workflow's defaults, ` +
      "and takes as long from a decision to new replicas serving as the run's own applies did (each policy's section says how long). " +
      "Its decisions come every interval, or later when an apply outlasts the interval: a step waits for its apply, as the live loop's does. " +
      'Its first decision sees 120 s without load; each live loop starts after `--idle` seconds without load ' +
      `(${e.idleSeconds} s here${e.idleSeconds >= 120 ? ', a whole forecaster window: the same start' : ": less than the forecaster's 120-s window, so the live loops' first steps saw a shorter window (the forecaster falls back to the window's max) or the run before's load"}).`,
    '',
    '## Figures',
    '',
    ...figures.flatMap((f) => [`![${f.title}](${f.name}.png)`, '']),
    '',
  ].join('\n');
}

/** Per-second values rounded; NaN (nothing to measure) becomes null. */
const compact = (values: ArrayLike<number>) => Array.from(values, (v) => (Number.isFinite(v) ? roundTo(v, 3) : null));

function seriesJson(e: LiveExperiment) {
  const { runs, ...about } = e;
  return {
    ...about,
    runs: runs.map((run) => ({
      result: run.result,
      workflowId: run.workflowId,
      profilesVersion: run.profilesVersion,
      loadAverage: run.loadAverage,
      aborted: run.aborted,
      perSecond: { sent: run.series.sent, cores: compact(run.series.cores), pas: compact(run.series.pas) },
      intervals: run.series.intervals.map((i) => ({
        fromS: i.fromS,
        toS: i.toS,
        sent: i.sent,
        ok: i.ok,
        dropped: i.dropped,
        errors: i.errors,
        p50Ms: i.p50Ms,
        p99Ms: i.p99Ms,
        violationsPercent: i.violationsPercent,
      })),
      decisions: run.decisions,
      servedAsRun: run.servedAsRun,
      rollouts: run.rollouts,
      simulated: {
        description: run.simulated.run.description,
        settings: run.simulated.settings,
        summary: run.simulated.run.summary,
        decisions: run.simulated.run.decisions,
        perSecond: {
          cost: compact(run.simulated.run.series.cost),
          p99Ms: compact(run.simulated.run.series.p99Ms),
          pas: compact(run.simulated.run.series.pas),
        },
      },
    })),
  };
}

/** series.json as written (JSON turns its NaN into null). */
export type LiveSeriesJson = ReturnType<typeof seriesJson>;

/** Writes report.md, report.html, series.json and the figures into `dir`; returns the files written. */
export async function writeLiveReport(dir: string, e: LiveExperiment, context: LiveReportContext): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const figures = e.runs.length > 0 ? await liveRunCharts(e, e.runs[0]?.result.slaMs ?? 0) : [];
  const files: string[] = [];
  const write = async (name: string, content: string | Buffer) => {
    await writeFile(join(dir, name), content);
    files.push(join(dir, name));
  };
  const markdown = renderMarkdown(e, context, figures);
  await write('report.md', markdown);
  await write('report.html', htmlReport(markdown, figures));
  await write('series.json', `${JSON.stringify(seriesJson(e))}\n`);
  for (const [file, content] of figures.flatMap(figureFiles)) await write(file, content);
  return files;
}
