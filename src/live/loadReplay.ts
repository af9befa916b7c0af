import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../common/log.js';
import { roundTo } from '../common/roundTo.js';
import { loadTrace, TRACE_FILE } from '../forecast/trace.js';
import { fetchModelMetadata, type InferenceRequest, payloadFromMetadata } from '../profiling/inferenceEndpoint.js';
import { latencyStats } from '../profiling/latencyStats.js';
import { type RequestAnswer, runScheduledLoad } from '../profiling/loadGenerator.js';
import { loadGeneratorArrivals } from '../simulator/arrivals.js';
import { loadPattern, PATTERN_NAMES, type PatternName } from '../simulator/loadPatterns.js';
import type { Outcome } from './gatewayMetrics.js';
import { pipelineDir, readServer, stillRunning } from './liveState.js';

/**
 * Load replay against a live pipeline's gateway: one of IPA's load patterns or a trace of
 * requests per second, scaled and sped up, sent open loop (each request at its time, answered or
 * not) through the profiler's load generator (`runScheduledLoad`). Every request sent is counted
 * exactly once by the outcome the gateway gave it: ok (200), dropped (503 from the drop rule),
 * error (anything else: other statuses, connection failures, timeouts). With `checkGateway` the
 * gateway's own counters (`ipa_gateway_requests_total`) are read before and after, and their
 * delta per outcome must equal the generator's counts.
 *
 * Time and rate:
 * - `speed` is trace seconds per real second: trace second i is sent during real seconds
 *   [i / speed, (i + 1) / speed), so its requests go out `speed` times as fast.
 * - `scale` is either `{ peakRps }`: the busiest trace second of the replay goes out at that
 *   many requests per real second (the loads are multiplied by peakRps / (speed × max load); at
 *   speed 1 the busiest second sends peakRps requests); or `{ factor }`: each trace second's load
 *   is multiplied by it (the real rate is then factor × load × speed). A fractional count is rounded so the running total
 *   stays exact: each second gets ⌊f·load⌋ or ⌈f·load⌉ and the whole run round(f·Σ load).
 * - `seconds` is real (wall) seconds: the replay plays trace seconds [0, seconds × speed).
 * - `arrivals` spreads each second's requests: `poisson` uniformly at random over the second (a
 *   Poisson process given the count), `bursts` as IPA's load generator did (request j at
 *   i + Exp(mean 1 / count): bunched at the second's start, a few spill into the next). These are
 *   `ipa simulate --arrivals uniform|exponential`, so a live run and a simulation see the same
 *   arrivals for the same seed.
 */

export const REPLAY_ARRIVALS = ['poisson', 'bursts'] as const;
export type ReplayArrivals = (typeof REPLAY_ARRIVALS)[number];

/** Where the per-second loads come from. */
export type ReplaySource =
  | { pattern: PatternName }
  /** A file of loads per second (see `loadTrace`), played from second `start` (default 0), as written (no damping). */
  | { trace: string; start?: number }
  | { loads: ArrayLike<number>; name?: string };

export type ReplayScale = { peakRps: number } | { factor: number };

export interface ScheduleOptions {
  /** Requests per trace second. */
  loads: ArrayLike<number>;
  /** Default `{ factor: 1 }`: the loads as they are. */
  scale?: ReplayScale;
  /** Trace seconds per real second; default 1. */
  speed?: number;
  /** Real seconds to play; default the whole of `loads`. */
  seconds?: number;
  /** Default `bursts`. */
  arrivals?: ReplayArrivals;
  /** Default 1. */
  seed?: number;
}

export interface ReplaySchedule {
  /** Send times, ms from the start of the run, ascending. */
  sendAtMs: Float64Array;
  /** Requests of each trace second played, after scaling. */
  counts: Int32Array;
  /** What each trace second's load was multiplied by. */
  factor: number;
  speed: number;
  /** Rate of the busiest trace second, requests per real second: max count × speed. */
  peakRps: number;
  /** Real length of the replay, ms. */
  durationMs: number;
}

/** Requests one run may hold: each is kept for the summary (a few hundred bytes), and written out. */
export const MAX_REQUESTS = 2_000_000;

function finitePositive(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${field} must be a finite number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * `--scale` as written: a number is the peak in requests/s (`150`), a number with a trailing `x`
 * a factor on the loads (`0.5x`, `2x`).
 */
export function parseScale(text: string): ReplayScale {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(x|×)?\s*$/i.exec(text);
  const value = match ? Number(match[1]) : Number.NaN;
  if (!match || !(value > 0)) {
    throw new Error(`scale must be a peak in requests/s (e.g. 150) or a factor on the loads (e.g. 0.5x), got ${JSON.stringify(text)}`);
  }
  return match[2] ? { factor: value } : { peakRps: value };
}

/** The send times of a replay: pure, seeded, the same for the same options. */
export function replaySchedule(options: ScheduleOptions): ReplaySchedule {
  const speed = finitePositive('speed', options.speed ?? 1);
  const arrivals = options.arrivals ?? 'bursts';
  if (!REPLAY_ARRIVALS.includes(arrivals)) {
    throw new Error(`arrivals must be one of ${REPLAY_ARRIVALS.join(', ')}, got ${JSON.stringify(arrivals)}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${JSON.stringify(seed)}`);
  if (options.seconds !== undefined) finitePositive('seconds', options.seconds);
  const available = options.loads.length;
  const played = options.seconds === undefined ? available : Math.min(available, Math.ceil(options.seconds * speed - 1e-9));
  if (played === 0) throw new Error('the replay has no second of load to play');
  let maxLoad = 0;
  for (let i = 0; i < played; i++) {
    const load = options.loads[i] as number;
    if (!Number.isFinite(load) || load < 0) throw new Error(`loads[${i}] must be a number ≥ 0, got ${JSON.stringify(load)}`);
    maxLoad = Math.max(maxLoad, load);
  }
  const scale = options.scale ?? { factor: 1 };
  let factor: number;
  if ('peakRps' in scale) {
    finitePositive('scale.peakRps', scale.peakRps);
    if (maxLoad === 0)
      throw new Error(`the ${played} seconds to play have no load: a peak of ${scale.peakRps} requests/s cannot scale them`);
    factor = scale.peakRps / (speed * maxLoad);
  } else {
    factor = finitePositive('scale.factor', scale.factor);
  }
  // Rounding the running total keeps the run's total exact and each second within one of f·load.
  const counts = new Int32Array(played);
  let cumulative = 0;
  let previous = 0;
  for (let i = 0; i < played; i++) {
    cumulative += (options.loads[i] as number) * factor;
    const rounded = Math.round(roundTo(cumulative, 9));
    counts[i] = rounded - previous;
    previous = rounded;
  }
  if (previous > MAX_REQUESTS) {
    throw new Error(
      `the replay would send ${previous} requests, more than the ${MAX_REQUESTS} one run keeps: play fewer seconds or scale it down`,
    );
  }
  const traceMs = loadGeneratorArrivals(counts, seed, arrivals === 'poisson' ? 'uniform' : 'exponential');
  let sendAtMs = traceMs.map((ms) => ms / speed);
  const durationMs = options.seconds === undefined ? (played * 1000) / speed : Math.min(options.seconds * 1000, (played * 1000) / speed);
  // A partly played last second (seconds × speed not whole) keeps only what falls in the run.
  if (options.seconds !== undefined && options.seconds * speed < played) sendAtMs = sendAtMs.filter((ms) => ms < durationMs);
  let peak = 0;
  for (const count of counts) peak = Math.max(peak, count);
  return { sendAtMs, counts, factor, speed, peakRps: peak * speed, durationMs };
}

/** The loads a source names, and a label for reports. */
export async function sourceLoads(source: ReplaySource, traceSeconds?: number): Promise<{ loads: ArrayLike<number>; label: string }> {
  if ('pattern' in source) {
    if (!PATTERN_NAMES.includes(source.pattern)) {
      throw new Error(`pattern must be one of ${PATTERN_NAMES.join(', ')}, got ${JSON.stringify(source.pattern)}`);
    }
    const pattern = loadPattern(await loadTrace(TRACE_FILE), source.pattern, traceSeconds);
    return { loads: pattern.loads, label: `pattern ${source.pattern}` };
  }
  if ('trace' in source) {
    const start = source.start ?? 0;
    if (!Number.isInteger(start) || start < 0) throw new Error(`trace start must be a whole second ≥ 0, got ${JSON.stringify(start)}`);
    const trace = await loadTrace(source.trace);
    if (start >= trace.length) throw new Error(`trace ${source.trace} has ${trace.length} seconds: start ${start} is past its end`);
    const end = traceSeconds === undefined ? trace.length : Math.min(trace.length, start + traceSeconds);
    return { loads: trace.subarray(start, end), label: `trace ${source.trace}${start > 0 ? ` from second ${start}` : ''}` };
  }
  return { loads: source.loads, label: source.name ?? 'loads' };
}

/** The class a gateway answer falls in, as the gateway counts it. */
export function outcomeOf(status: number, body = ''): Outcome {
  if (status === 200) return 'ok';
  // The drop rule's 503 says so (stageQueue's DroppedError); a 503 when the gateway shuts down is an error.
  if (status === 503 && /dropped|drop limit/.test(body)) return 'dropped';
  return 'error';
}

export type OutcomeCounts = Record<Outcome, number>;

/** `ipa_gateway_requests_total{pipeline=P,outcome=…}` from a Prometheus text exposition. */
export function parseOutcomeCounts(metricsText: string, pipeline: string): OutcomeCounts {
  const counts: Partial<OutcomeCounts> = {};
  for (const line of metricsText.split('\n')) {
    const match = /^ipa_gateway_requests_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[1] as string).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.pipeline !== pipeline) continue;
    const outcome = labels.outcome as Outcome;
    if (outcome === 'ok' || outcome === 'dropped' || outcome === 'error') counts[outcome] = Number(match[2]);
  }
  const missing = (['ok', 'dropped', 'error'] as const).filter((o) => counts[o] === undefined);
  if (missing.length > 0) {
    throw new Error(`the gateway's metrics have no ipa_gateway_requests_total for pipeline ${pipeline}, outcome ${missing.join(', ')}`);
  }
  return counts as OutcomeCounts;
}

/** One request of a replay, as written to the `--out` JSON lines. */
export interface ReplayRecord {
  /** The n-th request sent, from 0. */
  i: number;
  /** Wall clock at the send, ms since the epoch. */
  sentAt: number;
  /** Due and actually sent, ms from the run's start. */
  scheduledMs: number;
  sentMs: number;
  /** From the scheduled send to the answer or the failure. */
  latencyMs: number;
  /** HTTP status, 0 when no answer came. */
  status: number;
  outcome: Outcome;
  error?: string;
  /**
   * The gateway's whole handling of the request (its `Server-Timing` `gateway` duration: stage
   * queues and replicas included), when it answered: `latencyMs` less this is what the path
   * outside the gateway added, the client's sending late and the HTTP hop.
   */
  gatewayMs?: number;
}

export function recordOf(answer: RequestAnswer): ReplayRecord {
  const r = (ms: number) => roundTo(ms, 3);
  return {
    i: answer.index,
    sentAt: answer.sentAt,
    scheduledMs: r(answer.scheduledMs),
    sentMs: r(answer.sentMs),
    latencyMs: r(answer.latencyMs),
    status: answer.status,
    outcome: answer.timedOut ? 'error' : outcomeOf(answer.status, answer.error),
    ...(answer.error === undefined ? {} : { error: answer.error }),
    ...(answer.serverTiming?.gateway === undefined ? {} : { gatewayMs: r(answer.serverTiming.gateway) }),
  };
}

export interface ReplayCounts {
  sent: number;
  ok: number;
  dropped: number;
  errors: number;
  /** Ok, but answered after the SLA. */
  lateOk: number;
  /** lateOk + dropped. */
  violations: number;
  /** violations / sent, %. */
  violationsPercent: number;
  /** Latency of ok requests, ms from their scheduled send. */
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

export interface ReplayInterval extends ReplayCounts {
  /** Real seconds from the run's start, [fromS, toS), by scheduled send time. */
  fromS: number;
  toS: number;
}

/** Counts, ok latencies and SLA violations of some requests. */
export function countRecords(records: readonly ReplayRecord[], slaMs: number): ReplayCounts {
  const okLatencies: number[] = [];
  let dropped = 0;
  let errors = 0;
  let lateOk = 0;
  for (const record of records) {
    if (record.outcome === 'ok') {
      okLatencies.push(record.latencyMs);
      if (record.latencyMs > slaMs) lateOk++;
    } else if (record.outcome === 'dropped') dropped++;
    else errors++;
  }
  const stats = latencyStats(okLatencies);
  const sent = records.length;
  return {
    sent,
    ok: okLatencies.length,
    dropped,
    errors,
    lateOk,
    violations: lateOk + dropped,
    violationsPercent: sent === 0 ? 0 : roundTo((100 * (lateOk + dropped)) / sent, 3),
    p50Ms: stats.p50Ms,
    p99Ms: stats.p99Ms,
    meanMs: stats.meanMs,
    maxMs: stats.maxMs,
  };
}

/**
 * What the path outside the gateway added to the ok answers that carry the gateway's timing
 * (latency less the gateway's own handling): the client's late sends, its HTTP work and the hop,
 * which no profile sees and the spec's `overheadMs` plans for. Undefined when no answer had it.
 */
export function outsideGateway(records: readonly ReplayRecord[]): { p50Ms: number; p99Ms: number } | undefined {
  const outside = records.filter((r) => r.outcome === 'ok' && r.gatewayMs !== undefined).map((r) => r.latencyMs - (r.gatewayMs as number));
  if (outside.length === 0) return undefined;
  const stats = latencyStats(outside);
  return { p50Ms: stats.p50Ms, p99Ms: stats.p99Ms };
}

/** The records cut into intervals of `seconds` by scheduled send time, over `durationMs`. */
export function intervalsOf(records: readonly ReplayRecord[], slaMs: number, seconds: number, durationMs: number): ReplayInterval[] {
  finitePositive('intervalSeconds', seconds);
  const last = records.reduce((max, r) => Math.max(max, r.scheduledMs), 0);
  const count = Math.max(1, Math.ceil(Math.max(durationMs, last + 1e-6) / (seconds * 1000)));
  const bins: ReplayRecord[][] = Array.from({ length: count }, () => []);
  for (const record of records) bins[Math.min(count - 1, Math.floor(record.scheduledMs / (seconds * 1000)))]?.push(record);
  return bins.map((bin, k) => ({ fromS: roundTo(k * seconds, 3), toS: roundTo((k + 1) * seconds, 3), ...countRecords(bin, slaMs) }));
}

export interface GatewayCheck {
  before: OutcomeCounts;
  after: OutcomeCounts;
  /** after − before. */
  delta: OutcomeCounts;
  /** What the generator counted. */
  generator: OutcomeCounts;
  /** True when delta equals generator for every outcome. */
  matches: boolean;
}

export interface ReplayProgress {
  elapsedMs: number;
  durationMs: number;
  /** Requests in the schedule. */
  planned: number;
  sent: number;
  ok: number;
  dropped: number;
  errors: number;
  /** Sent and not answered yet. */
  inFlight: number;
}

export interface ReplayOptions extends Omit<ScheduleOptions, 'loads'> {
  pipeline: string;
  /** The gateway's root URL (`http://127.0.0.1:PORT`). */
  url: string;
  source: ReplaySource;
  /** Latency bound of the pipeline: an ok answer later than this is a violation. */
  slaMs: number;
  /** Per-request timeout (then it counts as an error); default 30 s, longer than the gateway's drop limit. */
  timeoutMs?: number;
  /** The request body; default one tensor per input the gateway's metadata declares, batch 1. */
  payload?: InferenceRequest;
  /** A JSON-lines file with one `ReplayRecord` per request. */
  out?: string;
  /** Read the gateway's outcome counters before and after and compare. */
  checkGateway?: boolean;
  /** Cut the summary into intervals of this many real seconds. */
  intervalSeconds?: number;
  /** Stops sending; what was sent is still answered and counted. */
  signal?: AbortSignal;
  /** Called about once a second while it runs, and once at the end. */
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplaySummary extends ReplayCounts {
  pipeline: string;
  url: string;
  source: string;
  arrivals: ReplayArrivals;
  seed: number;
  speed: number;
  /** Multiplier on the source's loads. */
  factor: number;
  /** Rate of the busiest trace second, requests per real second. */
  peakRps: number;
  slaMs: number;
  /** Requests in the schedule; more than `sent` when aborted. */
  planned: number;
  /** Of the errors, how many got no answer within the timeout. */
  timeouts: number;
  /** sent = ok + dropped + errors. */
  accounted: boolean;
  durationMs: number;
  elapsedMs: number;
  aborted: boolean;
  /** Up to 5 distinct reasons for errors. */
  errorSamples: string[];
  intervals?: ReplayInterval[];
  gateway?: GatewayCheck;
  out?: string;
}

const pipelinePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The URL of the pipeline's gateway as `ipa live up` recorded it, once its process is known to run. */
export async function liveGatewayUrl(pipeline: string, stateDir?: string): Promise<string> {
  const server = await readServer(pipeline, 'gateway', stateDir);
  const where = pipelineDir(pipeline, stateDir);
  if (!server) throw new Error(`no gateway of pipeline ${pipeline} is recorded in ${where}: start one with \`ipa live up\`, or pass --url`);
  if (!(await stillRunning(server.process))) {
    throw new Error(
      `the gateway of pipeline ${pipeline} recorded in ${where} (pid ${server.process.pid}) is not running: \`ipa live up\` again`,
    );
  }
  return server.url;
}

async function readGatewayCounts(url: string, pipeline: string): Promise<OutcomeCounts> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}/metrics answered ${response.status}: ${text.slice(0, 200)}`);
  return parseOutcomeCounts(text, pipeline);
}

const minus = (a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts => ({
  ok: a.ok - b.ok,
  dropped: a.dropped - b.dropped,
  error: a.error - b.error,
});
const total = (c: OutcomeCounts) => c.ok + c.dropped + c.error;

/**
 * Replays a source's loads against the pipeline's gateway, open loop, and accounts for every
 * request sent (see the top of this file for scale, speed and arrivals).
 */
export async function replayLoad(options: ReplayOptions): Promise<ReplaySummary> {
  if (typeof options.pipeline !== 'string' || !pipelinePattern.test(options.pipeline)) {
    throw new Error(`pipeline must be a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(options.pipeline)}`);
  }
  finitePositive('slaMs', options.slaMs);
  if (options.intervalSeconds !== undefined) finitePositive('intervalSeconds', options.intervalSeconds);
  const url = options.url.replace(/\/+$/, '');
  const endpoint = { baseUrl: url, model: options.pipeline };
  const speed = options.speed ?? 1;
  const traceSeconds = options.seconds === undefined ? undefined : Math.ceil(finitePositive('seconds', options.seconds) * speed - 1e-9);
  const { loads, label } = await sourceLoads(options.source, traceSeconds);
  const schedule = replaySchedule({ ...options, loads });
  const arrivals = options.arrivals ?? 'bursts';
  const seed = options.seed ?? 1;

  let payload = options.payload;
  if (!payload) {
    const metadata = await fetchModelMetadata(endpoint).catch((error: Error) => {
      const cause = (error.cause as Error | undefined)?.message;
      throw new Error(
        `could not read pipeline ${options.pipeline}'s metadata from the gateway at ${url}: ${error.message}${cause ? `: ${cause}` : ''}`,
      );
    });
    if (!metadata.inputs || metadata.inputs.length === 0) {
      throw new Error(
        `the gateway at ${url} declares no inputs for ${options.pipeline} (no ready replica of its first stage yet?): wait for one, or give a request body`,
      );
    }
    payload = payloadFromMetadata(metadata, { batchSize: 1, seed });
  }
  const before = options.checkGateway ? await readGatewayCounts(url, options.pipeline) : undefined;

  const output = options.out ? await openLines(options.out) : undefined;
  const records: ReplayRecord[] = [];
  const live = { sent: 0, ok: 0, dropped: 0, errors: 0 };
  const samples = new Set<string>();
  let timeouts = 0;
  const startedAt = performance.now();
  const progress = (): ReplayProgress => ({
    elapsedMs: Math.round(performance.now() - startedAt),
    durationMs: Math.round(schedule.durationMs),
    planned: schedule.sendAtMs.length,
    ...live,
    inFlight: live.sent - live.ok - live.dropped - live.errors,
  });
  const ticker = options.onProgress ? setInterval(() => options.onProgress?.(progress()), 1000) : undefined;
  ticker?.unref();
  log.info(
    { pipeline: options.pipeline, url, source: label, requests: schedule.sendAtMs.length, seconds: schedule.durationMs / 1000, arrivals },
    'load replay starting',
  );
  let result: Awaited<ReturnType<typeof runScheduledLoad>>;
  try {
    result = await runScheduledLoad({
      endpoint,
      payload,
      scheduleMs: schedule.sendAtMs,
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
      onSend: () => live.sent++,
      onAnswer: (answer) => {
        const record = recordOf(answer);
        records.push(record);
        if (record.outcome === 'ok') live.ok++;
        else if (record.outcome === 'dropped') live.dropped++;
        else {
          live.errors++;
          if (answer.timedOut) timeouts++;
          if (samples.size < 5)
            samples.add(answer.status === 0 ? (record.error ?? 'no answer') : `HTTP ${answer.status}: ${record.error ?? ''}`);
        }
        output?.write(record);
      },
    });
  } finally {
    if (ticker) clearInterval(ticker);
    await output?.close();
  }
  const elapsedMs = performance.now() - startedAt;
  options.onProgress?.(progress());

  const counts = countRecords(records, options.slaMs);
  const generator: OutcomeCounts = { ok: counts.ok, dropped: counts.dropped, error: counts.errors };
  let gateway: GatewayCheck | undefined;
  if (before) {
    // An answer the client gave up on is counted by the gateway when it comes: wait a little for it.
    let after = await readGatewayCounts(url, options.pipeline);
    for (let tries = 0; tries < 12 && total(minus(after, before)) < counts.sent; tries++) {
      await sleep(250);
      after = await readGatewayCounts(url, options.pipeline);
    }
    const delta = minus(after, before);
    gateway = {
      before,
      after,
      delta,
      generator,
      matches: delta.ok === generator.ok && delta.dropped === generator.dropped && delta.error === generator.error,
    };
  }
  const summary: ReplaySummary = {
    pipeline: options.pipeline,
    url,
    source: label,
    arrivals,
    seed,
    speed: schedule.speed,
    factor: roundTo(schedule.factor, 6),
    peakRps: schedule.peakRps,
    slaMs: options.slaMs,
    planned: schedule.sendAtMs.length,
    ...counts,
    timeouts,
    accounted: counts.sent === result.sent && counts.sent === counts.ok + counts.dropped + counts.errors,
    durationMs: Math.round(schedule.durationMs),
    elapsedMs: Math.round(elapsedMs),
    aborted: result.aborted,
    errorSamples: [...samples],
    ...(options.intervalSeconds === undefined
      ? {}
      : { intervals: intervalsOf(records, options.slaMs, options.intervalSeconds, schedule.durationMs) }),
    ...(gateway ? { gateway } : {}),
    ...(options.out ? { out: options.out } : {}),
  };
  log.info(
    {
      pipeline: options.pipeline,
      sent: summary.sent,
      ok: summary.ok,
      dropped: summary.dropped,
      errors: summary.errors,
      p99Ms: summary.p99Ms,
      violationsPercent: summary.violationsPercent,
      ...(gateway ? { gatewayMatches: gateway.matches } : {}),
    },
    'load replay done',
  );
  return summary;
}

/** A JSON-lines file written as records come; `close` resolves once it is all on disk. */
async function openLines(file: string): Promise<{ write(record: ReplayRecord): void; close(): Promise<void> }> {
  await mkdir(dirname(file), { recursive: true });
  const stream = createWriteStream(file);
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure ??= error;
  });
  await once(stream, 'open');
  return {
    write(record) {
      if (!failure) stream.write(`${JSON.stringify(record)}\n`);
    },
    async close() {
      if (!stream.closed) await new Promise<void>((resolve) => stream.end(resolve));
      if (failure) throw new Error(`could not write ${file}: ${failure.message}`);
    },
  };
}
