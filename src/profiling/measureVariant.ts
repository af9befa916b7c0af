import type { ProfileRow } from '../model/profileSet.js';
import type { MeasurementSettings, SkippedBatch } from '../model/profilingRun.js';
import { fetchModelMetadata, type InferenceEndpoint, payloadFromMetadata } from './inferenceEndpoint.js';
import { runClosedLoop, runOpenLoop } from './loadGenerator.js';
import { answeredRate, highestSustainableRate, probeFailure } from './rateSearch.js';

export interface BatchProgress {
  batch: number;
  /** What is running now, e.g. "probe 3 at 120 req/s". */
  phase: string;
  rows: ProfileRow[];
  skipped: SkippedBatch[];
}

export interface MeasureOptions {
  endpoint: InferenceEndpoint;
  settings: MeasurementSettings;
  /** Batches an earlier attempt finished: kept, not measured again. */
  done?: { rows: ProfileRow[]; skipped: SkippedBatch[] };
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
}

/**
 * Measures one row per batch size on a ready endpoint. A request carries the whole batch, so the
 * row is what one replica does with batches of that size, whatever batching the server adds. The
 * row's latencies are the service time (one request at a time); its throughput is the highest
 * open-loop rate whose latency percentile stays within the bound, in items per second.
 */
export async function measureBatches(options: MeasureOptions): Promise<{ rows: ProfileRow[]; skipped: SkippedBatch[] }> {
  const { endpoint, settings, signal } = options;
  const rows = [...(options.done?.rows ?? [])];
  const skipped = [...(options.done?.skipped ?? [])];
  const finished = new Set([...rows.map((r) => r.batch), ...skipped.map((s) => s.batch)]);
  const metadata = await fetchModelMetadata(endpoint);
  const probeMs = settings.probeSeconds * 1000;
  for (const batch of [...settings.batches].sort((a, b) => a - b)) {
    if (finished.has(batch)) continue;
    const report = (phase: string) => options.onProgress?.({ batch, phase, rows, skipped });
    const payload = payloadFromMetadata(metadata, { batchSize: batch });
    signal?.throwIfAborted();
    if (settings.warmupSeconds > 0) {
      report('warm-up');
      await runClosedLoop({ endpoint, payload, durationMs: settings.warmupSeconds * 1000, concurrency: 1 });
    }
    signal?.throwIfAborted();
    // One client back to back: the time a replica takes per batch, without queueing, which the
    // optimizer adds itself from the load it plans for.
    report('service time');
    const service = await runClosedLoop({ endpoint, payload, durationMs: probeMs, concurrency: 1 });
    const bounds = { percentile: settings.percentile, boundMs: settings.latencyBoundMs, probeMs, serviceMs: service.p50Ms };
    const serviceFailure = probeFailure(service.throughput, service, bounds);
    if (serviceFailure) {
      skipped.push({ batch, reason: `one request at a time: ${serviceFailure}` });
      report('done');
      continue;
    }
    signal?.throwIfAborted();
    report('saturation');
    // Two clients keep a server busy: one request is served while the next waits.
    const saturation = await runClosedLoop({ endpoint, payload, durationMs: probeMs, concurrency: 2 });
    let probeCount = 0;
    const search = await highestSustainableRate({
      ...bounds,
      saturationRate: Math.max(answeredRate(saturation, bounds), answeredRate(service, bounds)),
      steps: settings.searchSteps,
      probe: async (rate) => {
        signal?.throwIfAborted();
        report(`probe ${++probeCount} at ${rate} req/s`);
        return runOpenLoop({ endpoint, payload, durationMs: probeMs, ratePerSecond: rate, seed: batch * 1000 + probeCount });
      },
    });
    if (search.best) {
      // latencyStats already rounds to the microsecond.
      const { p50Ms, p95Ms, p99Ms, meanMs, maxMs } = service;
      rows.push({
        batch,
        p50Ms,
        p95Ms,
        p99Ms,
        meanMs,
        maxMs,
        throughputRps: Math.round(answeredRate(search.best.result, bounds) * batch * 1000) / 1000,
        samples: service.ok,
      });
    } else {
      skipped.push({ batch, reason: search.probes.map((p) => p.failure).join('; ') });
    }
    report('done');
  }
  rows.sort((a, b) => a.batch - b.batch);
  return { rows, skipped };
}
