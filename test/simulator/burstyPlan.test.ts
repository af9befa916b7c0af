import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nearestRank } from '../../src/common/nearestRank.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { decide } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
import { loadGeneratorArrivals } from '../../src/simulator/arrivals.js';
import { pipelineSimulatorFor } from '../../src/simulator/policyEvaluation.js';
import { stagePlansOf } from '../../src/simulator/stagePlans.js';

/**
 * The `bursty` planning model (a second's requests together, served in waves, the last batch
 * waiting out its timeout) against the simulator serving the very config it chose, on IPA's load
 * generator at the constant load it planned for. It must never be optimistic. How pessimistic it
 * is, is printed: that is the room a tighter model would give back as cost or accuracy.
 */
const SECONDS = 300;

describe('the bursty planning model on the video pipeline', () => {
  it('plans an end-to-end latency at or above the simulated p99 of its own config, from 10 to 300 requests/s', async (t) => {
    const profiles = await resolveProfileSet('measured-h200');
    const spec = { ...(await resolvePipelineSpec('video', profiles)), arrivals: 'bursty' as const };
    const ratios: string[] = [];
    for (const load of [10, 20, 40, 80, 160, 300]) {
      const decision = decide(problemFromSpec(spec, profiles, load), { explain: false });
      assert.ok(decision.feasible, `${load} requests/s: feasible`);
      const simulator = pipelineSimulatorFor(
        spec,
        loadGeneratorArrivals(Array<number>(SECONDS).fill(load), 1, 'exponential'),
        { dropLimitMs: Number.POSITIVE_INFINITY, reconfigurationDelaySeconds: 0, seed: 1 },
        SECONDS,
      );
      simulator.reconfigure(stagePlansOf(decision.config, profiles, spec.cost), 0);
      simulator.advanceTo((SECONDS + 10) * 1000);
      assert.equal(simulator.completed, simulator.arrived, `${load} requests/s: every request served`);
      const p99 = nearestRank(Float64Array.from(simulator.latencyMs).sort(), 0.99);
      ratios.push(`${load}/s ${(decision.latencyMs / p99).toFixed(2)}×`);
      assert.ok(
        decision.latencyMs >= p99,
        `${load} requests/s: planned ${decision.latencyMs.toFixed(1)} ms < simulated p99 ${p99.toFixed(1)} ms`,
      );
    }
    t.diagnostic(`planned / simulated p99: ${ratios.join(', ')}`);
  });
});
