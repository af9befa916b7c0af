import type { ObserveSource } from '../model/adaptInput.js';
import { ValidationError } from '../model/validation.js';
import { DEFAULT_PROMETHEUS_QUERY, observePrometheus } from '../observe/prometheus.js';
import { observeTrace } from '../observe/traceReplay.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** IPA's window: the forecaster reads the last 120 s. */
export const WINDOW_SECONDS = 120;

export interface ObserveInput {
  pipeline: string;
  source: ObserveSource;
  /** Workflow time of the step: the window ends here. */
  atMs: number;
  /** Workflow time since the replay began (trace source). */
  elapsedMs: number;
}

export interface Observation {
  loads: number[];
  source: string;
  /** The second the window ends at (ms since the epoch): the step's workflow time. */
  endMs: number;
}

/** The last 120 s of per-second load of a pipeline, oldest first. */
export async function observe(input: ObserveInput): Promise<Observation> {
  const { source } = input;
  return failingFast(FAILURE_TYPES.invalidQuery, async () => {
    if (source.kind === 'trace') {
      const loads = await observeTrace(source, input.elapsedMs, WINDOW_SECONDS);
      return { loads, source: `trace ${source.loads ? 'inline' : (source.file ?? 'twitter')}`, endMs: input.atMs };
    }
    const url = source.url ?? process.env.PROMETHEUS_URL;
    if (!url) {
      throw new ValidationError('observe source', [{ path: 'observe.url', message: 'required: set it or PROMETHEUS_URL on the worker' }]);
    }
    const query = source.query ?? DEFAULT_PROMETHEUS_QUERY;
    const loads = await observePrometheus({ url, query, pipeline: input.pipeline, endMs: input.atMs, seconds: WINDOW_SECONDS });
    return { loads, source: `prometheus ${url}`, endMs: input.atMs };
  });
}
