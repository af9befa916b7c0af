/**
 * The messages of an adaptation loop: its signals, its update and its queries, with their
 * payloads and the checks of those payloads. The wire names (`setSla`, `status`, …) are what the
 * `temporal` CLI and the Web UI use. The checks run inside the workflow (an update's validator
 * must be synchronous there), so no schema library and no I/O: only the plain `show` of
 * model/validation.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AdaptStatus, LoopState } from '../adapt/loopState.js';
import type { DecisionRecord } from '../model/decisionRecord.js';

export type { AdaptStatus };

import { PAS_METHODS, type PasMethod } from '../model/settings.js';
import { show } from '../model/validation.js';

export interface SetSla {
  slaMs: number;
}

export interface SetObjective {
  alpha?: number;
  beta?: number;
  gamma?: number;
  accuracy?: PasMethod;
}

export interface ReloadProfiles {
  version?: string;
}

export interface DecisionsRequest {
  limit?: number;
}

export const setSlaSignal = defineSignal<[SetSla]>('setSla');
export const setObjectiveSignal = defineSignal<[SetObjective]>('setObjective');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const reloadProfilesSignal = defineSignal<[ReloadProfiles?]>('reloadProfiles');
export const slaUpdate = defineUpdate<DecisionRecord, [SetSla]>('updateSla');
export const statusQuery = defineQuery<AdaptStatus>('status');
export const decisionsQuery = defineQuery<DecisionRecord[], [DecisionsRequest?]>('decisions');

/** What the Web UI shows beside each handler's name (Send a Signal, Send an Update, Queries). */
export const DESCRIPTIONS = {
  setSla: 'Sets the latency SLA, {"slaMs": 200}: the loop decides again at once (or on resume when paused).',
  setObjective:
    'Sets the objective weights and PAS method, {"alpha", "beta", "gamma", "accuracy": "sum|average|multiply"}: the loop decides again at once.',
  pause: 'Pauses the loop: no steps and no applies until resume; the running config stays.',
  resume: 'Resumes a paused loop with a step at once.',
  reloadProfiles: 'Switches to another profile set, {"version": "SET"} (default: the newest of the spec\'s), and decides again at once.',
  updateSla: 'Sets the latency SLA, {"slaMs": 150}, runs a step at once and returns its decision record; rejected while paused.',
  status: 'The loop now: pipeline, profile set, SLA and weights, paused, step, running config, last decision, counters, ignored signals.',
  decisions: 'The last decision records, newest first, {"limit": 20} (default: all kept, up to keepDecisions).',
} as const;

/** `"a", "b" or "c"`. */
const oneOf = (values: readonly string[]) => {
  const quoted = values.map((v) => `"${v}"`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownFields(payload: Record<string, unknown>, known: string[]): string[] {
  return Object.keys(payload)
    .filter((k) => !known.includes(k))
    .map((k) => `${k}: unknown field (known: ${known.join(', ')})`);
}

function objectProblems(name: string, payload: unknown, known: string[]): string[] | Record<string, unknown> {
  if (!isRecord(payload)) return [`${name}: expected an object like {${known.map((k) => `"${k}": …`).join(', ')}}, got ${show(payload)}`];
  const unknown = unknownFields(payload, known);
  return unknown.length > 0 ? unknown : payload;
}

const positive = (field: string, value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? [] : [`${field}: expected a number > 0, got ${show(value)}`];
const nonNegative = (field: string, value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? [] : [`${field}: expected a number ≥ 0, got ${show(value)}`];

/**
 * Every problem of a `setSla`/`updateSla` payload, as "field: what was expected, got value". An
 * SLA at or below the spec's `overheadMs` leaves the stages nothing, so every decision would be
 * infeasible: refused like any other bad value, before it changes the loop.
 */
export function slaProblems(payload: unknown, overheadMs = 0): string[] {
  const p = objectProblems('setSla', payload, ['slaMs']);
  if (Array.isArray(p)) return p;
  const problems = positive('slaMs', p.slaMs);
  if (problems.length === 0 && (p.slaMs as number) <= overheadMs)
    problems.push(
      `slaMs: expected more than the spec's overheadMs ${overheadMs} (the serving path's share of the SLA), got ${show(p.slaMs)}`,
    );
  return problems;
}

/** `updateSla` runs a step at once, which a paused loop must not: refused then, where `setSla` waits for resume. */
export function slaUpdateProblems(payload: unknown, paused: boolean, overheadMs = 0): string[] {
  const problems = slaProblems(payload, overheadMs);
  if (paused) problems.push('the loop is paused: resume it first, or use the setSla signal to take effect on resume');
  return problems;
}

export function objectiveProblems(payload: unknown): string[] {
  const p = objectProblems('setObjective', payload, ['alpha', 'beta', 'gamma', 'accuracy']);
  if (Array.isArray(p)) return p;
  const problems: string[] = [];
  for (const field of ['alpha', 'beta', 'gamma'] as const) if (p[field] !== undefined) problems.push(...nonNegative(field, p[field]));
  if (p.accuracy !== undefined && !PAS_METHODS.includes(p.accuracy as PasMethod)) {
    problems.push(`accuracy: expected ${oneOf(PAS_METHODS)}, got ${show(p.accuracy)}`);
  }
  if (problems.length === 0 && Object.keys(p).length === 0)
    problems.push('setObjective: nothing to change (give alpha, beta, gamma or accuracy)');
  return problems;
}

export function reloadProblems(payload: unknown): string[] {
  if (payload === undefined || payload === null) return [];
  const p = objectProblems('reloadProfiles', payload, ['version']);
  if (Array.isArray(p)) return p;
  return p.version === undefined || (typeof p.version === 'string' && p.version.length > 0)
    ? []
    : [`version: expected a profile-set version, name or path, got ${show(p.version)}`];
}

export function decisionsLimit(payload: unknown, kept: number): number {
  const limit = isRecord(payload) ? payload.limit : undefined;
  return typeof limit === 'number' && Number.isInteger(limit) && limit > 0 ? Math.min(limit, kept) : Math.min(20, kept);
}

/** How a message changes a loop: its new state, or the problems that make it change nothing. */
export type Change = { state: LoopState } | { problems: string[] };

export function withSla(state: LoopState, payload: SetSla, overheadMs = 0): Change {
  const problems = slaProblems(payload, overheadMs);
  return problems.length > 0 ? { problems } : { state: { ...state, settings: { ...state.settings, slaMs: payload.slaMs } } };
}

export function withObjective(state: LoopState, payload: SetObjective): Change {
  const problems = objectiveProblems(payload);
  return problems.length > 0 ? { problems } : { state: { ...state, settings: { ...state.settings, ...payload } } };
}
