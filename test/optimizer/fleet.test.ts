import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { seededRandom } from '../../src/common/seededRandom.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import type { ProfileSet } from '../../src/model/profileSet.js';
import { PAS_METHODS, type PasMethod } from '../../src/model/settings.js';
import { buildChoiceModel, latencyOf, objectiveOf } from '../../src/optimizer/choiceModel.js';
import { type Candidate, type Fleet, optimizeFleet, pipelineCandidates, solveFleetBruteForce } from '../../src/optimizer/fleet.js';
import { loadHighsSolver } from '../../src/optimizer/highsSolver.js';
import { buildOptions, type Option } from '../../src/optimizer/options.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
import { randomProblem } from '../../src/tooling/syntheticProblems.js';
import { classify, classifyWith, gpu, row } from './handInstance.js';

describe('fleet: pipelines sharing capacity', () => {
  let profiles: ProfileSet;
  before(async () => {
    await loadHighsSolver();
    profiles = await resolveProfileSet('measured-h200');
  });

  it('matches brute force on 150 seeded random fleets', () => {
    const random = seededRandom(11);
    let binding = 0;
    for (let i = 0; i < 150; i++) {
      const pas = PAS_METHODS[i % 3] as PasMethod;
      // Pipelines that are feasible alone, and a capacity between their leanest needs and what
      // they take alone: the range where sharing decides something.
      const pipelines = Array.from({ length: 2 + (i % 2) }, () => {
        for (;;) {
          const p = randomProblem(profiles, pas, random, {
            maxStages: 2,
            maxVariants: 3,
            maxShapes: 2,
            maxBatches: 3,
            maxCombinations: 60,
          });
          if (pipelineCandidates(p).length > 0) return p;
        }
      });
      const alone = optimizeFleet({ capacity: { cpu: Number.POSITIVE_INFINITY, gpu: Number.POSITIVE_INFINITY }, pipelines }).independent
        .used;
      const leanest = (key: 'cpu' | 'gpu') => pipelines.reduce((t, p) => t + Math.min(...pipelineCandidates(p).map((c) => c[key])), 0);
      const between = (key: 'cpu' | 'gpu') => alone[key] - Math.floor(random() * (alone[key] - leanest(key) + 1));
      const capacity = { cpu: between('cpu'), gpu: between('gpu') };
      const fleet: Fleet = { capacity, pipelines };
      const joint = optimizeFleet(fleet);
      const reference = solveFleetBruteForce(fleet);
      assert.equal(joint.feasible, reference !== undefined, `fleet #${i}: feasibility differs`);
      if (!reference) continue;
      assert.ok(
        Math.abs(joint.objective - reference.value) <= 1e-9 * Math.max(1, Math.abs(reference.value)),
        `fleet #${i}: ${joint.objective} vs brute ${reference.value}`,
      );
      assert.ok(joint.used.cpu <= capacity.cpu && joint.used.gpu <= capacity.gpu);
      if (!joint.independent.fits) binding += 1;
    }
    assert.ok(binding > 10, `capacity bound in only ${binding} fleets`);
  });

  it('a pipeline’s candidates: every config within its SLA, then those no other beats in objective, cores and GPUs', () => {
    const random = seededRandom(23);
    let gpus = 0;
    for (let i = 0; i < 60; i++) {
      const problem = randomProblem(profiles, PAS_METHODS[i % 3] as PasMethod, random, {
        maxStages: 3,
        maxVariants: 3,
        maxShapes: 3,
        maxBatches: 3,
        maxCombinations: 400,
      });
      // Every config of the options, by a plain cartesian product.
      const model = buildChoiceModel(problem, buildOptions(problem));
      let configs: Option[][] = [[]];
      for (const options of model.stages) configs = configs.flatMap((c) => options.map((o) => [...c, o]));
      const within = configs.filter((c) => latencyOf(c) <= problem.slaMs);
      const key = (c: { options: readonly Option[] }) => c.options.map((o) => `${o.variant}/${o.shape}/${o.batch}×${o.replicas}`).join(' ');
      const all = pipelineCandidates(problem, false);
      assert.deepEqual(all.map(key).sort(), within.map((options) => key({ options })).sort(), `problem #${i}: the configs within the SLA`);
      for (const c of all) assert.equal(c.value, objectiveOf(model, c.options));
      const kept = pipelineCandidates(problem);
      const beats = (a: Candidate, b: Candidate) => a.value >= b.value && a.cpu <= b.cpu && a.gpu <= b.gpu;
      for (const c of all)
        assert.ok(
          kept.some((k) => beats(k, c)),
          `problem #${i}: nothing kept is as good as ${key(c)}`,
        );
      for (const [x, a] of kept.entries())
        for (const [y, b] of kept.entries())
          assert.ok(x === y || !beats(a, b), `problem #${i}: ${key(a)} kept beside ${key(b)}, which it beats`);
      gpus += kept.some((c) => c.gpu > 0) ? 1 : 0;
    }
    assert.ok(gpus > 5, `${gpus} problems keep a candidate on a GPU`);
  });

  it('refuses a pipeline with more feasible configs than its limit, naming it', () => {
    const count = pipelineCandidates(classify(1000), false).length;
    assert.equal(count, 2);
    assert.equal(pipelineCandidates(classify(1000), false, count).length, count);
    assert.throws(
      () => pipelineCandidates(classify(1000), false, count - 1),
      /^Error: pipeline classify: more than 1 feasible configs; narrow its variants or shapes$/,
    );
  });

  it('beats per-pipeline solves when capacity binds', async () => {
    const video = await resolvePipelineSpec('video', profiles);
    const text = await resolvePipelineSpec('text', profiles);
    const pipelines = [
      problemFromSpec(text, profiles, 200),
      problemFromSpec({ ...video, name: 'video-a' }, profiles, 300),
      problemFromSpec({ ...video, name: 'video-b' }, profiles, 150),
    ];
    const capacity = { cpu: 48, gpu: 7 };
    const joint = optimizeFleet({ capacity, pipelines });
    assert.equal(joint.feasible, true, joint.reasons.join('; '));
    // Per-pipeline controllers, each solving alone, would ask for more than there is.
    assert.deepEqual(joint.independent.used, { cpu: 36, gpu: 9 }, 'what the pipelines take alone');
    assert.equal(joint.independent.fits, false, 'the test needs capacity to bind');
    // The joint optimum is bounded by the unconstrained one, and pays for the capacity it lacks.
    assert.ok(joint.objective < joint.independent.objective, `joint ${joint.objective} < alone ${joint.independent.objective}`);
    assert.ok(joint.used.cpu <= capacity.cpu && joint.used.gpu <= capacity.gpu, `joint uses ${JSON.stringify(joint.used)}`);
    // Pipelines served one after another (text first) fit, but the first takes GPUs the others
    // use better: the joint solve gives up less.
    assert.equal(joint.sequential.feasible, true, 'the sequential solve fits too, so the comparison means something');
    const sequential = joint.sequential.objective as number;
    assert.ok(joint.objective > sequential + 0.01, `joint ${joint.objective} beats sequential ${sequential}`);
    assert.deepEqual(
      joint.pipelines.map((p) => p.name),
      ['text', 'video-a', 'video-b'],
    );
  });

  it('says what capacity the pipelines need when it is too small', () => {
    const random = seededRandom(5);
    const pipelines = [
      randomProblem(profiles, 'sum', random, { maxStages: 1, maxVariants: 2, maxShapes: 2, maxBatches: 2, maxCombinations: 10 }),
    ];
    const joint = optimizeFleet({ capacity: { cpu: 0, gpu: 0 }, pipelines });
    assert.equal(joint.feasible, false);
    assert.match(joint.reasons.join(' '), /need at least .* cores and .* GPUs together|no config meets its SLA/);
  });

  it('two copies of the hand-worked stage on 4 cores: joint, independent and sequential by hand', () => {
    // Each pipeline's configs within 1,000 ms: large ×3 (3 cores, 0.87) and small ×1 (1 core,
    // 0.69); neither dominates (small uses fewer cores). Within 45 ms only small is left.
    const candidates = (slaMs: number) =>
      pipelineCandidates(classify(slaMs)).map((c) => `${c.options[0]?.variant} ${c.cpu} ${c.value.toFixed(2)}`);
    assert.deepEqual(candidates(1000), ['large 3 0.87', 'small 1 0.69']);
    assert.deepEqual(candidates(45), ['small 1 0.69']);
    const pair = (cpu: number, slaMs = 1000) => optimizeFleet({ capacity: { cpu, gpu: 0 }, pipelines: [classify(slaMs), classify(slaMs)] });
    // 4 cores: large + small (4 cores, 1.56) beats small + small (2, 1.38); large + large needs 6.
    const fits = pair(4);
    assert.equal(fits.feasible, true);
    // Which copy takes large is a tie; the names are made unique.
    assert.deepEqual(
      fits.pipelines.map((p) => p.name),
      ['classify', 'classify-2'],
    );
    assert.deepEqual(fits.pipelines.map((p) => p.config[0]?.variant).sort(), ['large', 'small']);
    assert.ok(Math.abs(fits.objective - 1.56) < 1e-9);
    assert.deepEqual(fits.used, { cpu: 4, gpu: 0 });
    // Alone each would take large: 1.74 on 6 cores, which do not fit.
    assert.ok(Math.abs(fits.independent.objective - 1.74) < 1e-9);
    assert.deepEqual([fits.independent.used, fits.independent.fits], [{ cpu: 6, gpu: 0 }, false]);
    // One after the other: the first takes large (3 cores), the second small with the core left.
    assert.ok(fits.sequential.feasible && Math.abs((fits.sequential.objective ?? 0) - 1.56) < 1e-9);
    assert.deepEqual(fits.sequential.used, { cpu: 4, gpu: 0 });
    assert.deepEqual([fits.solver.method, fits.solver.status, fits.solver.candidates, fits.reasons], ['highs', 'optimal', 4, []]);
    assert.deepEqual(
      fits.pipelines.map((p) => p.feasible),
      [true, true],
    );
    // 6 cores: each takes large, as alone.
    const roomy = pair(6);
    assert.deepEqual([roomy.objective.toFixed(9), roomy.independent.fits, roomy.used], ['1.740000000', true, { cpu: 6, gpu: 0 }]);
    // 1 core: not even small + small; the first pipeline takes the core and the second gets none.
    const scarce = pair(1);
    assert.equal(scarce.feasible, false);
    assert.deepEqual(scarce.reasons, [
      'the pipelines need at least 2 cores and 0 GPUs together (each alone at its leanest); capacity is 1 cores and 0 GPUs',
    ]);
    assert.deepEqual(scarce.sequential, { objective: undefined, used: { cpu: 1, gpu: 0 }, feasible: false });
    assert.deepEqual([scarce.solver.status, scarce.pipelines, scarce.used], ['infeasible', [], { cpu: 0, gpu: 0 }]);
    // An SLA nothing meets: named per pipeline.
    assert.deepEqual(pair(4, 5).reasons, [
      'pipeline classify: no config meets its SLA within its limits',
      'pipeline classify: no config meets its SLA within its limits',
    ]);
  });

  it('counts GPUs in the least capacity, and a pipeline infeasible alone means the independent solves do not fit', () => {
    // On one-GPU replicas at 30 rps: fast (70 %, 30 rps a replica) ×1 is worth 0.70 − 0.1 = 0.6;
    // accurate (96 %, 15 rps) ×2 is worth 0.96 − 0.2 = 0.76. Neither beats the other, so the
    // leanest of each pipeline takes 1 GPU: two pipelines need 2 of the 1 there is.
    const onGpu = () =>
      classifyWith([
        { name: 'fast', accuracy: 70, shapes: gpu([row(1, 10, 30)]) },
        { name: 'accurate', accuracy: 96, shapes: gpu([row(1, 10, 15)]) },
      ]);
    assert.deepEqual(
      pipelineCandidates(onGpu()).map((c) => `${c.options[0]?.variant} ${c.gpu} ${c.value.toFixed(2)}`),
      ['accurate 2 0.76', 'fast 1 0.60'],
    );
    assert.deepEqual(optimizeFleet({ capacity: { cpu: 0, gpu: 1 }, pipelines: [onGpu(), onGpu()] }).reasons, [
      'the pipelines need at least 0 cores and 2 GPUs together (each alone at its leanest); capacity is 0 cores and 1 GPUs',
    ]);
    // Room for everything, but one pipeline meets its SLA with nothing: alone it runs a fallback.
    const roomy = optimizeFleet({ capacity: { cpu: 100, gpu: 100 }, pipelines: [classify(1000), classify(5)] });
    assert.deepEqual([roomy.feasible, roomy.independent.fits], [false, false]);
  });
});
