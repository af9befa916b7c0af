/**
 * Time from a decision to the new replicas serving on the live pipeline: the local actuator
 * applies a scale-up (classify ×1 → ×2) and a variant switch (classify-logreg → classify-mlp),
 * each undone before the next round, with the gateway following replicas.json in this process.
 * "Serving" is the moment the gateway has a ready route to a replica that was not there before;
 * "done" is when apply returns (the old replicas drained and stopped). Baseline beside it: the
 * bare start of one MLServer replica (process start to ready), which bounds what the actuator can reach.
 *
 *   node dist/bench/liveServing.js [--rounds N]
 */
import { parseArgs } from 'node:util';
import { table } from '../src/common/table.js';
import type { Config } from '../src/model/config.js';
import { startModelServer } from '../src/profiling/testbed.js';
import { cpuLimitUnavailable } from '../src/tooling/cpuLimit.js';
import { startLiveTestbed } from './liveTestbed.js';
import { percentile } from './percentile.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const shape = (await cpuLimitUnavailable()) ? 'cpu-1' : 'cpu-250m';
const config = (variant: string, replicas: number): Config => ({
  stages: [
    { stage: 'reduce', variant: 'reduce-pca8', shape, batch: 1, replicas: 1 },
    { stage: 'classify', variant, shape, batch: 1, replicas },
  ],
});

const { gateway: running, actuator, close } = await startLiveTestbed();

const routedUrls = () =>
  new Set(
    running
      .status()
      .stages.filter((s) => s.stage === 'classify')
      .flatMap((s) => s.replicas.filter((r) => r.ready && r.active).map((r) => r.baseUrl)),
  );

/** Applies `to` and times until a new classify route is ready (serving) and until apply returns (done). */
async function timed(to: Config, id: string): Promise<{ servingMs: number; doneMs: number }> {
  const before = routedUrls();
  const started = performance.now();
  let servingMs = Number.NaN;
  const watch = setInterval(() => {
    if (Number.isNaN(servingMs) && [...routedUrls()].some((u) => !before.has(u))) servingMs = performance.now() - started;
  }, 10);
  const outcome = await actuator.apply({ decisionId: id, pipeline: 'testbed', config: to });
  clearInterval(watch);
  if (outcome.status !== 'applied') throw new Error(`${id}: ${outcome.status}: ${outcome.detail}`);
  return { servingMs, doneMs: performance.now() - started };
}

const results: Record<string, { servingMs: number[]; doneMs: number[] }> = {
  'scale-up classify ×1 → ×2': { servingMs: [], doneMs: [] },
  'variant switch logreg → mlp': { servingMs: [], doneMs: [] },
};
const bare: number[] = [];
try {
  await actuator.apply({ decisionId: 'base', pipeline: 'testbed', config: config('classify-logreg', 1) });
  for (let round = 1; round <= rounds; round++) {
    const up = await timed(config('classify-logreg', 2), `up-${round}`);
    await actuator.apply({ decisionId: `down-${round}`, pipeline: 'testbed', config: config('classify-logreg', 1) });
    const switched = await timed(config('classify-mlp', 1), `switch-${round}`);
    await actuator.apply({ decisionId: `back-${round}`, pipeline: 'testbed', config: config('classify-logreg', 1) });
    for (const [name, r] of [
      ['scale-up classify ×1 → ×2', up],
      ['variant switch logreg → mlp', switched],
    ] as const) {
      results[name]?.servingMs.push(r.servingMs);
      results[name]?.doneMs.push(r.doneMs);
    }
    const t = performance.now();
    const server = await startModelServer({ variant: 'classify-mlp', ...(shape === 'cpu-1' ? {} : { cpuLimit: 0.25 }) });
    bare.push(performance.now() - t);
    await server.stop();
    process.stderr.write(`round ${round}/${rounds} done\n`);
  }
} finally {
  await close();
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const rows = Object.entries(results).map(([name, r]) => [
  name,
  r.servingMs.length,
  s(percentile(r.servingMs, 0.5)),
  s(Math.max(...r.servingMs)),
  s(percentile(r.doneMs, 0.5)),
  s(Math.max(...r.doneMs)),
]);
rows.push(['baseline: one bare MLServer start to ready', bare.length, s(percentile(bare, 0.5)), s(Math.max(...bare)), '', '']);
process.stdout.write(`decision to serving on the live testbed (shape ${shape}, ${rounds} rounds)\n\n`);
process.stdout.write(`${table(['change', 'n', 'serving median s', 'serving max s', 'apply done median s', 'apply done max s'], rows)}\n`);
