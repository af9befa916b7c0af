import type { Command } from 'commander';
import { POLICY_NAMES, type PolicyName } from '../adapt/policy.js';
import { table } from '../common/table.js';
import { DEFAULT_MODEL_DIR } from '../forecast/forecast.js';
import { resolveProfileSet } from '../io/load.js';
import { forecastMethod } from '../model/adaptInput.js';
import { arrivalPattern } from '../model/pipelineSpec.js';
import { ARRIVAL_MODES, ARRIVAL_PATTERN_OF } from '../simulator/arrivals.js';
import { PATTERN_NAMES, type PatternName } from '../simulator/loadPatterns.js';
import { loadPaperResults } from '../simulator/paperComparison.js';
import { defaultEvaluationSettings, type EvaluationSettings } from '../simulator/policyEvaluation.js';
import { simulatePolicies } from '../simulator/simulation.js';
import { renderSummaryText, writeSimulationReport } from '../simulator/simulationReport.js';
import { floorStudy } from '../simulator/studies/floorStudy.js';
import { predictorStudy } from '../simulator/studies/predictorStudy.js';
import { scalingStudy } from '../simulator/studies/scalingStudy.js';
import { STUDY_NAMES, type Study } from '../simulator/studies/study.js';
import { writeStudyReport } from '../simulator/studies/studyReport.js';
import { tradeoffStudy } from '../simulator/studies/tradeoffStudy.js';
import { flagError, numberFlag, oneOf, pipelineFlags, positiveIntFlag } from './flags.js';
import { progressBar } from './progress.js';

interface SimulateFlags {
  pipeline?: string;
  profiles?: string;
  pattern: string;
  policies: string;
  out: string;
  seconds?: string;
  seed: string;
  reconfigurationDelay: string;
  dropLimit?: string;
  interval?: string;
  forecaster?: string;
  provision?: string;
  model: string;
  arrivals: string;
  planArrivals?: string;
  study?: string;
  json?: boolean;
}

const DEFAULT_POLICIES: PolicyName[] = ['ipa', 'fa2-low', 'fa2-high', 'rim', 'hpa', 'oracle'];

function policiesFlag(value: string): PolicyName[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0)
    throw flagError('--policies', `expected a comma-separated list of ${POLICY_NAMES.join(', ')}, got ${JSON.stringify(value)}`);
  for (const name of names) {
    if (!POLICY_NAMES.includes(name as PolicyName)) {
      throw flagError('--policies', `unknown policy ${JSON.stringify(name)} (known: ${POLICY_NAMES.join(', ')})`);
    }
  }
  return [...new Set(names as PolicyName[])];
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulate ipa and the baselines on IPA’s load patterns, request by request; write report.md, series.json and plots')
    .option('--pipeline <spec>', 'pipeline: name under profiles/pipelines/ or a spec file')
    .option('--profiles <set>', 'profile set: version, name or file (default: the spec’s)')
    .option('--pattern <name>', `${PATTERN_NAMES.join(', ')} or all`, 'all')
    .option('--policies <list>', `comma-separated, of ${POLICY_NAMES.join(', ')}`, DEFAULT_POLICIES.join(','))
    .option('--out <dir>', 'where report.md, series.json and the plots go', 'simulation')
    .option('--seconds <n>', 'cut every pattern to its first n seconds (default: whole, 1,200 s)')
    .option('--seed <n>', 'seed of arrivals and service times', '1')
    .option('--reconfiguration-delay <s>', 'seconds from a decision to its new replicas serving', '5')
    .option('--drop-limit <ms>', 'drop a request still queued this long after it arrived (default: 1.5 × SLA)')
    .option('--interval <s>', 'seconds between decisions (default: the workflow’s)')
    .option('--forecaster <method>', `${forecastMethod.options.join(', ')} (default: the workflow’s)`)
    .option('--provision <what>', 'forecast or upper: provision for the forecast or its upper band (default: the workflow’s)')
    .option('--arrivals <mode>', `how each second's requests spread: ${ARRIVAL_MODES.join(', ')} (IPA's load generator)`, 'exponential')
    .option(
      '--plan-arrivals <pattern>',
      "what the optimizer assumes: steady (IPA's model), poisson (queue waits of M/M/c), poisson-mgc (of M/G/c with the profile's spread) or bursty (a second's requests together, served in waves); default: what --arrivals makes (exponential: bursty, uniform: poisson, equal: steady)",
    )
    .option('--model <dir>', 'LSTM model folder', DEFAULT_MODEL_DIR)
    .option(
      '--json',
      'print one JSON object per pattern and policy, one line each, and nothing else on stdout (the report is written all the same)',
    )
    .option('--study <name>', `one of the paper's studies instead of the policies: ${STUDY_NAMES.join(', ')} (report in --out)`)
    .action(async (flags: SimulateFlags) => {
      const study = flags.study === undefined ? undefined : oneOf('--study', flags.study, STUDY_NAMES);
      // The scaling study times the optimizer on IPA's synthetic grid: no pipeline, no simulation.
      if (study === 'scaling')
        return writeStudy(flags, await scalingStudy(await resolveProfileSet(GRID_PROFILES), await loadPaperResults()));
      if (!flags.pipeline) throw flagError('--pipeline', 'required: a name under profiles/pipelines/ or a spec file');
      const pattern = oneOf<PatternName | 'all'>('--pattern', flags.pattern, [...PATTERN_NAMES, 'all']) ?? 'all';
      const policies = policiesFlag(flags.policies);
      const seconds = flags.seconds === undefined ? undefined : positiveIntFlag('--seconds', flags.seconds);
      const { spec: written, profiles } = await pipelineFlags(flags.pipeline, flags.profiles);
      const defaults = defaultEvaluationSettings(written);
      const arrivals = oneOf('--arrivals', flags.arrivals, ARRIVAL_MODES) ?? defaults.arrivals;
      // The spec's arrivals describe its live traffic; a simulation knows the traffic it makes, so
      // its policies plan for that, unless told to plan otherwise to see what a mismatch costs.
      const planned = oneOf('--plan-arrivals', flags.planArrivals, arrivalPattern.options) ?? ARRIVAL_PATTERN_OF[arrivals];
      const spec = { ...written, arrivals: planned };
      const settings: EvaluationSettings = {
        intervalSeconds: flags.interval === undefined ? defaults.intervalSeconds : positiveIntFlag('--interval', flags.interval),
        forecaster: oneOf('--forecaster', flags.forecaster, forecastMethod.options) ?? defaults.forecaster,
        provision: oneOf('--provision', flags.provision, ['forecast', 'upper'] as const) ?? defaults.provision,
        reconfigurationDelaySeconds: numberFlag('--reconfiguration-delay', flags.reconfigurationDelay, { max: 3600 }),
        dropLimitMs: numberFlag('--drop-limit', flags.dropLimit, { exclusive: true }) ?? defaults.dropLimitMs,
        arrivals,
        seed: numberFlag('--seed', flags.seed, { integer: true, max: 2 ** 32 - 1 }),
      };
      // TensorFlow.js loads only when this command runs: every other command starts faster.
      const { Forecaster } = await import('../forecast/forecaster.js');
      const forecaster = await Forecaster.load(flags.model);
      const bar = progressBar('simulating');
      const base = {
        spec,
        profiles,
        forecaster,
        patterns: pattern === 'all' ? PATTERN_NAMES : [pattern],
        settings,
        ...(seconds !== undefined ? { seconds } : {}),
        onProgress: (done: number, total: number, detail: string) => bar(done, total, detail),
      };
      if (study === 'predictors') return writeStudy(flags, await predictorStudy(base, await loadPaperResults()));
      if (study === 'tradeoff') return writeStudy(flags, await tradeoffStudy(base));
      if (study === 'floor') return writeStudy(flags, await floorStudy(base));
      const results = await simulatePolicies({ ...base, policies });
      const methods = new Map<string, number>();
      for (const f of results.flatMap((r) => r.forecasts)) methods.set(f.method, (methods.get(f.method) ?? 0) + 1);
      const forecasterNote = `forecasts by ${[...methods].map(([m, n]) => `${m} ×${n}`).join(', ')}${forecaster.hasModel ? '' : ' (no LSTM model found)'}`;
      const files = await writeSimulationReport(flags.out, results, {
        spec,
        profiles,
        settings,
        forecasterNote,
        specArrivals: written.arrivals,
      });
      if (flags.json) {
        for (const r of results.flatMap((p) => p.runs)) {
          const line = {
            pipeline: spec.name,
            pattern: r.pattern,
            policy: r.policy,
            arrivals,
            planArrivals: planned,
            meanCost: r.summary.meanCost,
            meanPas: r.summary.meanPas,
            violationsPct: r.summary.violationPercent,
            p99Ms: r.summary.p99Ms,
            reconfigurations: r.summary.reconfigurations,
          };
          process.stdout.write(`${JSON.stringify(line)}\n`);
        }
        return;
      }
      const plan = `policies plan for ${planned} arrivals (${flags.planArrivals ? '--plan-arrivals' : `what --arrivals ${arrivals} makes`}; the spec's: ${written.arrivals})`;
      process.stdout.write(
        `${plan}\n\n${renderSummaryText(results)}\n\nwrote ${files.length} files to ${flags.out}: ${files.map((f) => f.split('/').pop()).join(', ')}\n`,
      );
    });
}

/** The profile set of IPA's scalability grid (its measured resnets). */
const GRID_PROFILES = 'measured-h200';

/** A study's report into --out; its table and findings on stdout, or with --json one object per row. */
async function writeStudy(flags: SimulateFlags, study: Study): Promise<void> {
  const files = await writeStudyReport(flags.out, study);
  if (flags.json) {
    for (const row of study.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  process.stdout.write(
    `${study.title}\n\n${table(study.header, study.rows)}\n\n${study.findings.join('\n')}\n\n` +
      `wrote ${files.length} files to ${flags.out}: ${files.map((f) => f.split('/').pop()).join(', ')}\n`,
  );
}
