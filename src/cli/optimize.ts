import type { Command } from 'commander';
import { formatNumber, table } from '../common/table.js';
import { readJsonFile } from '../io/jsonFile.js';
import { type Config, parseConfig } from '../model/config.js';
import type { Baseline, Decision } from '../model/decision.js';
import { parseFleet } from '../model/fleet.js';
import { type Problem, parseProblem } from '../model/problem.js';
import { settingsOf } from '../model/settings.js';
import { decideWithHighs } from '../optimizer/decide.js';
import { type Fleet, type FleetDecision, optimizeFleet } from '../optimizer/fleet.js';
import { loadHighsSolver } from '../optimizer/highsSolver.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';
import { METHODS, type Method } from '../optimizer/solve.js';
import { flagError, numberFlag, oneOf, pipelineFlags, positiveNumberFlag } from './flags.js';

interface OptimizeFlags {
  pipeline?: string;
  profiles?: string;
  load?: string;
  sla?: string;
  instance?: string;
  fleet?: string;
  baseline?: string;
  current?: string;
  method: string;
  json?: boolean;
  explain: boolean;
}

const BASELINES: Baseline[] = ['fa2', 'rim', 'static'];

/** A JSON file, or inline JSON when the value starts with `{`. */
async function jsonArgument(value: string): Promise<unknown> {
  if (value.trim().startsWith('{')) {
    try {
      return JSON.parse(value);
    } catch (err) {
      throw flagError('--current', `not valid JSON: ${(err as Error).message}`);
    }
  }
  return readJsonFile(value);
}

/** A spec by name or file, checked against its profile set (the flag's, else the one the spec names). */
async function problemFromPipeline(
  pipeline: string,
  profilesRef: string | undefined,
  load: number,
  slaMs: number | undefined,
): Promise<Problem> {
  const { spec, profiles } = await pipelineFlags(pipeline, profilesRef);
  return problemFromSpec(spec, profiles, load, settingsOf(spec, { slaMs }));
}

async function fleetFromFile(file: string): Promise<Fleet> {
  const parsed = parseFleet(await readJsonFile(file), file);
  const pipelines = await Promise.all(
    parsed.pipelines.map((p) => ('pipeline' in p ? problemFromPipeline(p.pipeline, p.profiles, p.load, p.slaMs) : p)),
  );
  return { capacity: parsed.capacity, pipelines };
}

function renderFleet(d: FleetDecision): string {
  const lines = [
    `fleet of ${d.pipelines.length || 'the'} pipelines  capacity ${formatNumber(d.capacity.cpu)} cores, ${formatNumber(d.capacity.gpu)} GPUs  ` +
      `${d.feasible ? 'feasible' : 'INFEASIBLE'} (${d.solver.status}, ${d.solver.method}, ${formatNumber(d.solver.timeMs, 3)} ms, ${d.solver.candidates} candidate configs)`,
    '',
    table(
      ['pipeline', 'stage', 'variant', 'shape', 'batch', 'replicas', 'latency ms', 'cpu', 'gpu'],
      d.pipelines.flatMap((p) =>
        p.config.map((c) => [p.name, c.stage, c.variant, c.shape, c.batch, c.replicas, c.latencyMs, c.cpu, c.gpu]),
      ),
    ),
    '',
    `joint:       objective ${formatNumber(d.objective, 6)}  uses ${formatNumber(d.used.cpu)} cores, ${formatNumber(d.used.gpu)} GPUs`,
    `independent: objective ${formatNumber(d.independent.objective, 6)}  asks ${formatNumber(d.independent.used.cpu)} cores, ${formatNumber(d.independent.used.gpu)} GPUs  ${d.independent.fits ? 'fits' : 'does NOT fit'}`,
    `sequential:  ${d.sequential.feasible ? `objective ${formatNumber(d.sequential.objective ?? 0, 6)}` : 'a pipeline finds no capacity left'}  uses ${formatNumber(d.sequential.used.cpu)} cores, ${formatNumber(d.sequential.used.gpu)} GPUs`,
    ...d.reasons.map((r) => `why infeasible: ${r}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function problemFromFlags(flags: OptimizeFlags): Promise<Problem> {
  if (flags.instance) {
    if (flags.pipeline || flags.load !== undefined) throw flagError('--instance', 'give either --instance or --pipeline/--load, not both');
    const problem = parseProblem(await readJsonFile(flags.instance), flags.instance);
    const sla = positiveNumberFlag('--sla', flags.sla);
    return sla === undefined ? problem : { ...problem, slaMs: sla };
  }
  if (!flags.pipeline) throw flagError('--pipeline', 'required (or --instance FILE)');
  const load = numberFlag('--load', flags.load);
  if (load === undefined) throw flagError('--load', 'required with --pipeline');
  return problemFromPipeline(flags.pipeline, flags.profiles, load, positiveNumberFlag('--sla', flags.sla));
}

export function renderDecision(problem: Problem, d: Decision): string {
  const status = d.feasible ? 'feasible' : 'INFEASIBLE, fallback config';
  const lines = [
    `${problem.name ?? 'pipeline'}  load ${formatNumber(d.load)} rps  SLA ${formatNumber(d.slaMs)} ms  PAS ${d.accuracyMethod}` +
      `${d.baseline ? `  baseline ${d.baseline}` : ''}  ${status} (${d.solver.status}, ${d.solver.method}, ${formatNumber(d.solver.timeMs, 3)} ms, ` +
      `${d.solver.optionsAfterPruning} of ${d.solver.optionsConsidered} options after pruning)`,
    '',
    table(
      [
        'stage',
        'variant',
        'shape',
        'batch',
        'timeout ms',
        'replicas',
        'acc %',
        'latency ms',
        'batch wait ms',
        'queue ms',
        'capacity rps',
        'cost',
      ],
      d.config.map((c) => [
        c.stage,
        c.variant,
        c.shape,
        c.batch,
        // The batch timeout the servers get: the chosen one, else the spec's limit; none at batch 1.
        c.batch > 1 ? (c.batchTimeoutMs ?? problem.limits.maxBatchWaitMs) : '',
        c.replicas,
        c.accuracy,
        c.latencyMs,
        c.batchWaitMs,
        c.queueMs,
        c.throughputRps,
        c.cost,
      ]),
    ),
    '',
    `end-to-end ${formatNumber(d.latencyMs)} ms${problem.overheadMs ? ` (serving path ${formatNumber(problem.overheadMs)} ms of it)` : ''} (slack ${formatNumber(d.slackMs)} ms)  PAS ${formatNumber(d.pas, 4)}  cost ${formatNumber(d.cost)}`,
    `objective ${formatNumber(d.objective.value, 6)} = ${formatNumber(d.objective.accuracy, 6)} α·PAS − ${formatNumber(d.objective.cost, 6)} β·cost − ${formatNumber(d.objective.batch, 6)} γ·batch`,
  ];
  if (d.explanation.infeasible.length > 0) lines.push('', 'why infeasible:', ...d.explanation.infeasible.map((r) => `  ${r}`));
  if (d.explanation.summary && d.feasible)
    lines.push('', `why: ${d.explanation.summary}`, ...d.explanation.binding.map((b) => `  ${b.detail}`));
  if (d.explanation.alternatives.length > 0)
    lines.push('alternatives:', ...d.explanation.alternatives.map((a) => `  ${a.stage}: ${a.reason}`));
  return `${lines.join('\n')}\n`;
}

export function registerOptimizeCommand(program: Command): void {
  program
    .command('optimize')
    .description('the exact optimum config for a pipeline at a load, with its explanation')
    .option('--pipeline <spec>', 'pipeline spec: file or name under profiles/pipelines/')
    .option('--profiles <set>', "profile set: file, name or version (default: the spec's)")
    .option('--load <rps>', 'arrival rate λ, requests/s')
    .option('--sla <ms>', 'override the SLA, ms')
    .option('--instance <file>', 'a self-contained optimisation instance (README: "Optimisation instance")')
    .option(
      '--fleet <file>',
      'several pipelines sharing capacity: {capacity:{cpu,gpu}, pipelines:[instance | {pipeline, profiles?, load, slaMs?}]}',
    )
    .option('--baseline <name>', `constrain like a baseline: ${BASELINES.join(', ')} (needs --current)`)
    .option('--current <config>', 'running config: JSON file or inline JSON {"stages":[{stage,variant,shape,batch,replicas}]}')
    .option(
      '--method <method>',
      `solver: ${METHODS.join(', ')} (README: "The optimizer"; multiply PAS always uses branch and bound)`,
      'auto',
    )
    .option('--no-explain', 'skip binding constraints and alternatives (fewer solves)')
    .option('--json', 'print the decision object as JSON')
    .action(async (flags: OptimizeFlags) => {
      const method = oneOf<Method>('--method', flags.method, METHODS) ?? 'auto';
      if (flags.fleet) {
        await loadHighsSolver();
        const decision = optimizeFleet(await fleetFromFile(flags.fleet));
        process.stdout.write(flags.json ? `${JSON.stringify(decision, null, 2)}\n` : renderFleet(decision));
        return;
      }
      const baseline = oneOf('--baseline', flags.baseline, BASELINES);
      const current: Config | undefined = flags.current ? parseConfig(await jsonArgument(flags.current), '--current') : undefined;
      const problem = await problemFromFlags(flags);
      const decision = await decideWithHighs(problem, {
        method,
        explain: flags.explain,
        ...(baseline ? { baseline } : {}),
        ...(current ? { current } : {}),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(decision, null, 2)}\n` : renderDecision(problem, decision));
    });
}
