import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Outcome = 'ok' | 'dropped' | 'error';

/** What the metrics read at scrape time: per stage, queue length and the ready replicas' variants. */
export interface StageSnapshot {
  stage: string;
  queueLength: number;
  /** One entry per ready replica: the model (variant) it serves. */
  readyVariants: string[];
}

/** Histogram buckets in seconds, with one exactly at the SLA so `le="SLA"` counts requests within it. */
export function latencyBuckets(slaMs: number): number[] {
  const sla = slaMs / 1000;
  const base = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const multiples = [0.25, 0.5, 0.75, 1, 1.5, 2].map((m) => Math.round(sla * m * 1e6) / 1e6);
  return [...new Set([...base, ...multiples])].filter((b) => b > 0).sort((a, b) => a - b);
}

/**
 * The gateway's Prometheus metrics, on a registry of its own (so two gateways in one process,
 * or the worker's metrics, never collide). Every request is counted exactly once by outcome.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'pipeline' | 'outcome'>;
  private readonly duration: Histogram<'pipeline'>;
  private readonly stageDuration: Histogram<'pipeline' | 'stage'>;

  constructor(
    readonly pipeline: string,
    slaMs: number,
    snapshot: () => StageSnapshot[],
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'ipa_gateway_requests_total',
      help: 'Pipeline requests answered, by outcome: ok (200), dropped (503, queued past the drop limit), error (any other failure)',
      labelNames: ['pipeline', 'outcome'],
      registers,
    });
    for (const outcome of ['ok', 'dropped', 'error'] as const) this.requests.inc({ pipeline, outcome }, 0);
    this.duration = new Histogram({
      name: 'ipa_gateway_request_duration_seconds',
      help: 'End-to-end latency of requests answered ok, from arrival at the gateway to the answer (one bucket is the SLA)',
      labelNames: ['pipeline'],
      buckets: latencyBuckets(slaMs),
      registers,
    });
    this.stageDuration = new Histogram({
      name: 'ipa_gateway_stage_duration_seconds',
      help: "Time a stage's replica took to answer one request (the call, without the wait in the stage queue)",
      labelNames: ['pipeline', 'stage'],
      buckets: latencyBuckets(slaMs),
      registers,
    });
    new Gauge({
      name: 'ipa_gateway_stage_queue_length',
      help: 'Requests waiting in the stage queue for a free replica',
      labelNames: ['pipeline', 'stage'],
      registers,
      collect() {
        for (const s of snapshot()) this.set({ pipeline, stage: s.stage }, s.queueLength);
      },
    });
    new Gauge({
      name: 'ipa_gateway_stage_replicas',
      help: 'Ready replicas the stage routes requests to',
      labelNames: ['pipeline', 'stage'],
      registers,
      collect() {
        for (const s of snapshot()) this.set({ pipeline, stage: s.stage }, s.readyVariants.length);
      },
    });
    new Gauge({
      name: 'ipa_gateway_stage_variant_replicas',
      help: 'Ready replicas of the stage by the variant (model) they serve',
      labelNames: ['pipeline', 'stage', 'variant'],
      registers,
      collect() {
        this.reset();
        for (const s of snapshot()) {
          const counts = new Map<string, number>();
          for (const v of s.readyVariants) counts.set(v, (counts.get(v) ?? 0) + 1);
          for (const [variant, n] of counts) this.set({ pipeline, stage: s.stage, variant }, n);
        }
      },
    });
  }

  request(outcome: Outcome, seconds: number): void {
    this.requests.inc({ pipeline: this.pipeline, outcome });
    if (outcome === 'ok') this.duration.observe({ pipeline: this.pipeline }, seconds);
  }

  stage(stage: string, seconds: number): void {
    this.stageDuration.observe({ pipeline: this.pipeline, stage }, seconds);
  }
}
