import { join } from 'node:path';
import type { Command } from 'commander';
import { configureLogger } from '../common/log.js';
import { defaultStateDir } from '../common/paths.js';
import { table } from '../common/table.js';
import { HISTORY_SECONDS } from '../forecast/window.js';
import { type LiveExperiment, runLiveExperiment } from '../live/liveExperiment.js';
import { overviewTable, writeLiveReport } from '../live/liveRunReport.js';
import { DEFAULT_INITIAL_RPS } from '../live/liveScale.js';
import { liveRoot } from '../live/liveState.js';
import { arrivalPattern } from '../model/pipelineSpec.js';
import { LOOP_POLICIES, type LoopPolicyName } from '../model/policyName.js';
import { PATTERN_NAMES, type PatternName } from '../simulator/loadPatterns.js';
import { flagError, numberFlag, oneOf, positiveNumberFlag } from './flags.js';
import { bringDown, bringUp, checkedPipeline } from './live.js';
import { startLoopHost } from './liveTemporal.js';
import { progressBar } from './progress.js';
import { shutdownSignal } from './shutdown.js';

interface RunFlags {
  pipeline: string;
  pattern?: string;
  policy?: string;
  minutes?: string;
  peakRps?: string;
  seed: string;
  interval: string;
  idle: string;
  out?: string;
  json?: boolean;
  stateDir?: string;
  planArrivals?: string;
}

/** The flags checked before anything starts: a bad one names itself and its value. */
function checkedFlags(flags: RunFlags) {
  if (flags.pattern === undefined) throw flagError('--pattern', `required: one of ${PATTERN_NAMES.join(', ')}`);
  const pattern = oneOf<PatternName>('--pattern', flags.pattern, PATTERN_NAMES) as PatternName;
  if (flags.policy === undefined) throw flagError('--policy', `required: one of ${[...LOOP_POLICIES, 'all'].join(', ')}`);
  // One policy, a comma-separated list of them (run in that order), or all.
  const named = flags.policy.split(',').map((p) => oneOf<LoopPolicyName | 'all'>('--policy', p.trim(), [...LOOP_POLICIES, 'all']));
  const policies = named.includes('all') ? [...LOOP_POLICIES] : [...new Set(named as LoopPolicyName[])];
  const minutes = positiveNumberFlag('--minutes', flags.minutes);
  const peakRps = positiveNumberFlag('--peak-rps', flags.peakRps);
  const seed = numberFlag('--seed', flags.seed, { integer: true, max: 2 ** 32 - 1 });
  const intervalSeconds = numberFlag('--interval', flags.interval, { min: 1, max: 3600 });
  const idleSeconds = numberFlag('--idle', flags.idle, { max: 3600 });
  const planArrivals = oneOf('--plan-arrivals', flags.planArrivals, arrivalPattern.options);
  return { pattern, policies, minutes, peakRps, seed, intervalSeconds, idleSeconds, planArrivals };
}

function renderRuns(e: LiveExperiment): string {
  return table(...overviewTable(e.runs, (n) => n));
}

async function run(flags: RunFlags): Promise<void> {
  const { pattern, policies, minutes, peakRps, seed, intervalSeconds, idleSeconds, planArrivals } = checkedFlags(flags);
  const pipeline = await checkedPipeline(flags.pipeline);
  const stateDir = liveRoot(flags.stateDir);
  const out = flags.out ?? join(defaultStateDir, 'live-runs', `${pattern}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  // --json: one line per run on stdout and nothing else; the logger writes to stdout, so it is silenced.
  if (flags.json) configureLogger({ level: 'silent' });
  const say = (line: string) => process.stderr.write(`${line}\n`);

  const controller = new AbortController();
  void shutdownSignal(() => {
    say('\nstopping: no new requests; the run under way is summarised, then everything is brought down (Ctrl-C again to quit at once)');
    controller.abort();
  });
  // TensorFlow.js loads only when this command runs (the simulation's forecaster).
  const { Forecaster } = await import('../forecast/forecaster.js');
  const forecaster = await Forecaster.load();
  const host = await startLoopHost();
  say(`loops run on ${host.where}, task queue ${host.taskQueue}`);
  let experiment: LiveExperiment;
  try {
    const bars = new Map<string, ReturnType<typeof progressBar>>();
    experiment = await runLiveExperiment({
      // The spec file itself when one is given: its rule, objective and SLA decide.
      pipeline: flags.pipeline,
      pattern,
      policies,
      ...(minutes !== undefined ? { minutes } : {}),
      ...(peakRps !== undefined ? { peakRps } : {}),
      seed,
      stateDir,
      out,
      intervalSeconds,
      idleSeconds,
      ...(planArrivals ? { planArrivals } : {}),
      // The first up refuses a pipeline that already runs; between policies the gateway and Prometheus stay.
      control: {
        up: (again) => bringUp(pipeline, stateDir, DEFAULT_INITIAL_RPS, { reuse: again }),
        down: () => bringDown(pipeline, stateDir, { cancelLoops: false }),
      },
      host,
      forecaster,
      signal: controller.signal,
      onEvent: say,
      onProgress: (policy, p) => {
        const bar = bars.get(policy) ?? progressBar(policy);
        bars.set(policy, bar);
        bar(Math.min(p.elapsedMs, p.durationMs), p.durationMs, `sent ${p.sent}, ok ${p.ok}, dropped ${p.dropped}, errors ${p.errors}`);
      },
      onRun: (r) => {
        if (flags.json) process.stdout.write(`${JSON.stringify(r.result)}\n`);
      },
    });
  } finally {
    await host.stop();
  }
  if (experiment.runs.length === 0) {
    if (experiment.failure) throw new Error(experiment.failure);
    say('no run was done: nothing to report');
    process.exitCode = 130;
    return;
  }
  const command = `ipa live run ${process.argv.slice(process.argv.indexOf('run') + 1).join(' ')}`;
  const files = await writeLiveReport(out, experiment, { command, temporal: host.where });
  if (!flags.json) process.stdout.write(`${renderRuns(experiment)}\n\nwrote ${files.length} files to ${out}\n`);
  else say(`wrote ${files.length} files to ${out}`);
  if (experiment.failure) throw new Error(`${experiment.failure} (${out}/report.md holds the runs done before)`);
  if (experiment.aborted) process.exitCode = 130;
  else if (experiment.runs.some((r) => r.result.sent !== r.result.ok + r.result.dropped + r.result.errors)) process.exitCode = 1;
}

/** `ipa live run`, a subcommand of `ipa live`. */
export function addLiveRunCommand(live: Command): void {
  live
    .command('run')
    .description(
      'run policies on the live pipeline under a replayed load pattern, one after another, and compare each with the simulator: report.md, series.json, plots',
    )
    .requiredOption('--pipeline <name>', 'pipeline: name under profiles/pipelines/ (or a spec file)')
    .option('--pattern <name>', `IPA's load pattern: ${PATTERN_NAMES.join(', ')}`)
    .option(
      '--policy <name>',
      `who decides: ${LOOP_POLICIES.join(', ')}, a comma-separated list of them, or all (each in turn, same pattern and seed)`,
    )
    .option('--minutes <n>', 'real minutes per policy: the whole pattern is played in that time (default 10: twice real time)')
    .option(
      '--peak-rps <n>',
      "requests/s of the busiest second of all patterns (default: the highest load whose planned replicas fit in this machine's cores less half a core)",
    )
    .option('--seed <n>', 'seed of the request times (and of the simulation)', '1')
    .option('--interval <s>', "the loop's interval, s", '10')
    .option(
      '--idle <s>',
      "seconds without load before each policy's loop starts: with the forecaster's 120 s its first step sees an idle window, as the simulation does, and no policy sees the load of the one before",
      String(HISTORY_SECONDS),
    )
    .option('--out <dir>', 'folder for report.md, series.json, the plots and the request lines (default .ipa/live-runs/PATTERN-TIME)')
    .option(
      '--plan-arrivals <pattern>',
      `what the optimizer plans for instead of the spec's arrivals: ${arrivalPattern.options.join(', ')}`,
    )
    .option('--json', 'print one JSON object per policy run, one line each, and nothing else on stdout')
    .option('--state-dir <dir>', 'live pipelines’ state folder (default IPA_LIVE_DIR or .ipa/live)')
    .addHelpText(
      'after',
      '\nTemporal: the configured server (TEMPORAL_ADDRESS, a profile, or an `ipa dev` on 127.0.0.1:7233) when it answers, else a\n' +
        'dev server of its own for the duration; the loops run on a worker inside this command either way.\n' +
        'Ctrl-C stops the replay under way, reports what ran and brings everything down; after a SIGKILL, `ipa live down` does.',
    )
    .action(run);
}
