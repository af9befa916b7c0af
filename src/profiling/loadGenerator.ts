import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../common/log.js';
import { checkEndpoint, type InferenceEndpoint, type InferenceRequest, inferUrl } from './inferenceEndpoint.js';
import { type LatencyStats, latencyStats } from './latencyStats.js';
import { poissonArrivals } from './poissonArrivals.js';
import { parseServerTiming } from './serverTiming.js';

/** What one load run measured. Latencies count successful requests only. */
export interface LoadResult extends LatencyStats {
  mode: 'open' | 'closed';
  /** Requests started. */
  sent: number;
  ok: number;
  /** Non-2xx answers and connection failures. */
  errors: number;
  /** Requests aborted after `timeoutMs`. */
  timeouts: number;
  /** Successful requests per second of the run (from the first send to the last answer, at least the duration). */
  throughput: number;
  elapsedMs: number;
  /** Up to 5 distinct error messages, to say why a run failed without flooding logs. */
  errorSamples: string[];
}

interface CommonOptions {
  endpoint: InferenceEndpoint;
  payload: InferenceRequest;
  durationMs: number;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export interface OpenLoopOptions extends CommonOptions {
  /** Target arrival rate, requests/s. */
  ratePerSecond: number;
  /** Seed of the arrival times; default 1. */
  seed?: number;
  /** Called once per request sent, with its answer or failure. */
  onAnswer?: (answer: RequestAnswer) => void;
}

/**
 * One request as the client saw it, for callers that keep every request (the live replay writes
 * one line per request). Exactly one per request sent, whatever became of it.
 */
export interface RequestAnswer {
  /** Position in the schedule: the n-th request sent, from 0. */
  index: number;
  /** When it was due and when it was handed to fetch, ms from the run's start. */
  scheduledMs: number;
  sentMs: number;
  /** Wall clock at the send, ms since the epoch. */
  sentAt: number;
  /** From the scheduled send to the answer's last byte, or to the failure, ms. */
  latencyMs: number;
  /** HTTP status; 0 when no answer came (connection failure, timeout). */
  status: number;
  /** True when it was aborted after the per-request timeout. */
  timedOut: boolean;
  /** Why it failed: the start of a non-2xx body, the connection error, or the timeout. */
  error?: string;
  /** The answer's `Server-Timing` durations by name, ms, when it sent them (the pipeline gateway does). */
  serverTiming?: Record<string, number>;
}

export interface ScheduledLoadOptions {
  endpoint: InferenceEndpoint;
  payload: InferenceRequest;
  /** Send times, ms from the run's start, ascending: the open loop sends each on time, answered or not. */
  scheduleMs: ArrayLike<number>;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Stops sending what is still to come; requests already sent finish (each within `timeoutMs`). */
  signal?: AbortSignal;
  /** Called as each request is handed to fetch. */
  onSend?: (index: number) => void;
  /** Called once per request sent, with its answer or failure. */
  onAnswer?: (answer: RequestAnswer) => void;
}

export interface ClosedLoopOptions extends CommonOptions {
  /** Clients sending back to back, each waiting for its answer. */
  concurrency: number;
}

function positive(field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${field} must be a finite number > 0, got ${JSON.stringify(value)}`);
  }
}

function checkCommon(options: CommonOptions): number {
  positive('durationMs', options.durationMs);
  return checkRequest(options);
}

function checkRequest(options: Pick<CommonOptions, 'endpoint' | 'payload' | 'timeoutMs'>): number {
  checkEndpoint(options.endpoint);
  const timeoutMs = options.timeoutMs ?? 10_000;
  positive('timeoutMs', timeoutMs);
  if (!options.payload || !Array.isArray(options.payload.inputs) || options.payload.inputs.length === 0) {
    throw new Error(`payload must be an inference request with inputs, got ${JSON.stringify(options.payload)?.slice(0, 200)}`);
  }
  return timeoutMs;
}

/** Tallies of a run; `send` never throws, so callers can fire and forget. */
class Tally {
  readonly latenciesMs: number[] = [];
  sent = 0;
  ok = 0;
  errors = 0;
  timeouts = 0;
  lastAnswerAt = 0;
  private readonly samples = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly body: string,
    private readonly timeoutMs: number,
    private readonly onAnswer?: (answer: RequestAnswer) => void,
  ) {}

  /**
   * Sends one request; latency runs from `measuredFrom` (the scheduled time in the open loop).
   * `startedAt` and `index` place it in the run for `onAnswer`.
   */
  async send(measuredFrom: number, startedAt = measuredFrom, index = this.sent): Promise<void> {
    this.sent++;
    const sentAt = Date.now();
    const sentFrom = performance.now();
    let status = 0;
    let timedOut = false;
    let error: string | undefined;
    let serverTiming: Record<string, number> | undefined;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: this.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Reading the body is part of the answer; it also frees the keep-alive connection.
      const text = await response.text();
      status = response.status;
      serverTiming = parseServerTiming(response.headers.get('server-timing'));
      if (response.ok) {
        this.ok++;
        this.latenciesMs.push(performance.now() - measuredFrom);
      } else {
        this.errors++;
        error = text.slice(0, 200);
        this.sample(`HTTP ${response.status}: ${error}`);
      }
    } catch (failure) {
      const name = (failure as Error).name;
      status = 0;
      if (name === 'TimeoutError' || name === 'AbortError') {
        this.timeouts++;
        timedOut = true;
        error = `no answer within ${this.timeoutMs} ms`;
      } else {
        this.errors++;
        const cause = (failure as { cause?: { message?: string } }).cause?.message;
        error = `${(failure as Error).message}${cause ? `: ${cause}` : ''}`;
        this.sample(error);
      }
    }
    this.lastAnswerAt = performance.now();
    if (!this.onAnswer) return;
    const answer: RequestAnswer = {
      index,
      scheduledMs: measuredFrom - startedAt,
      sentMs: sentFrom - startedAt,
      sentAt,
      latencyMs: this.lastAnswerAt - measuredFrom,
      status,
      timedOut,
      ...(error === undefined ? {} : { error }),
      ...(serverTiming === undefined ? {} : { serverTiming }),
    };
    try {
      this.onAnswer(answer);
    } catch (failure) {
      // `send` must not throw: the run waits for every request.
      log.error({ err: failure, index }, 'onAnswer failed');
    }
  }

  private sample(message: string): void {
    if (this.samples.size < 5) this.samples.add(message);
  }

  result(mode: LoadResult['mode'], startedAt: number, durationMs: number): LoadResult {
    const elapsedMs = Math.max(durationMs, this.lastAnswerAt - startedAt);
    return {
      mode,
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      timeouts: this.timeouts,
      throughput: Math.round((this.ok / (elapsedMs / 1000)) * 1000) / 1000,
      elapsedMs: Math.round(elapsedMs),
      ...latencyStats(this.latenciesMs),
      errorSamples: [...this.samples],
    };
  }
}

/**
 * Open loop: requests arrive as a seeded Poisson process at `ratePerSecond`, whether or not
 * earlier ones were answered. Latency is measured from each request's scheduled time, not from
 * when it was actually sent, so a stalled client or server shows up as latency instead of
 * silently lowering the offered load (coordinated omission).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const timeoutMs = checkCommon(options);
  positive('ratePerSecond', options.ratePerSecond);
  const arrivals = poissonArrivals(options.ratePerSecond, options.durationMs, options.seed ?? 1);
  const tally = new Tally(inferUrl(options.endpoint), JSON.stringify(options.payload), timeoutMs, options.onAnswer);
  const startedAt = await sendOnSchedule(tally, arrivals);
  const result = tally.result('open', startedAt, options.durationMs);
  log.debug({ model: options.endpoint.model, rate: options.ratePerSecond, ...result }, 'open-loop run done');
  return result;
}

/**
 * Open loop on a given schedule (a replayed trace, bursts): each request goes out at its time
 * whether or not earlier ones were answered, latency measured from that time as in
 * `runOpenLoop`. Every request sent is reported to `onAnswer` exactly once.
 */
export async function runScheduledLoad(options: ScheduledLoadOptions): Promise<LoadResult & { aborted: boolean }> {
  const timeoutMs = checkRequest(options);
  const schedule = options.scheduleMs;
  for (let i = 0; i < schedule.length; i++) {
    const at = schedule[i] as number;
    if (!Number.isFinite(at) || at < 0 || (i > 0 && at < (schedule[i - 1] as number))) {
      throw new Error(`scheduleMs must be ascending times ≥ 0, got ${JSON.stringify(at)} at [${i}]`);
    }
  }
  const tally = new Tally(inferUrl(options.endpoint), JSON.stringify(options.payload), timeoutMs, options.onAnswer);
  const startedAt = await sendOnSchedule(tally, schedule, options.signal, options.onSend);
  const durationMs = Math.max(1, schedule.length > 0 ? (schedule[schedule.length - 1] as number) : 0);
  const result = tally.result('open', startedAt, durationMs);
  log.debug({ model: options.endpoint.model, requests: schedule.length, ...result }, 'scheduled open-loop run done');
  return { ...result, aborted: options.signal?.aborted ?? false };
}

/** Sends at each offset (ms from now), stops sending once `signal` aborts, waits for every answer; returns the start. */
async function sendOnSchedule(
  tally: Tally,
  offsets: ArrayLike<number>,
  signal?: AbortSignal,
  onSend?: (index: number) => void,
): Promise<number> {
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < offsets.length && !signal?.aborted; i++) {
    const due = startedAt + (offsets[i] as number);
    const wait = due - performance.now();
    if (wait > 1) {
      try {
        await sleep(wait, undefined, signal ? { signal } : undefined);
      } catch {
        break; // aborted while waiting
      }
    }
    onSend?.(i);
    inFlight.push(tally.send(due, startedAt, i));
  }
  await Promise.all(inFlight);
  return startedAt;
}

/**
 * Closed loop: `concurrency` clients each send, wait for the answer and send again until the
 * duration is over; this finds the throughput the server saturates at.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const timeoutMs = checkCommon(options);
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new Error(`concurrency must be an integer ≥ 1, got ${JSON.stringify(options.concurrency)}`);
  }
  const tally = new Tally(inferUrl(options.endpoint), JSON.stringify(options.payload), timeoutMs);
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;
  const client = async () => {
    while (performance.now() < deadline) await tally.send(performance.now());
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const result = tally.result('closed', startedAt, options.durationMs);
  log.debug({ model: options.endpoint.model, concurrency: options.concurrency, ...result }, 'closed-loop run done');
  return result;
}
