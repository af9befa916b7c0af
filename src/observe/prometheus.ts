import { z } from 'zod';
import { log } from '../common/log.js';

/**
 * The per-second load of a pipeline from a request counter scraped every second (IPA's setup).
 * irate takes the increase between the last two samples, so at 1 s scrapes every point is the
 * load of one second, unsmoothed: the forecaster was trained on per-second counts and must see
 * their peaks, which rate() over a longer window would average away (and extrapolate at the
 * window's edges). The window is 5 s, not IPA's 2 s, so one late or missed scrape does not drop
 * the point (irate then spans the gap and still gives its mean rate), while a target that is gone
 * stops reporting within seconds. sum() makes one series of a pipeline counted by several pods.
 * Scraping less often than every 2.5 s needs a wider window: set the query of the observe source.
 */
export const DEFAULT_PROMETHEUS_QUERY = 'sum(irate(ipa_requests_total{pipeline="$pipeline"}[5s]))';

export const DEFAULT_OBSERVE_TIMEOUT_MS = 5_000;

/** Prometheus answers at most 11,000 points per series. */
export const MAX_OBSERVE_SECONDS = 11_000;

export interface PrometheusObserve {
  /** Base URL of the Prometheus server, e.g. `http://prometheus:9090` (a path prefix is kept). */
  url: string;
  /** PromQL template: `$pipeline` is replaced by the pipeline's name; must yield one series. */
  query: string;
  pipeline: string;
  /** The window ends at the last whole second at or before this time (ms since the epoch). */
  endMs: number;
  /** Window length in seconds; one point per second. */
  seconds: number;
  timeoutMs?: number;
}

/** Why observing failed; `retryable` says whether asking again later may succeed. */
export class ObserveError extends Error {
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObserveError';
    this.retryable = retryable;
  }
}

const sampleSchema = z.tuple([z.number(), z.string()]);
const seriesSchema = z.object({ metric: z.record(z.string(), z.string()), values: z.array(sampleSchema) });
const answerSchema = z.union([
  z.object({
    status: z.literal('success'),
    data: z.object({ resultType: z.string(), result: z.array(z.unknown()) }),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string().optional() }),
]);

/** Prometheus's errorType values that a later attempt can get past; the others need a different query. */
const RETRYABLE_ERROR_TYPES = new Set(['timeout', 'canceled', 'internal', 'unavailable']);

const retryableStatus = (status: number) => status >= 500 || status === 408 || status === 429;

/** Characters that would end the PromQL string literal `$pipeline` stands in. */
const UNSAFE_IN_LABEL = /["'`\\\n]/;

function checkInput(o: PrometheusObserve): URL {
  const bad = (field: string, value: unknown, expected: string) =>
    new ObserveError(`observe prometheus: ${field} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`, false);
  let base: URL;
  try {
    base = new URL(o.url);
  } catch {
    throw bad('url', o.url, 'an http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw bad('url', o.url, 'an http(s) URL');
  if (typeof o.query !== 'string' || o.query.trim() === '') throw bad('query', o.query, 'a PromQL expression');
  if (typeof o.pipeline !== 'string' || o.pipeline === '' || UNSAFE_IN_LABEL.test(o.pipeline)) {
    throw bad('pipeline', o.pipeline, 'a non-empty name without quotes, backslashes or newlines');
  }
  if (!Number.isFinite(o.endMs)) throw bad('endMs', o.endMs, 'a finite time in ms');
  if (!Number.isInteger(o.seconds) || o.seconds < 1 || o.seconds > MAX_OBSERVE_SECONDS) {
    throw bad('seconds', o.seconds, `an integer from 1 to ${MAX_OBSERVE_SECONDS}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw bad('timeoutMs', o.timeoutMs, '> 0');
  // A trailing slash makes `api/v1/…` resolve under a path prefix such as /prometheus.
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** Prometheus writes infinities as +Inf/-Inf, which Number() does not read. */
function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * The per-second load of `pipeline` over the `seconds` seconds ending at `endMs`, oldest first,
 * from a Prometheus range query at a 1 s step. Seconds without a point inside the range take the
 * previous second's value (a missed scrape is not a load of 0); seconds before the first point
 * are left out, so the window may be shorter than asked (the forecaster handles short windows).
 * A point that is not a load (NaN, ±Inf, negative) counts as 0 and is logged. Every failure is an
 * ObserveError naming the query and the URL.
 */
export async function observePrometheus(o: PrometheusObserve): Promise<number[]> {
  const base = checkInput(o);
  const query = o.query.replaceAll('$pipeline', o.pipeline);
  const timeoutMs = o.timeoutMs ?? DEFAULT_OBSERVE_TIMEOUT_MS;
  const end = Math.floor(o.endMs / 1000);
  const start = end - o.seconds + 1;
  const endpoint = new URL('api/v1/query_range', base);
  endpoint.search = new URLSearchParams({ query, start: String(start), end: String(end), step: '1' }).toString();
  const what = `query ${JSON.stringify(query)} at ${o.url}`;

  let status: number;
  let text: string;
  try {
    const response = await fetch(endpoint, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    text = await response.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `unreachable (${e.cause?.code ?? e.cause?.message ?? e.message})`;
    throw new ObserveError(`Prometheus ${reason} for ${what}`, true, { cause: err });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const answer = answerSchema.safeParse(json);
  if (!answer.success) {
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    throw new ObserveError(`not a Prometheus API answer (HTTP ${status}) to ${what}: ${JSON.stringify(excerpt)}`, retryableStatus(status));
  }
  const body = answer.data;
  if (body.status === 'error' || status < 200 || status >= 300) {
    const errorType = body.status === 'error' ? body.errorType : undefined;
    const detail = body.status === 'error' ? `${errorType ?? 'error'}: ${body.error ?? '(no message)'}` : 'status success';
    const retryable = errorType !== undefined && errorType !== '' ? RETRYABLE_ERROR_TYPES.has(errorType) : retryableStatus(status);
    throw new ObserveError(`Prometheus failed ${what} (HTTP ${status}): ${detail}`, retryable);
  }
  if (body.warnings?.length) log.warn({ query, url: o.url, warnings: body.warnings }, 'Prometheus warned about the observe query');
  if (body.data.resultType !== 'matrix') {
    throw new ObserveError(`Prometheus answered ${what} with a ${body.data.resultType}, expected a matrix`, false);
  }
  if (body.data.result.length === 0) {
    // No series yet is normal while a pipeline starts (no scrape, no request): worth asking again.
    throw new ObserveError(`no series for ${what} in the last ${o.seconds} s ending at ${new Date(end * 1000).toISOString()}`, true);
  }
  if (body.data.result.length > 1) {
    const shown = body.data.result.slice(0, 3).map((s) => JSON.stringify((s as { metric?: unknown }).metric ?? {}));
    throw new ObserveError(
      `${body.data.result.length} series for ${what}, expected one (aggregate it, e.g. with sum()): ${shown.join(', ')}${body.data.result.length > 3 ? ', …' : ''}`,
      false,
    );
  }
  const series = seriesSchema.safeParse(body.data.result[0]);
  if (!series.success) throw new ObserveError(`malformed series in Prometheus's answer to ${what}`, false);

  const points: (number | undefined)[] = new Array(o.seconds).fill(undefined);
  const notLoads: { second: number; value: string }[] = [];
  for (const [time, value] of series.data.values) {
    const index = Math.round(time) - start;
    if (index < 0 || index >= o.seconds) continue;
    const load = parseSampleValue(value);
    if (Number.isFinite(load) && load >= 0) {
      points[index] = load;
    } else {
      // An infinite or negative rate is a broken query or counter, not traffic; NaN is 0/0.
      points[index] = 0;
      notLoads.push({ second: start + index, value });
    }
  }
  if (notLoads.length > 0) {
    log.warn(
      { query, url: o.url, count: notLoads.length, first: notLoads.slice(0, 5) },
      'Prometheus returned values that are not loads; counted as 0',
    );
  }

  const loads: number[] = [];
  let previous: number | undefined;
  for (const point of points) {
    if (point !== undefined) previous = point;
    if (previous !== undefined) loads.push(previous);
  }
  return loads;
}
