import { grouped } from '../common/grouped.js';
import type { Config } from '../model/config.js';
import type { Decision } from '../model/decision.js';
import { batchLabel, configLabel, stageLabel } from '../model/decisionLine.js';
import type { Settings } from '../model/decisionRecord.js';

/**
 * The running config at the new decision's load and settings: the optimizer's static-baseline
 * evaluation of it, or why it could not be evaluated (a stage or variant the profiles lack).
 */
export type RunningEvaluation = Pick<Decision, 'feasible' | 'load' | 'slaMs' | 'latencyMs' | 'pas' | 'cost' | 'batchSum' | 'objective'> & {
  explanation: Pick<Decision['explanation'], 'infeasible'>;
};

export interface ChangeContext {
  /** The config running before this decision; none on the first step. */
  current?: Config;
  /** The running config evaluated at the decision's load (`optimize` with the static baseline). */
  running?: RunningEvaluation | { error: string };
  /** The settings in force now and at the previous step: a changed SLA or objective is part of why. */
  settings?: Settings;
  previous?: Settings;
}

/** Objective differences this small are float noise: the two configs are equally good. */
const TIE = 1e-9;

const signed = (n: number) => `${n >= 0 ? '+' : '-'}${Number(Math.abs(n).toPrecision(3)).toString()}`;
const fromTo = (a: string, b: string) => (a === b ? a : `${a}→${b}`);

/**
 * Each stage that differs between two configs, `stage old → new`, in the new config's order; the
 * new side is only its batchLabel (`b<batch>×<replicas>`) when the variant and shape stay.
 */
export function stageChanges(current: Config, next: Config): string[] {
  const changes = next.stages.flatMap((s) => {
    const old = current.stages.find((c) => c.stage === s.stage);
    if (!old) return [`${s.stage} (new) ${stageLabel(s)}`];
    const before = stageLabel(old);
    const after = stageLabel(s);
    if (before === after) return [];
    return [`${s.stage} ${before} → ${old.variant === s.variant && old.shape === s.shape ? batchLabel(s) : after}`];
  });
  const removed = current.stages.filter((c) => !next.stages.some((s) => s.stage === c.stage)).map((c) => `${c.stage} removed`);
  return [...changes, ...removed];
}

/** What changed in the settings between two steps, e.g. `SLA 300 → 120 ms`; empty when nothing did. */
export function settingsChange(previous: Settings | undefined, settings: Settings | undefined): string {
  if (!previous || !settings) return '';
  const parts: string[] = [];
  if (previous.slaMs !== settings.slaMs) parts.push(`SLA ${grouped(previous.slaMs, 1)} → ${grouped(settings.slaMs, 1)} ms`);
  const weights = (['alpha', 'beta', 'gamma'] as const)
    .filter((k) => previous[k] !== settings[k])
    .map((k) => `${{ alpha: 'α', beta: 'β', gamma: 'γ' }[k]} ${previous[k]} → ${settings[k]}`);
  if (previous.accuracy !== settings.accuracy) weights.push(`PAS ${previous.accuracy} → ${settings.accuracy}`);
  if (weights.length > 0) parts.push(`objective changed (${weights.join(', ')})`);
  return parts.join(', ');
}

/** A static evaluation's stage-level reason, without the optimizer's "no option" framing. */
function stageProblem(line: string): string {
  const m = /^stage (\S+): no option is possible; closest: (.*)$/.exec(line);
  return m ? `${m[1]}: ${m[2]}` : line;
}

/** Why the running config had to go, or what the new one gains over it. */
function why(decision: Decision, running: ChangeContext['running']): string {
  const at = `λ̂ ${grouped(decision.load, 1)} rps`;
  if (decision.fallback) return `nothing meets the constraints at ${at}: fallback to the highest-throughput options`;
  if (!running) return `the running config was not evaluated at ${at}`;
  if ('error' in running) return `the running config does not fit the profiles: ${running.error}`;
  if (!running.feasible) {
    const stages = running.explanation.infeasible.filter((line) => line.startsWith('stage ')).map(stageProblem);
    if (stages.length > 0) return `the running config cannot run at ${at} (${stages.join('; ')})`;
    return `at ${at} the running config would take ${grouped(running.latencyMs, 1)} ms > SLA ${grouped(running.slaMs, 1)} ms`;
  }
  const gain = decision.objective.value - running.objective.value;
  const parts = [
    ['PAS', grouped(running.pas, 3), grouped(decision.pas, 3)],
    ['cost', grouped(running.cost, 2), grouped(decision.cost, 2)],
    ['Σ batch', grouped(running.batchSum, 0), grouped(decision.batchSum, 0)],
  ]
    .filter(([, a, b]) => a !== b)
    .map(([name, a, b]) => `${name} ${fromTo(a as string, b as string)}`);
  const detail = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  if (Math.abs(gain) <= TIE * Math.max(1, Math.abs(decision.objective.value))) return `as good as the running config at ${at}${detail}`;
  return `objective ${signed(gain)} at ${at}${detail}`;
}

/**
 * The reason of a decision that changes the config: per changed stage old → new, then the
 * constraint that forced the change (the running config breaks the SLA or cannot serve the
 * provisioned load λ̂, or the SLA changed) or the objective it gains over the running config at
 * the same load. Undefined when the config does not change.
 */
export function changeReason(decision: Decision, context: ChangeContext): string | undefined {
  const next: Config = { stages: decision.config };
  if (!context.current) {
    const stages = configLabel(next);
    return `first config ${stages}: objective ${Number(decision.objective.value.toPrecision(4))} at λ̂ ${grouped(decision.load, 1)} rps (PAS ${grouped(decision.pas, 3)}, cost ${grouped(decision.cost, 2)})`;
  }
  const changes = stageChanges(context.current, next);
  if (changes.length === 0) return undefined;
  const because = [settingsChange(context.previous, context.settings), why(decision, context.running)].filter((p) => p !== '');
  return `${changes.join(', ')}: ${because.join('; ')}`;
}
