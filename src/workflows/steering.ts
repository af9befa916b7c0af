/**
 * Checks of signal and update payloads. They run inside the workflow (an update's validator must
 * be synchronous there), so no schema library and no I/O: only the plain `show` of model/validation.
 */
import type { PasMethod } from '../model/pipelineSpec.js';
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

export interface DecisionsQuery {
  limit?: number;
}

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

/** Every problem of a `setSla`/`updateSla` payload, as "field: what was expected, got value". */
export function slaProblems(payload: unknown): string[] {
  const p = objectProblems('setSla', payload, ['slaMs']);
  if (Array.isArray(p)) return p;
  return positive('slaMs', p.slaMs);
}

export function objectiveProblems(payload: unknown): string[] {
  const p = objectProblems('setObjective', payload, ['alpha', 'beta', 'gamma', 'accuracy']);
  if (Array.isArray(p)) return p;
  const problems: string[] = [];
  for (const field of ['alpha', 'beta', 'gamma'] as const) if (p[field] !== undefined) problems.push(...nonNegative(field, p[field]));
  if (p.accuracy !== undefined && !['sum', 'average', 'multiply'].includes(p.accuracy as string)) {
    problems.push(`accuracy: expected "sum", "average" or "multiply", got ${show(p.accuracy)}`);
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
