import type { z } from 'zod';

/** One problem in an input, located by a path such as `stages[1].variants[0]`. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Thrown for any invalid external input; `issues` lists every problem, not only the first. */
export class ValidationError extends Error {
  readonly issues: ValidationIssue[];

  constructor(source: string, issues: ValidationIssue[]) {
    const lines = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    super(`invalid ${source}:\n  ${lines.join('\n  ')}`);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Renders a bad value for an error message: strings quoted, NaN and Infinity kept, long values cut. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function toIssues(issue: z.core.$ZodIssue): ValidationIssue[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [{ path, message: `required (${issue.expected})` }];
  }
  if (issue.code === 'custom') return [{ path, message: issue.message }];
  // zod's own messages say what was expected; the value makes the line actionable on its own.
  const message = issue.message
    .replace(/^Invalid input: /, '')
    .replace(/^Too small: /, '')
    .replace(/^Too big: /, '');
  return [{ path, message: `${message}, got ${show(issue.input)}` }];
}

/** Parses `input` with `schema`, or throws a ValidationError naming every bad field and value. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ValidationError(source, result.error.issues.flatMap(toIssues));
}
