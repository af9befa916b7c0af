import { nearestRank } from '../common/nearestRank.js';
import { grown } from './grown.js';

/** What a simulation yields per simulated second t, i.e. for events in [t, t + 1) s. */
export interface SecondSeries {
  seconds: number;
  /** Requests that arrived (were sent) in the second. */
  arrivals: Int32Array;
  /** Requests that left the last stage in the second. */
  completions: Int32Array;
  /** Requests dropped in the second: they waited past the drop limit before a stage served them. */
  drops: Int32Array;
  /** Completions over the SLA plus drops: requests that did not get an answer in time. */
  violations: Int32Array;
  /** Arrived and neither completed nor dropped, at the end of the second. */
  inFlight: Int32Array;
  /** Nearest-rank percentiles and mean of the end-to-end latency of the second's completions (NaN: none). */
  p50Ms: Float64Array;
  p99Ms: Float64Array;
  meanLatencyMs: Float64Array;
  /** Mean PAS the second's completions got, from the variants that really served each one (NaN: none). */
  pas: Float64Array;
  /** Time-averaged cost rate: Σ allocated replicas × per-replica cost (pending and draining ones too). */
  cost: Float64Array;
  /** Replicas able to serve at the end of the second (ready, not yet gone), all stages together. */
  readyReplicas: Int32Array;
}

/** Per-second counters in growable typed arrays; the simulator closes each second once. */
export class SecondStats {
  arrivals: Int32Array;
  completions: Int32Array;
  drops: Int32Array;
  violations: Int32Array;
  inFlight: Int32Array;
  readyReplicas: Int32Array;
  latencySum: Float64Array;
  pasSum: Float64Array;
  cost: Float64Array;
  p50: Float64Array;
  p99: Float64Array;
  /** Latencies of the open second's completions, sorted when it closes. */
  private latencies = new Float64Array(1024);
  private buffered = 0;

  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    this.arrivals = new Int32Array(n);
    this.completions = new Int32Array(n);
    this.drops = new Int32Array(n);
    this.violations = new Int32Array(n);
    this.inFlight = new Int32Array(n);
    this.readyReplicas = new Int32Array(n);
    this.latencySum = new Float64Array(n);
    this.pasSum = new Float64Array(n);
    this.cost = new Float64Array(n);
    this.p50 = new Float64Array(n);
    this.p99 = new Float64Array(n);
  }

  /** Makes room for second `t`. */
  reserve(t: number): void {
    if (t < this.arrivals.length) return;
    const capacity = Math.max(t + 1, this.arrivals.length * 2);
    this.arrivals = grown(this.arrivals, capacity);
    this.completions = grown(this.completions, capacity);
    this.drops = grown(this.drops, capacity);
    this.violations = grown(this.violations, capacity);
    this.inFlight = grown(this.inFlight, capacity);
    this.readyReplicas = grown(this.readyReplicas, capacity);
    this.latencySum = grown(this.latencySum, capacity);
    this.pasSum = grown(this.pasSum, capacity);
    this.cost = grown(this.cost, capacity);
    this.p50 = grown(this.p50, capacity);
    this.p99 = grown(this.p99, capacity);
  }

  arrive(t: number): void {
    this.arrivals[t] = (this.arrivals[t] as number) + 1;
  }

  /** One completion in the open second `t`. */
  complete(t: number, latencyMs: number, pas: number, violates: boolean): void {
    this.completions[t] = (this.completions[t] as number) + 1;
    this.latencySum[t] = (this.latencySum[t] as number) + latencyMs;
    this.pasSum[t] = (this.pasSum[t] as number) + pas;
    if (violates) this.violations[t] = (this.violations[t] as number) + 1;
    if (this.buffered === this.latencies.length) this.latencies = grown(this.latencies, this.buffered * 2);
    this.latencies[this.buffered++] = latencyMs;
  }

  drop(t: number): void {
    this.drops[t] = (this.drops[t] as number) + 1;
    this.violations[t] = (this.violations[t] as number) + 1;
  }

  /** Closes second `t`: its latency percentiles and the state at its end. */
  close(t: number, inFlight: number, readyReplicas: number): void {
    const latencies = this.latencies.subarray(0, this.buffered).sort();
    this.p50[t] = nearestRank(latencies, 0.5);
    this.p99[t] = nearestRank(latencies, 0.99);
    this.buffered = 0;
    this.inFlight[t] = inFlight;
    this.readyReplicas[t] = readyReplicas;
  }

  series(seconds: number): SecondSeries {
    const completions = this.completions.slice(0, seconds);
    const perCompletion = (sums: Float64Array) => Float64Array.from(completions, (n, t) => (n > 0 ? (sums[t] as number) / n : Number.NaN));
    return {
      seconds,
      arrivals: this.arrivals.slice(0, seconds),
      completions,
      drops: this.drops.slice(0, seconds),
      violations: this.violations.slice(0, seconds),
      inFlight: this.inFlight.slice(0, seconds),
      p50Ms: this.p50.slice(0, seconds),
      p99Ms: this.p99.slice(0, seconds),
      meanLatencyMs: perCompletion(this.latencySum),
      pas: perCompletion(this.pasSum),
      cost: this.cost.slice(0, seconds),
      readyReplicas: this.readyReplicas.slice(0, seconds),
    };
  }
}
