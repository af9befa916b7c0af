import type { Decision } from '../model/decision.js';
import type { Problem } from '../model/problem.js';
import { buildChoiceModel, dominanceCriteria, latencyOf, objectiveOf, restMinima, slaAllowance } from './choiceModel.js';
import { decide, evaluate } from './decide.js';
import { solveMultipleChoice } from './highsSolver.js';
import { buildOptions, type Option, removeDominated } from './options.js';

export interface Capacity {
  cpu: number;
  gpu: number;
}

/** Several pipelines that share one cluster: each keeps its own SLA, all share the capacity. */
export interface Fleet {
  capacity: Capacity;
  pipelines: Problem[];
}

/** One feasible config of one pipeline, as the fleet sees it. */
export interface Candidate {
  options: Option[];
  value: number;
  cpu: number;
  gpu: number;
}

export interface FleetPipelineDecision extends ReturnType<typeof evaluate> {
  name: string;
  feasible: boolean;
}

export interface FleetDecision {
  feasible: boolean;
  capacity: Capacity;
  used: Capacity;
  objective: number;
  pipelines: FleetPipelineDecision[];
  /** Each pipeline solved alone, ignoring capacity: what per-pipeline controllers would ask for. */
  independent: { objective: number; used: Capacity; fits: boolean };
  /** Pipelines solved one after the other with the capacity left: what they would get. */
  sequential: { objective: number | undefined; used: Capacity; feasible: boolean };
  solver: { method: 'highs' | 'brute-force'; status: 'optimal' | 'infeasible'; timeMs: number; candidates: number };
  reasons: string[];
}

const total = (options: readonly Option[], key: 'cpu' | 'gpu') => options.reduce((t, o) => t + o[key], 0);

/**
 * The configs of a pipeline that meet its SLA. With `prune`, only those that no other config
 * beats in objective, cores and GPUs at once: any fleet optimum can swap a dominated config for
 * its dominator and lose nothing, so the joint problem stays exact.
 */
export function pipelineCandidates(problem: Problem, prune = true, limit = 500_000): Candidate[] {
  const stages = buildOptions(problem);
  const model = buildChoiceModel(problem, stages);
  const criteria = dominanceCriteria(model);
  const options = (prune ? stages.map((s) => removeDominated(s, (o) => [...criteria(o), -o.cpu, -o.gpu])) : stages).map((s) => s.options);
  const restLatency = restMinima(options, (o) => o.latencyMs);
  const allowance = slaAllowance(model.budgetMs);
  const found: Candidate[] = [];
  const picked: Option[] = [];
  const visit = (s: number, latency: number) => {
    if (s === options.length) {
      if (latencyOf(picked) > model.budgetMs) return;
      if (found.length >= limit)
        throw new Error(`pipeline ${problem.name ?? ''}: more than ${limit} feasible configs; narrow its variants or shapes`);
      const chosenOptions = [...picked];
      found.push({
        options: chosenOptions,
        value: objectiveOf(model, chosenOptions),
        cpu: total(chosenOptions, 'cpu'),
        gpu: total(chosenOptions, 'gpu'),
      });
      return;
    }
    for (const o of options[s] ?? []) {
      if (latency + o.latencyMs + (restLatency[s + 1] as number) > allowance) continue;
      picked[s] = o;
      visit(s + 1, latency + o.latencyMs);
    }
    picked.length = s;
  };
  if (options.every((stage) => stage.length > 0)) visit(0, 0);
  if (!prune) return found;
  // Best objective first: a candidate survives if no earlier (better or equal) one uses no more of either resource.
  found.sort((a, b) => b.value - a.value);
  const kept: Candidate[] = [];
  for (const c of found) {
    if (!kept.some((k) => k.cpu <= c.cpu && k.gpu <= c.gpu)) kept.push(c);
  }
  return kept;
}

function fitsCapacity(candidates: readonly Candidate[], capacity: Capacity): boolean {
  let cpu = 0;
  let gpu = 0;
  for (const c of candidates) {
    cpu += c.cpu;
    gpu += c.gpu;
  }
  return cpu <= capacity.cpu && gpu <= capacity.gpu;
}

/** The joint optimum over candidates: HiGHS with one group per pipeline and two capacity rows. */
function solveCandidates(candidates: Candidate[][], capacity: Capacity): number[] | undefined {
  const solution = solveMultipleChoice({
    groups: candidates.map((list) => list.map((c) => ({ value: c.value, weights: [c.cpu, c.gpu] }))),
    capacities: [capacity.cpu, capacity.gpu],
    fits: (choice) =>
      fitsCapacity(
        choice.map((i, p) => candidates[p]?.[i] as Candidate),
        capacity,
      ),
  });
  return solution.choice;
}

/** Every combination of every pipeline's feasible configs: the fleet's reference for tests. */
export function solveFleetBruteForce(fleet: Fleet): { value: number; choice: Candidate[] } | undefined {
  const lists = fleet.pipelines.map((p) => pipelineCandidates(p, false));
  let best: { value: number; choice: Candidate[] } | undefined;
  const picked: Candidate[] = [];
  const visit = (p: number) => {
    if (p === lists.length) {
      if (!fitsCapacity(picked, fleet.capacity)) return;
      const value = picked.reduce((t, c) => t + c.value, 0);
      if (!best || value > best.value) best = { value, choice: [...picked] };
      return;
    }
    for (const c of lists[p] ?? []) {
      picked[p] = c;
      visit(p + 1);
    }
    picked.length = p;
  };
  visit(0);
  return best;
}

function used(candidates: readonly Candidate[]): Capacity {
  return { cpu: candidates.reduce((t, c) => t + c.cpu, 0), gpu: candidates.reduce((t, c) => t + c.gpu, 0) };
}

/** Each pipeline in turn takes its best config within what the earlier ones left. */
function sequential(lists: Candidate[][], capacity: Capacity): FleetDecision['sequential'] {
  const left = { ...capacity };
  const picked: Candidate[] = [];
  for (const list of lists) {
    const best = list.find((c) => c.cpu <= left.cpu && c.gpu <= left.gpu);
    if (!best) return { objective: undefined, used: used(picked), feasible: false };
    picked.push(best);
    left.cpu -= best.cpu;
    left.gpu -= best.gpu;
  }
  return { objective: picked.reduce((t, c) => t + c.value, 0), used: used(picked), feasible: true };
}

/** A pipeline's name, made unique within the fleet (two `video` pipelines become video and video-2). */
function pipelineName(fleet: Fleet, p: number): string {
  const name = fleet.pipelines[p]?.name ?? 'pipeline';
  const same = fleet.pipelines.slice(0, p).filter((q) => (q.name ?? 'pipeline') === name).length;
  return same === 0 ? name : `${name}-${same + 1}`;
}

/**
 * Solves the pipelines jointly: the most total objective whose configs fit the shared capacity,
 * each pipeline within its own SLA. Candidate lists are sorted best first, which `sequential` uses.
 */
export function optimizeFleet(fleet: Fleet): FleetDecision {
  const started = performance.now();
  const lists = fleet.pipelines.map((p) => pipelineCandidates(p));
  const choice = lists.some((l) => l.length === 0) ? undefined : solveCandidates(lists, fleet.capacity);
  const timeMs = performance.now() - started;
  const alone: Decision[] = fleet.pipelines.map((p) => decide(p, { explain: false }));
  const aloneOptions = alone.map((d) => ({
    options: [],
    value: d.objective.value,
    cpu: d.config.reduce((t, c) => t + c.cpu, 0),
    gpu: d.config.reduce((t, c) => t + c.gpu, 0),
  }));
  const independent = {
    objective: alone.reduce((t, d) => t + d.objective.value, 0),
    used: used(aloneOptions),
    fits: alone.every((d) => d.feasible) && fitsCapacity(aloneOptions, fleet.capacity),
  };
  const reasons: string[] = [];
  lists.forEach((l, p) => {
    if (l.length === 0) reasons.push(`pipeline ${fleet.pipelines[p]?.name ?? p}: no config meets its SLA within its limits`);
  });
  if (reasons.length === 0 && !choice) {
    const least = {
      cpu: lists.reduce((t, l) => t + Math.min(...l.map((c) => c.cpu)), 0),
      gpu: lists.reduce((t, l) => t + Math.min(...l.map((c) => c.gpu)), 0),
    };
    reasons.push(
      `the pipelines need at least ${least.cpu} cores and ${least.gpu} GPUs together (each alone at its leanest); capacity is ${fleet.capacity.cpu} cores and ${fleet.capacity.gpu} GPUs`,
    );
  }
  const picked = choice ? choice.map((i, p) => lists[p]?.[i] as Candidate) : [];
  return {
    feasible: choice !== undefined,
    capacity: fleet.capacity,
    used: used(picked),
    objective: picked.reduce((t, c) => t + c.value, 0),
    pipelines: picked.map((c, p) => ({
      name: pipelineName(fleet, p),
      feasible: true,
      ...evaluate(fleet.pipelines[p] as Problem, c.options),
    })),
    independent,
    sequential: sequential(lists, fleet.capacity),
    solver: { method: 'highs', status: choice ? 'optimal' : 'infeasible', timeMs, candidates: lists.reduce((t, l) => t + l.length, 0) },
    reasons,
  };
}
