import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGeneratorArrivals } from '../../src/simulator/arrivals.js';
import { PipelineSimulator, type StagePlan } from '../../src/simulator/pipelineSimulator.js';

const plan = (key: string, replicas: number, accuracy: number, costPerReplica: number): StagePlan => ({
  key,
  batch: 1,
  replicas,
  accuracy,
  costPerReplica,
  service: [{ kind: 'deterministic', ms: 10 }],
});

/** 50 requests/s spread evenly for 60 s through one stage, with a 5-s reconfiguration delay. */
function simulator(delayMs = 5000): PipelineSimulator {
  return new PipelineSimulator({
    arrivalsMs: loadGeneratorArrivals(Array(60).fill(50), 1, 'equal'),
    stages: 1,
    slaMs: 1000,
    dropLimitMs: Number.POSITIVE_INFINITY,
    batchTimeoutMs: 0,
    reconfigurationDelayMs: delayMs,
    pas: 'multiply',
    seed: 1,
    seconds: 60,
  });
}

const close = (a: number | undefined, b: number, what: string) => assert.ok(Math.abs((a as number) - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

describe('reconfiguration in the simulator', () => {
  it('a new variant serves only after the delay; the old one serves until then and is paid for until it is gone', () => {
    const sim = simulator();
    sim.reconfigure([plan('old', 1, 0.5, 1)], 0);
    sim.advanceTo(10_000);
    sim.reconfigure([plan('new', 3, 0.9, 2)], 10_000);
    sim.drain();
    const s = sim.series();
    for (let t = 0; t < 15; t++) {
      assert.equal(s.readyReplicas[t], 1, `second ${t}: only the old replica serves`);
      close(s.pas[t], 0.5, `PAS in second ${t}`);
    }
    for (let t = 15; t < 60; t++) assert.equal(s.readyReplicas[t], 3, `second ${t}: the new replicas serve`);
    for (let t = 16; t < 60; t++) close(s.pas[t], 0.9, `PAS in second ${t}`);
    for (let t = 0; t < 10; t++) close(s.cost[t], 1, `cost in second ${t}`);
    for (let t = 10; t < 15; t++) close(s.cost[t], 1 + 3 * 2, `cost in second ${t}: new replicas are paid while they start`);
    assert.ok(
      (s.cost[15] as number) >= 6 && (s.cost[15] as number) < 6 + 0.011,
      `second 15: the old replica goes after its last batch (${s.cost[15]})`,
    );
    for (let t = 16; t < 60; t++) close(s.cost[t], 6, `cost in second ${t}`);
  });

  it('more replicas of the same option join after the delay; fewer take effect at once', () => {
    const sim = simulator();
    sim.reconfigure([plan('p', 1, 0.7, 1)], 0);
    sim.advanceTo(10_000);
    sim.reconfigure([plan('p', 3, 0.7, 1)], 10_000);
    sim.advanceTo(30_000);
    sim.reconfigure([plan('p', 2, 0.7, 1)], 30_000);
    sim.drain();
    const s = sim.series();
    for (let t = 0; t < 15; t++) assert.equal(s.readyReplicas[t], 1, `second ${t}`);
    for (let t = 15; t < 30; t++) assert.equal(s.readyReplicas[t], 3, `second ${t}`);
    for (let t = 30; t < 60; t++) assert.equal(s.readyReplicas[t], 2, `second ${t}`);
    close(s.cost[9], 1, 'before the scale-up');
    close(s.cost[10], 3, 'from the scale-up decision');
    assert.ok((s.cost[30] as number) <= 2 + 0.011, `the removed replica goes within its batch (${s.cost[30]})`);
    close(s.cost[31], 2, 'after the scale-down');
  });

  it('with no delay a change is immediate', () => {
    const sim = simulator(0);
    sim.reconfigure([plan('old', 1, 0.5, 1)], 0);
    sim.advanceTo(10_000);
    sim.reconfigure([plan('new', 2, 0.9, 1)], 10_000);
    sim.drain();
    const s = sim.series();
    assert.equal(s.readyReplicas[9], 1);
    assert.equal(s.readyReplicas[10], 2);
    close(s.pas[11], 0.9, 'PAS after the change');
  });

  it('re-applying the running config changes nothing', () => {
    const sim = simulator();
    sim.reconfigure([plan('p', 2, 0.7, 1)], 0);
    sim.advanceTo(10_000);
    sim.reconfigure([plan('p', 2, 0.7, 1)], 10_000);
    sim.drain();
    const s = sim.series();
    for (let t = 0; t < 60; t++) {
      assert.equal(s.readyReplicas[t], 2);
      close(s.cost[t], 2, `cost in second ${t}`);
    }
  });
});
