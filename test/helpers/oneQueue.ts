import assert from 'node:assert/strict';
import { PipelineSimulator } from '../../src/simulator/pipelineSimulator.js';
import type { ServiceTime } from '../../src/simulator/serviceTime.js';

/**
 * The pipeline simulator as one FIFO queue: one stage, batch 1, `replicas` servers with the given
 * service time, nothing dropped and no SLA. Every request's latency (wait + service), in arrival
 * order; the run must complete every request.
 */
export function oneQueueLatenciesMs(arrivalsMs: Float64Array, replicas: number, service: ServiceTime, seed: number): Float64Array {
  const simulator = new PipelineSimulator({
    arrivalsMs,
    stages: 1,
    slaMs: Number.POSITIVE_INFINITY,
    dropLimitMs: Number.POSITIVE_INFINITY,
    batchTimeoutMs: 0,
    reconfigurationDelayMs: 0,
    pas: 'multiply',
    seed,
  });
  simulator.reconfigure([{ key: 'server', batch: 1, replicas, accuracy: 1, costPerReplica: 1, service: [service] }], 0);
  simulator.drain();
  assert.equal(simulator.completed, arrivalsMs.length);
  assert.equal(simulator.dropped, 0);
  return simulator.latencyMs;
}
