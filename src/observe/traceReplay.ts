import { loadTrace, TRACE_FILE } from '../forecast/trace.js';
import type { ObserveSource } from '../model/adaptInput.js';

type TraceSource = Extract<ObserveSource, { kind: 'trace' }>;

/** Traces are large (the Twitter one is 1.9 M seconds) and read-only: one copy per process. */
const cache = new Map<string, Promise<ArrayLike<number>>>();

function traceLoads(source: TraceSource): Promise<ArrayLike<number>> {
  if (source.loads) return Promise.resolve(source.loads);
  const file = source.file ?? TRACE_FILE;
  let loads = cache.get(file);
  if (!loads) {
    loads = loadTrace(file);
    cache.set(file, loads);
    loads.catch(() => cache.delete(file));
  }
  return loads;
}

/**
 * The window a replay shows at `elapsedMs` after it began: trace seconds up to
 * start + elapsed × speed, wrapping at the trace's end so a replay can run for months. Computed
 * from workflow time, so a retried or replayed observation sees the same window.
 */
export async function observeTrace(source: TraceSource, elapsedMs: number, seconds: number): Promise<number[]> {
  const loads = await traceLoads(source);
  const n = loads.length;
  const end = source.start + Math.floor((Math.max(0, elapsedMs) / 1000) * source.speed);
  const from = Math.max(0, end - seconds + 1);
  const window: number[] = [];
  for (let t = from; t <= end; t++) window.push((loads[t % n] as number) / source.damp);
  return window;
}
