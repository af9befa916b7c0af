import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erlangC, queueWaitMs } from '../../src/optimizer/queueing.js';
import { poissonArrivals } from '../../src/simulator/arrivals.js';
import type { ServiceTime } from '../../src/simulator/serviceTime.js';
import { oneQueueLatenciesMs } from '../helpers/oneQueue.js';

/**
 * One stage, batch 1, Poisson arrivals: the simulator's mean queueing wait against queueing
 * theory. About a million requests per case at utilisation 0.7, seeded, so the estimate's
 * sampling error is well under 1 %. Tolerances: 3 % where the formula is exact (M/M/c by Erlang C,
 * M/D/1 by Pollaczek–Khinchine), 5 % for M/D/c, whose formula (Cosmetatos' correction of half the
 * M/M/c wait) is itself an approximation good to a few percent at this load.
 */

const SERVICE_MS = 10;
const MU = 1000 / SERVICE_MS;
const RHO = 0.7;
const REQUESTS = 1_000_000;

/** Mean wait in queue, ms. */
function mmcWaitMs(c: number, lambda: number): number {
  return (erlangC(c, lambda / MU) / (c * MU - lambda)) * 1000;
}

function mdcWaitMs(c: number, lambda: number): number {
  const rho = lambda / (c * MU);
  if (c === 1) return (rho / (2 * MU * (1 - rho))) * 1000;
  const correction = 1 + ((1 - rho) * (c - 1) * (Math.sqrt(4 + 5 * c) - 2)) / (16 * rho * c);
  return 0.5 * mmcWaitMs(c, lambda) * correction;
}

/** Every request's latency in a run with c servers at ρ 0.7. */
function simulatedLatenciesMs(c: number, service: ServiceTime, seed: number): Float64Array {
  const lambda = RHO * c * MU;
  const seconds = Math.round(REQUESTS / lambda);
  const arrivalsMs = poissonArrivals(lambda, seconds, seed);
  return oneQueueLatenciesMs(arrivalsMs, c, service, seed + 1);
}

/** Mean of (latency − service) over every request of a run with c servers. */
function simulatedWaitMs(c: number, service: ServiceTime, seed: number): number {
  const latencies = simulatedLatenciesMs(c, service, seed);
  let sum = 0;
  for (const latency of latencies) sum += latency;
  return sum / latencies.length - SERVICE_MS;
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  const error = Math.abs(actual / expected - 1);
  assert.ok(
    error <= tolerance,
    `${what}: simulated ${actual.toFixed(3)} ms vs theory ${expected.toFixed(3)} ms (${(error * 100).toFixed(2)} % > ${tolerance * 100} %)`,
  );
}

describe('simulator against queueing theory (one stage, batch 1, Poisson arrivals, ρ = 0.7)', () => {
  for (const c of [1, 3]) {
    it(`M/M/${c}: mean wait matches Erlang C within 3 %`, () => {
      const lambda = RHO * c * MU;
      assertClose(simulatedWaitMs(c, { kind: 'exponential', meanMs: SERVICE_MS }, 11 * c), mmcWaitMs(c, lambda), 0.03, `M/M/${c}`);
    });
  }

  it('M/D/1: mean wait matches Pollaczek–Khinchine within 3 %', () => {
    assertClose(simulatedWaitMs(1, { kind: 'deterministic', ms: SERVICE_MS }, 5), mdcWaitMs(1, RHO * MU), 0.03, 'M/D/1');
  });

  it('M/D/3: mean wait matches the Cosmetatos approximation within 5 %', () => {
    assertClose(simulatedWaitMs(3, { kind: 'deterministic', ms: SERVICE_MS }, 9), mdcWaitMs(3, RHO * 3 * MU), 0.05, 'M/D/3');
  });

  it("M/D/3: the optimizer's p99 queue wait (M/M/c, for poisson arrivals) is above the simulated one, by less than 2.5×", () => {
    const latencies = Float64Array.from(simulatedLatenciesMs(3, { kind: 'deterministic', ms: SERVICE_MS }, 9)).sort();
    const simulated = (latencies[Math.floor(0.99 * latencies.length)] as number) - SERVICE_MS;
    const planned = queueWaitMs({ load: RHO * 3 * MU, replicas: 3, batch: 1, batchesPerSecond: MU }, 0.99);
    assert.ok(planned >= simulated && planned < 2.5 * simulated, `planned ${planned.toFixed(2)} ms, simulated ${simulated.toFixed(2)} ms`);
  });

  it('a lognormal with p50 = p99 is deterministic: M/D/1 again', () => {
    const wait = simulatedWaitMs(1, { kind: 'lognormal', p50Ms: SERVICE_MS, p99Ms: SERVICE_MS }, 5);
    assertClose(wait, mdcWaitMs(1, RHO * MU), 0.03, 'M/D/1 as lognormal');
  });
});
