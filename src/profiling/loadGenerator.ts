import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../common/log.js';
import { checkEndpoint, type InferenceEndpoint, type InferenceRequest, inferUrl } from './inferenceEndpoint.js';
import { type LatencyStats, latencyStats } from './latencyStats.js';
import { poissonArrivals } from './poissonArrivals.js';

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
  checkEndpoint(options.endpoint);
  positive('durationMs', options.durationMs);
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
  ) {}

  /** Sends one request; latency runs from `measuredFrom` (the scheduled time in the open loop). */
  async send(measuredFrom: number): Promise<void> {
    this.sent++;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: this.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Reading the body is part of the answer; it also frees the keep-alive connection.
      const text = await response.text();
      if (response.ok) {
        this.ok++;
        this.latenciesMs.push(performance.now() - measuredFrom);
      } else {
        this.errors++;
        this.sample(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      }
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        this.timeouts++;
      } else {
        this.errors++;
        const cause = (error as { cause?: { message?: string } }).cause?.message;
        this.sample(`${(error as Error).message}${cause ? `: ${cause}` : ''}`);
      }
    }
    this.lastAnswerAt = performance.now();
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
  const tally = new Tally(inferUrl(options.endpoint), JSON.stringify(options.payload), timeoutMs);
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  for (const offset of arrivals) {
    const due = startedAt + offset;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(tally.send(due));
  }
  await Promise.all(inFlight);
  const result = tally.result('open', startedAt, options.durationMs);
  log.debug({ model: options.endpoint.model, rate: options.ratePerSecond, ...result }, 'open-loop run done');
  return result;
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
