import { grouped } from '../common/grouped.js';
import type { Config } from '../model/config.js';
import type { Alternative, Baseline, Decision, Explanation, StageDecision } from '../model/decision.js';
import type { Problem } from '../model/problem.js';
import { ValidationError, type ValidationIssue } from '../model/validation.js';
import { buildChoiceModel, type ChoiceModel, chosen, endToEndMs, latencyOf, objectiveOf, pasOf } from './choiceModel.js';
import { withHighsSolver } from './highsSolver.js';
import { buildOptions, makeOption, type Option, replicaRateRps, replicasFor, type StageOptions, type StageRestriction } from './options.js';
import { type Method, optimumValue, type Solved, solveProblem } from './solve.js';

export interface DecideOptions {
  method?: Method;
  baseline?: Baseline;
  /** The running config: what fa2, rim and static fix, and the tie-breaker's reference. */
  current?: Config;
  /** Compute binding constraints and per-stage alternatives (a few more solves). Default true. */
  explain?: boolean;
}

/** Checks that a current config names the problem's stages, in order, with known variants. */
function checkCurrent(problem: Problem, current: Config): void {
  const issues: ValidationIssue[] = [];
  if (current.stages.length !== problem.stages.length) {
    issues.push({ path: 'current.stages', message: `expected ${problem.stages.length} stages, got ${current.stages.length}` });
  }
  problem.stages.forEach((stage, s) => {
    const c = current.stages[s];
    if (!c) return;
    if (c.stage !== stage.name) issues.push({ path: `current.stages[${s}].stage`, message: `expected "${stage.name}", got "${c.stage}"` });
    const variant = stage.variants.find((v) => v.name === c.variant);
    if (!variant) issues.push({ path: `current.stages[${s}].variant`, message: `unknown variant "${c.variant}" for stage ${stage.name}` });
    else if (!variant.shapes.some((h) => h.name === c.shape)) {
      issues.push({ path: `current.stages[${s}].shape`, message: `unknown shape "${c.shape}" for ${c.variant}` });
    }
  });
  if (issues.length > 0) throw new ValidationError('current config', issues);
}

function restrictionsFor(problem: Problem, baseline: Baseline | undefined, current: Config | undefined): (StageRestriction | undefined)[] {
  if (!baseline) return [];
  if (!current) throw new ValidationError('optimize', [{ path: 'current', message: `baseline ${baseline} needs the current config` }]);
  checkCurrent(problem, current);
  return current.stages.map((c) => {
    if (baseline === 'fa2') return { variant: c.variant };
    if (baseline === 'rim') return { replicas: c.replicas };
    return { variant: c.variant, shape: c.shape, batch: c.batch, replicas: c.replicas, batchTimeout: { ms: c.batchTimeoutMs } };
  });
}

function stageDecision(problem: Problem, option: Option): StageDecision {
  return {
    stage: problem.stages[option.stage]?.name ?? String(option.stage),
    variant: option.variant,
    shape: option.shape,
    batch: option.batch,
    replicas: option.replicas,
    accuracy: option.accuracy * 100,
    profileLatencyMs: option.profileLatencyMs,
    ...(option.batchTimeoutMs !== undefined ? { batchTimeoutMs: option.batchTimeoutMs } : {}),
    batchWaitMs: option.batchWaitMs,
    queueMs: option.queueMs,
    latencyMs: option.latencyMs,
    throughputRps: option.replicas * option.throughputRps,
    cpu: option.cpu,
    gpu: option.gpu,
    cost: option.cost,
  };
}

/** Predicted figures of a config, from the same functions the solvers use. */
export function evaluate(problem: Problem, options: Option[]) {
  const { alpha, beta, gamma } = problem.objective;
  const model = buildChoiceModel(problem, []);
  const pas = pasOf(model.pas, options);
  const cost = options.reduce((t, o) => t + o.cost, 0);
  const batchSum = options.reduce((t, o) => t + o.batch, 0);
  const latencyMs = endToEndMs(problem, options);
  const value = objectiveOf(model, options);
  return {
    config: options.map((o) => stageDecision(problem, o)),
    pas,
    cost,
    batchSum,
    latencyMs,
    slackMs: problem.slaMs - latencyMs,
    objective: { value, accuracy: alpha * pas, cost: beta * cost, batch: gamma * batchSum },
  };
}

const describe = (o: Option) => `${o.variant}/${o.shape} batch ${o.batch} ×${o.replicas}`;

/** Why nothing is feasible: a stage without options, or the fastest options over the SLA. */
function infeasibleReasons(problem: Problem, stages: StageOptions[]): string[] {
  const reasons: string[] = [];
  for (const stage of stages) {
    if (stage.options.length > 0) continue;
    const overReplicas = stage.excluded
      .filter((e) => e.reason === 'over-max-replicas')
      .sort((a, b) => (a.replicasNeeded ?? 0) - (b.replicasNeeded ?? 0))[0];
    const other =
      overReplicas ??
      stage.excluded.find((e) => e.reason === 'under-replicated') ??
      stage.excluded.find((e) => e.reason === 'over-max-batch');
    reasons.push(
      `stage ${stage.name}: no option is possible${other ? `; closest: ${other.detail}` : ' (nothing profiled or everything ruled out)'}`,
    );
  }
  if (reasons.length > 0) return reasons;
  const fastest = stages.map((s) => s.options.reduce((a, b) => (b.latencyMs < a.latencyMs ? b : a)));
  const total = endToEndMs(problem, fastest);
  const overhead = problem.overheadMs ? ` with the serving path's ${grouped(problem.overheadMs)} ms` : '';
  return [
    `fastest options need ${grouped(total)} ms${overhead} > SLA ${grouped(problem.slaMs)} ms (${fastest
      .map((o, s) => `${stages[s]?.name}: ${o.variant}/${o.shape} batch ${o.batch} ${grouped(o.latencyMs)} ms`)
      .join(', ')})`,
  ];
}

/**
 * What to run when nothing is feasible: per stage the highest-throughput option allowed by the
 * constraints, with replicas to cover the load up to the cap. It keeps as much traffic flowing
 * as the limits allow.
 */
function fallbackOptions(problem: Problem, restrictions: (StageRestriction | undefined)[]): Option[] | undefined {
  const { load, limits } = problem;
  const pick = (s: number, maxBatch: number): Option | undefined => {
    const stage = problem.stages[s] as Problem['stages'][number];
    const r = restrictions[s] ?? {};
    const maxReplicas = stage.maxReplicas ?? limits.maxReplicas;
    let best: Option | undefined;
    for (const variant of stage.variants) {
      if (r.variant !== undefined && r.variant !== variant.name) continue;
      for (const shape of variant.shapes) {
        if (r.shape !== undefined && r.shape !== shape.name) continue;
        for (const row of shape.batches) {
          if ((r.batch !== undefined && r.batch !== row.batch) || (r.batch === undefined && row.batch > maxBatch)) continue;
          const rate = replicaRateRps(row, problem.arrivals);
          if (best && rate <= best.throughputRps) continue;
          best = makeOption(
            problem,
            s,
            variant,
            shape,
            row,
            r.replicas ?? Math.min(maxReplicas, replicasFor(load, rate, problem.arrivals)),
            r.batchTimeout,
          );
        }
      }
    }
    return best;
  };
  const options: Option[] = [];
  for (let s = 0; s < problem.stages.length; s++) {
    const stage = problem.stages[s] as Problem['stages'][number];
    // Past maxBatch only when nothing within it is profiled: some config beats none.
    const best = pick(s, stage.maxBatch ?? limits.maxBatch) ?? pick(s, Number.POSITIVE_INFINITY);
    if (!best) return undefined;
    options.push(best);
  }
  return options;
}

function explain(
  problem: Problem,
  solved: Solved,
  method: Method,
  restrictions: (StageRestriction | undefined)[],
  baseline?: Baseline,
): Explanation {
  const value = optimumValue(solved) as number;
  const picked = chosen(solved.model, solved.solution.choice as number[]);
  const tolerance = 1e-9 * Math.max(1, Math.abs(value));
  const binding: Explanation['binding'] = [];
  const check = (constraint: Explanation['binding'][number]['constraint'], relaxed: Solved, detail: (gain: number) => string) => {
    const better = optimumValue(relaxed);
    if (better !== undefined && better > value + tolerance)
      binding.push({ constraint, objectiveCost: better - value, detail: detail(better - value) });
  };
  check('sla', solveProblem({ ...problem, slaMs: Number.POSITIVE_INFINITY }, method, restrictions), (gain) => {
    return `SLA ${grouped(problem.slaMs)} ms binds: predicted latency ${grouped(endToEndMs(problem, picked))} ms; without it the objective would be ${grouped(gain, 6)} higher`;
  });
  if (solved.stages.some((s) => s.excluded.some((e) => e.reason === 'over-max-replicas'))) {
    check(
      'maxReplicas',
      solveProblem(problem, method, restrictions, { maxReplicas: Number.POSITIVE_INFINITY }),
      (gain) => `maxReplicas binds: without it the objective would be ${grouped(gain, 6)} higher`,
    );
  }
  if (solved.stages.some((s) => s.excluded.some((e) => e.reason === 'over-max-batch'))) {
    check(
      'maxBatch',
      solveProblem(problem, method, restrictions, { maxBatch: Number.POSITIVE_INFINITY }),
      (gain) => `maxBatch binds: without it the objective would be ${grouped(gain, 6)} higher`,
    );
  }
  if (baseline) {
    check(
      'baseline',
      solveProblem(problem, method),
      (gain) => `the ${baseline} baseline's constraint costs ${grouped(gain, 6)} objective against ipa`,
    );
  }
  const alternatives: Alternative[] = picked.map((o, s) => {
    const stage = problem.stages[s]?.name as string;
    if (restrictions[s]?.variant !== undefined) return { stage, reason: `variant fixed by the ${baseline} baseline` };
    const withoutVariant = problem.stages.map((_, i) => (i === s ? { ...restrictions[i], excludeVariant: o.variant } : restrictions[i]));
    const other = solveProblem(problem, method, withoutVariant);
    const otherValue = optimumValue(other);
    if (otherValue === undefined) return { stage, reason: `no feasible config runs ${stage} on a variant other than ${o.variant}` };
    const alt = chosen(other.model, other.solution.choice as number[])[s] as Option;
    return {
      stage,
      option: { variant: alt.variant, shape: alt.shape, batch: alt.batch, replicas: alt.replicas },
      objectiveLoss: value - otherValue,
      reason: `best with another variant: ${describe(alt)} loses ${grouped(value - otherValue, 6)} objective`,
    };
  });
  const summary =
    binding.length === 0
      ? 'no constraint binds: every stage runs its best option for the objective'
      : `binding: ${binding.map((b) => b.constraint).join(', ')}`;
  return { summary, binding, alternatives, infeasible: [] };
}

/** Objectives this close count as a tie: float noise, not a better config. */
const TIE = 1e-9;

/**
 * The running config's options (with replicas for this load) when they reach the optimum: among
 * equally good configs, the one already running avoids a pointless rollout.
 */
function currentIfOptimal(problem: Problem, model: ChoiceModel, best: Option[], current: Config): Option[] | undefined {
  if (current.stages.length !== problem.stages.length) return undefined;
  const restrictions = current.stages.map((c) => ({
    variant: c.variant,
    shape: c.shape,
    batch: c.batch,
    batchTimeout: { ms: c.batchTimeoutMs },
  }));
  const options = buildOptions(problem, restrictions).map((s) => s.options[0]);
  if (options.some((o) => o === undefined)) return undefined;
  const running = options as Option[];
  if (latencyOf(running) > model.budgetMs) return undefined;
  const optimum = objectiveOf(model, best);
  return objectiveOf(model, running) >= optimum - TIE * Math.max(1, Math.abs(optimum)) ? running : undefined;
}

/**
 * The decision for a problem: its optimum (or a baseline's optimum, or a static config's
 * evaluation), explained. Needs HiGHS loaded (`decideWithHighs` loads it).
 */
export function decide(problem: Problem, options: DecideOptions = {}): Decision {
  const method = options.method ?? 'auto';
  const restrictions = restrictionsFor(problem, options.baseline, options.current);
  const started = performance.now();
  const solved = solveProblem(problem, method, restrictions);
  const timeMs = performance.now() - started;
  const solver = {
    method: options.baseline === 'static' ? ('evaluate' as const) : solved.method,
    status: solved.solution.status,
    timeMs,
    optionsConsidered: solved.stages.reduce((t, s) => t + s.options.length, 0),
    optionsAfterPruning: solved.model.stages.reduce((t, s) => t + s.length, 0),
    work: solved.solution.work,
  };
  const common = {
    load: problem.load,
    slaMs: problem.slaMs,
    accuracyMethod: solved.model.pas,
    ...(options.baseline ? { baseline: options.baseline } : {}),
  };
  if (solved.solution.choice) {
    const best = chosen(solved.model, solved.solution.choice);
    const kept = !options.baseline && options.current ? currentIfOptimal(problem, solved.model, best, options.current) : undefined;
    const explanation =
      options.explain === false
        ? { summary: '', binding: [], alternatives: [], infeasible: [] }
        : explain(problem, solved, method, restrictions, options.baseline);
    return {
      feasible: true,
      fallback: false,
      ...common,
      ...evaluate(problem, kept ?? best),
      solver,
      explanation,
    };
  }
  const infeasible = infeasibleReasons(problem, solved.stages);
  return {
    feasible: false,
    fallback: true,
    ...common,
    ...evaluate(problem, fallbackOptions(problem, restrictions) ?? []),
    solver,
    explanation: { summary: `infeasible: ${infeasible.join('; ')}; fallback config applied`, binding: [], alternatives: [], infeasible },
  };
}

/**
 * `decide` with HiGHS loaded, and recovered if it ever throws: the WASM module is re-created and
 * the solve tried once more. An invalid problem or current config is thrown as it is.
 */
export function decideWithHighs(problem: Problem, options: DecideOptions = {}): Promise<Decision> {
  return withHighsSolver(
    () => decide(problem, options),
    (err) => err instanceof ValidationError,
  );
}
