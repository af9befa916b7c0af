import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../../src/common/paths.js';
import type { LiveDecision } from '../../src/live/liveExperiment.js';
import type { LiveSeriesJson } from '../../src/live/liveRunReport.js';
import type { LiveRunResult } from '../../src/live/liveRunSummary.js';
import { LOOP_POLICIES, type LoopPolicyName } from '../../src/model/policyName.js';
import { sameConfig } from '../../src/model/sameConfig.js';
import { cpuLimitUnavailable } from '../../src/tooling/cpuLimit.js';
import { ipa, ipaWithEnv } from '../helpers/ipa.js';
import { startTestServer } from '../helpers/temporal.js';

/**
 * `ipa live run --policy all` end to end, short: every policy in turn on the live testbed (real
 * MLServer replicas, the gateway, Prometheus) for a minute of the bursty pattern, against a real
 * Temporal server, the command's own worker running the loops. Checks what each run prints, that
 * every request is accounted for, that each policy's loop changed (or held) what it should, and
 * that nothing of the live pipeline is left running. `--idle 0`: the policies do not wait for an
 * idle forecaster window before their loops start (the default's 2 minutes each), which only the
 * comparison of policies needs.
 */
const noCpuLimit = await cpuLimitUnavailable();

/** Processes whose command line names the state folder: the gateway, Prometheus and every model server of the run. */
async function processesUnder(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    if (!cmdline.includes(folder)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z') found.push(`${pid}: ${cmdline.slice(0, 160)}`);
  }
  return found;
}

const NUMBERS = [
  'seed',
  'seconds',
  'slaMs',
  'sent',
  'ok',
  'dropped',
  'errors',
  'violationsPct',
  'p50Ms',
  'p99Ms',
  'coreSeconds',
  'meanPas',
] as const;
const FIGURES = ['violationsPct', 'p99Ms', 'coreSeconds', 'meanPas'] as const;

/** The configs the loop ran, from its decisions (the first one the config the policy starts with). */
const configsOf = (decisions: LiveDecision[]) => decisions.flatMap((d) => (d.config ? [d.config] : []));
/**
 * The loop saw the load from its first step (a first step skipped for 'no series' once left ipa on
 * its first replicas all run) and its forecasts moved with the replay (t ≥ 0). Whether the config
 * changed is the policy's business: at 9–11 requests/s fa2-low's variants or hpa's one replica may
 * well be enough all along.
 */
const followedLoad = (decisions: LiveDecision[]) =>
  decisions.every((d) => d.outcome !== 'skipped') && new Set(decisions.filter((d) => d.t >= 0).map((d) => d.provisioned)).size >= 2;

describe('ipa live run --policy all', { timeout: 900_000, skip: noCpuLimit }, () => {
  let env: TestWorkflowEnvironment;
  let dir: string;

  before(async () => {
    env = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'ipa-live-experiment-'));
  });

  after(async () => {
    await env?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every policy runs a minute of bursty load on real replicas, is accounted for and leaves nothing running', async (t) => {
    const stateDir = join(dir, 'state');
    const out = join(dir, 'out');
    const startedAt = Date.now();
    const run = await ipaWithEnv(
      { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' },
      ...['live', 'run', '--pipeline', 'testbed', '--pattern', 'bursty', '--policy', 'all', '--minutes', '1', '--idle', '0'],
      ...['--json', '--state-dir', stateDir, '--out', out],
    );
    t.diagnostic(`ipa live run took ${Math.round((Date.now() - startedAt) / 1000)} s`);
    assert.equal(run.code, 0, run.stderr);

    // One JSON object per policy, one line each, nothing else on stdout.
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, LOOP_POLICIES.length, run.stdout);
    const results = lines.map((line) => JSON.parse(line) as LiveRunResult);
    assert.deepEqual(
      results.map((r) => r.policy),
      [...LOOP_POLICIES],
    );
    for (const r of results) {
      assert.deepEqual(Object.keys(r).sort(), [...NUMBERS, 'pipeline', 'pattern', 'policy', 'simulated'].sort(), `${r.policy}: the fields`);
      assert.equal(r.pipeline, 'testbed');
      assert.equal(r.pattern, 'bursty');
      assert.equal(r.seed, 1);
      assert.equal(r.seconds, 60);
      for (const key of NUMBERS) assert.equal(typeof r[key], 'number', `${r.policy}.${key} is a number`);
      assert.deepEqual(Object.keys(r.simulated).sort(), [...FIGURES].sort());
      for (const key of FIGURES) assert.ok(Number.isFinite(r.simulated[key]), `${r.policy}.simulated.${key} is a finite number`);
      assert.ok(r.sent > 0, `${r.policy} sent requests`);
      assert.equal(r.sent, r.ok + r.dropped + r.errors, `${r.policy}: sent = ok + dropped + errors`);
      assert.ok(r.coreSeconds > 0 && r.meanPas > 0 && r.meanPas <= 1, `${r.policy}: cores and PAS measured`);
      t.diagnostic(
        `${r.policy}: sent ${r.sent}, ok ${r.ok}, dropped ${r.dropped}, errors ${r.errors}, violations ${r.violationsPct} % (sim ${r.simulated.violationsPct}), ` +
          `p99 ${r.p99Ms} ms (sim ${r.simulated.p99Ms}), ${r.coreSeconds} core-s (sim ${r.simulated.coreSeconds}), PAS ${r.meanPas} (sim ${r.simulated.meanPas})`,
      );
    }
    // The same requests for every policy: same pattern, seed and speed.
    assert.equal(new Set(results.map((r) => r.sent)).size, 1, 'every policy got the same requests');

    // Each loop changed what its policy moves, or held what it fixes.
    const series = JSON.parse(await readFile(join(out, 'series.json'), 'utf8')) as LiveSeriesJson;
    const decisionsOf = (policy: LoopPolicyName) => series.runs.find((r) => r.result.policy === policy)?.decisions ?? [];
    const describeDecisions = (policy: LoopPolicyName) =>
      decisionsOf(policy)
        .map((d) => `${d.t} ${d.outcome} λ̂ ${d.provisioned}: ${d.label}`)
        .join('\n');
    // A step waits for its apply: on a machine where a replica takes 14–26 s to start (MLServer on
    // 2 slow cores under this load) a minute holds three or four steps, not six. The loop's own
    // first step, before the replay, and two during it show that it kept deciding.
    for (const policy of LOOP_POLICIES)
      assert.ok(decisionsOf(policy).length >= 3, `${policy}: the loop kept deciding during the replay\n${describeDecisions(policy)}`);
    for (const policy of ['ipa', 'fa2-low', 'fa2-high', 'hpa'] as const)
      assert.ok(followedLoad(decisionsOf(policy)), `${policy}: the loop followed the load during the replay\n${describeDecisions(policy)}`);
    const staticConfigs = configsOf(decisionsOf('static'));
    assert.ok(
      staticConfigs.every((c) => sameConfig(c, staticConfigs[0])),
      `static ran one config all along\n${describeDecisions('static')}`,
    );
    const replicasOf = (c: { stages: { replicas: number }[] }) => c.stages.map((s) => s.replicas).join(',');
    const rimReplicas = new Set(configsOf(decisionsOf('rim')).map(replicasOf));
    assert.equal(rimReplicas.size, 1, `rim kept its replicas\n${describeDecisions('rim')}`);

    const figures = ['load', 'latency', 'cores', 'pas'].flatMap((name) => [`bursty-${name}.png`, `bursty-${name}.svg`]);
    for (const file of ['report.md', 'report.html', 'series.json', ...figures])
      assert.ok((await readdir(out)).includes(file), `${file} written`);
    assert.match(await readFile(join(out, 'bursty-latency.svg'), 'utf8'), />testbed · bursty: measured p99 latency per /);
    const report = await readFile(join(out, 'report.md'), 'utf8');
    for (const policy of LOOP_POLICIES) assert.match(report, new RegExp(`### ${policy}\\n`));
    // Where measurement and simulation part: the simulator serving each run's own configs, and
    // the requests sent during rollouts apart from the rest, every request in one of the two.
    assert.match(report, /## Where they part\n/);
    for (const run of series.runs) {
      assert.equal(run.servedAsRun.requests, run.result.sent, `${run.result.policy}: the serving replay served the requests sent`);
      assert.ok(Number.isFinite(run.servedAsRun.p99Ms), `${run.result.policy}: the serving replay has a p99`);
      assert.equal(
        run.rollouts.during.requests + run.rollouts.outside.requests,
        run.result.sent,
        `${run.result.policy}: every request in a part`,
      );
    }

    // Nothing of the live pipeline is left: no gateway, Prometheus or model server under the state folder.
    assert.deepEqual(await processesUnder(stateDir), [], 'no process of the run is left');
  });
});

describe('ipa live run flags', () => {
  it('rejects a bad policy in a list, a bad planning model or peak, naming the flag and the value, before starting anything', async () => {
    for (const [flags, message] of [
      [['--policy', 'ipa,magic'], /--policy: expected one of ipa, fa2-low, fa2-high, rim, static, hpa, all, got "magic"/],
      [
        ['--policy', 'ipa', '--plan-arrivals', 'waves'],
        /--plan-arrivals: expected one of steady, poisson, poisson-mgc, bursty, got "waves"/,
      ],
      [['--policy', 'ipa', '--peak-rps', '0'], /--peak-rps: .*got "0"/],
    ] as const) {
      const run = await ipa('live', 'run', '--pipeline', 'testbed', '--pattern', 'bursty', ...flags);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /loops run on/, 'nothing started');
    }
  });

  it('takes a spec file only for the stages the live pipeline of its name serves, naming the flag and both when they differ', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipa-live-spec-'));
    try {
      const testbed = JSON.parse(await readFile(join(projectRoot, 'profiles', 'pipelines', 'testbed.json'), 'utf8'));
      const otherStages = join(dir, 'one-stage.json');
      await writeFile(otherStages, JSON.stringify({ ...testbed, stages: testbed.stages.slice(0, 1) }));
      const unknown = join(dir, 'unknown.json');
      await writeFile(unknown, JSON.stringify({ ...testbed, name: 'nowhere' }));
      for (const [file, message] of [
        [otherStages, /--pipeline: .*one-stage\.json names pipeline "testbed", .*its stages \[\["reduce".*differ from those/],
        [unknown, /--pipeline: .*names pipeline "nowhere", .*there is no such file/],
      ] as const) {
        const run = await ipa('live', 'run', '--pipeline', file, '--pattern', 'bursty', '--policy', 'ipa');
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, message);
        assert.doesNotMatch(run.stderr, /loops run on/, 'nothing started');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
