import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGeneratorArrivals } from '../../src/simulator/arrivals.js';
import { PipelineSimulator, type SimulatorOptions, type StagePlan } from '../../src/simulator/pipelineSimulator.js';

const plan = (key: string, replicas: number, ms: number, batch = 1, accuracy = 0.8): StagePlan => ({
  key,
  batch,
  replicas,
  accuracy,
  costPerReplica: 1,
  service: Array.from({ length: batch }, () => ({ kind: 'deterministic', ms })),
});

const options = (arrivalsMs: Float64Array, overrides: Partial<SimulatorOptions> = {}): SimulatorOptions => ({
  arrivalsMs,
  stages: 1,
  slaMs: 1000,
  dropLimitMs: Number.POSITIVE_INFINITY,
  batchTimeoutMs: 100,
  reconfigurationDelayMs: 0,
  pas: 'multiply',
  seed: 1,
  ...overrides,
});

describe('pipeline simulator', () => {
  it('conserves requests at every second: arrived = completed + dropped + in flight, and in flight is really in the system', () => {
    // Two stages, batching, an overload with drops, and every kind of reconfiguration.
    const workload = Array.from({ length: 120 }, (_, t) => (t < 40 ? 20 : t < 80 ? 90 : 10));
    const arrivalsMs = loadGeneratorArrivals(workload, 3);
    const simulator = new PipelineSimulator({
      ...options(arrivalsMs, { stages: 2, dropLimitMs: 400, reconfigurationDelayMs: 3000, batchTimeoutMs: [50, 20] }),
      seconds: 120,
    });
    const lognormal = (key: string, replicas: number, batch: number): StagePlan => ({
      key,
      batch,
      replicas,
      accuracy: 0.9,
      costPerReplica: 2,
      service: Array.from({ length: batch }, (_, k) => ({ kind: 'lognormal', p50Ms: 20 + 5 * k, p99Ms: 40 + 8 * k })),
    });
    const configs: [number, StagePlan[]][] = [
      [0, [lognormal('a', 1, 4), lognormal('x', 2, 1)]],
      [30, [lognormal('a', 3, 4), lognormal('y', 1, 2)]],
      [50, [lognormal('b', 2, 8), lognormal('y', 4, 2)]],
      [52, [lognormal('b', 1, 8), lognormal('x', 1, 1)]],
      [90, [lognormal('a', 2, 4), lognormal('x', 1, 1)]],
    ];
    let arrived = 0;
    for (let t = 0; t <= 120; t++) {
      const config = configs.find(([at]) => at === t);
      if (config) simulator.reconfigure(config[1], t * 1000);
      simulator.advanceTo((t + 1) * 1000);
      assert.equal(simulator.arrived, simulator.completed + simulator.dropped + simulator.inFlight);
      assert.equal(simulator.requestsInSystem(), simulator.inFlight, `second ${t}`);
      assert.ok(simulator.arrived >= arrived);
      arrived = simulator.arrived;
    }
    simulator.drain();
    assert.equal(simulator.completed + simulator.dropped, arrivalsMs.length);
    assert.ok(simulator.dropped > 0, 'the overload drops requests');
    const series = simulator.series();
    let cumulative = 0;
    for (let t = 0; t < series.seconds; t++) {
      cumulative += (series.arrivals[t] as number) - (series.completions[t] as number) - (series.drops[t] as number);
      assert.equal(series.inFlight[t], cumulative, `in flight at the end of second ${t}`);
    }
    assert.equal(cumulative, 0);
    assert.equal(
      series.arrivals.reduce((a, b) => a + b, 0),
      arrivalsMs.length,
    );
  });

  it('sends a partial batch at the batch timeout, and a full batch at once', () => {
    const single = new PipelineSimulator(options(Float64Array.of(1000)));
    single.reconfigure([plan('p', 1, 10, 4)], 0);
    single.drain();
    assert.equal(single.latencyMs[0], 100 + 10, 'waits the 100-ms timeout, then a 10-ms batch');

    const four = new PipelineSimulator(options(Float64Array.of(1000, 1000, 1000, 1000)));
    four.reconfigure([plan('p', 1, 30, 4)], 0);
    four.drain();
    assert.deepEqual(Array.from(four.latencyMs), [30, 30, 30, 30]);
  });

  it("a plan's own batch timeout replaces the stage's, from the moment its servers serve", () => {
    const own = new PipelineSimulator(options(Float64Array.of(1000, 3000)));
    own.reconfigure([{ ...plan('p', 1, 10, 4), batchTimeoutMs: 20 }], 0);
    own.advanceTo(2000);
    // At 2 s the stage's own 100-ms timeout comes back with a plan that has none: a rollout.
    own.reconfigure([plan('q', 1, 10, 4)], 2000);
    own.drain();
    assert.deepEqual(Array.from(own.latencyMs), [20 + 10, 100 + 10]);
    assert.throws(
      () => new PipelineSimulator(options(Float64Array.of(0))).reconfigure([{ ...plan('bad', 1, 10, 4), batchTimeoutMs: -1 }], 0),
      /plan bad: batchTimeoutMs must be a number ≥ 0, got -1/,
    );
  });

  it('drops requests that waited past the drop limit, and none completes later than the limit plus one service', () => {
    const arrivalsMs = loadGeneratorArrivals(Array(20).fill(30), 4);
    const simulator = new PipelineSimulator(options(arrivalsMs, { dropLimitMs: 300 }));
    simulator.reconfigure([plan('slow', 1, 100)], 0);
    simulator.drain();
    assert.ok(simulator.dropped > arrivalsMs.length / 2, `${simulator.dropped} of ${arrivalsMs.length} dropped`);
    assert.equal(simulator.completed + simulator.dropped, arrivalsMs.length);
    for (const latency of simulator.latencyMs) if (!Number.isNaN(latency)) assert.ok(latency < 300 + 100 + 1e-9, `latency ${latency}`);
    const series = simulator.series();
    const violations = series.violations.reduce((a, b) => a + b, 0);
    let over = 0;
    for (const latency of simulator.latencyMs) if (latency > 1000) over += 1;
    assert.equal(violations, simulator.dropped + over, 'violations are the drops plus completions over the SLA');
  });

  it('gives each request the PAS of the variants that served it', () => {
    const simulator = new PipelineSimulator(options(Float64Array.of(0, 500), { stages: 2, pas: 'multiply' }));
    simulator.reconfigure([plan('a', 1, 10, 1, 0.5), plan('b', 1, 10, 1, 0.8)], 0);
    simulator.drain();
    const series = simulator.series();
    assert.ok(Math.abs((series.pas[0] as number) - 0.4) < 1e-12);
    const average = new PipelineSimulator(options(Float64Array.of(0), { stages: 2, pas: 'average' }));
    average.reconfigure([plan('a', 1, 10, 1, 0.5), plan('b', 1, 10, 1, 0.8)], 0);
    average.drain();
    assert.ok(Math.abs((average.series().pas[0] as number) - 0.65) < 1e-12);
  });

  it('repeats exactly with the same seed', () => {
    const run = (seed: number) => {
      const simulator = new PipelineSimulator(options(loadGeneratorArrivals(Array(30).fill(40), 2), { seed }));
      simulator.reconfigure(
        [
          {
            key: 'l',
            batch: 2,
            replicas: 1,
            accuracy: 1,
            costPerReplica: 1,
            service: [
              { kind: 'lognormal', p50Ms: 15, p99Ms: 30 },
              { kind: 'lognormal', p50Ms: 20, p99Ms: 35 },
            ],
          },
        ],
        0,
      );
      simulator.drain();
      return Array.from(simulator.latencyMs);
    };
    assert.deepEqual(run(5), run(5));
    assert.notDeepEqual(run(5), run(6));
  });
});
