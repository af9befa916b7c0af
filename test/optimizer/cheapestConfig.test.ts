import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { seededRandom } from '../../src/common/seededRandom.js';
import { resolveProfileSet } from '../../src/io/load.js';
import type { Problem } from '../../src/model/problem.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { PAS_METHODS } from '../../src/model/settings.js';
import { cheapestConfig } from '../../src/optimizer/cheapestConfig.js';
import { latencyOf, pasOf, stageBudgetMs } from '../../src/optimizer/choiceModel.js';
import { buildOptions, type Option } from '../../src/optimizer/options.js';
import { randomProblem } from '../../src/tooling/syntheticProblems.js';

/** Every config, the cheapest that fits the SLA and reaches minPas: the reference. */
function cheapestByEnumeration(problem: Problem, minPas: number): number | undefined {
  const stages = buildOptions(problem).map((s) => s.options);
  let best: number | undefined;
  const walk = (s: number, picked: Option[]): void => {
    if (s === stages.length) {
      if (latencyOf(picked) > stageBudgetMs(problem) || pasOf(problem.objective.accuracy, picked) < minPas) return;
      const cost = picked.reduce((t, o) => t + o.cost, 0);
      if (best === undefined || cost < best) best = cost;
      return;
    }
    for (const o of stages[s] as Option[]) walk(s + 1, [...picked, o]);
  };
  walk(0, []);
  return best;
}

describe('the cheapest config at a PAS floor', () => {
  let profiles: ProfileSet;
  before(async () => {
    profiles = await resolveProfileSet('measured-h200');
  });

  it('matches enumeration on seeded random instances, every PAS method, floors from none to out of reach', () => {
    const random = seededRandom(18);
    let reached = 0;
    let outOfReach = 0;
    for (let i = 0; i < 150; i++) {
      const pas = PAS_METHODS[i % PAS_METHODS.length] as (typeof PAS_METHODS)[number];
      const problem = randomProblem(profiles, pas, random, {
        maxStages: 3,
        maxVariants: 4,
        maxShapes: 3,
        maxBatches: 4,
        maxCombinations: 5_000,
      });
      const stages = buildOptions(problem).map((s) => s.options);
      // A floor between none and the most accurate config's PAS, so some are reached and some not.
      const empty = stages.some((o) => o.length === 0);
      const top = empty
        ? 0
        : pasOf(
            pas,
            stages.map((o) => o.reduce((a, b) => (b.accuracy > a.accuracy ? b : a))),
          );
      const minPas = top * random();
      const reference = cheapestByEnumeration(problem, minPas);
      const got = cheapestConfig(problem, minPas);
      assert.equal(got?.cost, reference, `#${i} ${pas} floor ${minPas}: ${JSON.stringify(got?.options.map((o) => o.variant))}`);
      if (got) {
        assert.ok(got.pas >= minPas, `#${i}: PAS ${got.pas} < ${minPas}`);
        assert.ok(latencyOf(got.options) <= stageBudgetMs(problem) * (1 + 1e-12), `#${i}: latency over the SLA`);
        reached += 1;
      } else outOfReach += 1;
    }
    assert.ok(reached > 15 && outOfReach > 15, `reached ${reached}, out of reach ${outOfReach}: both outcomes exercised`);
  });
});
