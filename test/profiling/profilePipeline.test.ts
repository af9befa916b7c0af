import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pipelinesDir, projectRoot } from '../../src/common/paths.js';
import { loadPipelineSpec } from '../../src/io/load.js';
import { type ProfileSet, parseProfileSet } from '../../src/model/profileSet.js';
import type { ProfilingRequestFields } from '../../src/model/profilingRun.js';
import { decide } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
import { ensureTestbed } from '../../src/profiling/testbed.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { type ProfilingResult, profilePipeline } from '../../src/workflows/profilePipeline.js';
import { ipaWithEnv } from '../helpers/ipa.js';
import { type Started, startInGroup, stopGroup, waitUntilAsync } from '../helpers/processes.js';
import { startTestServer } from '../helpers/temporal.js';

const exec = promisify(execFile);
const testbedPipeline = join(pipelinesDir, 'testbed.json');

/** Short probes keep the suite in minutes; the defaults (5 s probes, 5 steps) are for real profiles. */
const quick = { probeSeconds: 1, warmupSeconds: 0.5, searchSteps: 3, reload: false } satisfies Partial<ProfilingRequestFields>;

/**
 * Marks the processes this test starts: its workers carry it in their environment and the model
 * servers they start inherit it, even once re-parented, so other tests' servers on the machine
 * never count.
 */
const MARK = { name: 'IPA_TEST_MARK', value: `profile-pipeline-${process.pid}` };

/** This test's model servers still running: processes with the mark and an MLServer folder in their command line. */
async function modelServerPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [cmdline, environ] = await Promise.all([
        readFile(`/proc/${entry}/cmdline`, 'latin1'),
        readFile(`/proc/${entry}/environ`, 'latin1'),
      ]);
      if (cmdline.includes('ipa-mlserver-') && environ.split('\0').includes(`${MARK.name}=${MARK.value}`)) pids.push(Number(entry));
    } catch {
      // Gone since the listing, or not ours to read.
    }
  }
  return pids.sort((a, b) => a - b);
}

function rowsOf(set: ProfileSet, variant: string, shape = 'cpu-1') {
  const rows = set.variants.find((v) => v.variant === variant)?.profiles.find((p) => p.shape === shape)?.rows;
  assert.ok(rows, `no ${shape} rows for ${variant} in ${set.version}`);
  return rows;
}

describe('profiling workflows (real Temporal dev server, real MLServer testbed)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let store: string;
  let cpuWorker: Started;
  let gpuWorker: Started;

  /** A worker in its own process, as on a node: the profile store is its configuration. */
  const startWorker = (queues: string) =>
    startInGroup(process.execPath, ['bin/ipa.js', 'worker', '--queues', queues, '--no-metrics'], {
      cwd: projectRoot,
      env: {
        ...process.env,
        [MARK.name]: MARK.value,
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_NAMESPACE: 'default',
        IPA_PROFILE_STORE: store,
      },
    });

  const profile = (request: ProfilingRequestFields, workflowId: string) =>
    client.workflow.execute(profilePipeline, { args: [request], taskQueue: TASK_QUEUES.adapt, workflowId });

  before(async () => {
    await ensureTestbed();
    env = await startTestServer();
    client = env.client;
    store = await mkdtemp(join(tmpdir(), 'ipa-profile-store-'));
    cpuWorker = startWorker('adapt,profile-cpu');
    gpuWorker = startWorker('profile-gpu');
  });

  after(async () => {
    await Promise.all([cpuWorker && stopGroup(cpuWorker), gpuWorker && stopGroup(gpuWorker)]);
    await env?.teardown();
    if (store) await rm(store, { recursive: true, force: true });
  });

  it('a CPU run of the testbed makes a valid profile set that the optimizer accepts, and reloads the running loop', async (t) => {
    const result = await profile({ pipeline: testbedPipeline, shapes: ['cpu-1'], batches: [1, 128], ...quick }, 'profile-testbed-cpu');
    assert.deepEqual(result.failed, []);
    const set = parseProfileSet(JSON.parse(await readFile(result.profileSet.path, 'utf8')), result.profileSet.path);
    assert.equal(set.name, 'testbed');
    assert.equal(set.version, result.profileSet.version);
    assert.ok(set.source?.host?.[hostname()], `host of the measurements: ${JSON.stringify(set.source?.host)}`);
    assert.ok(set.source?.software?.mlserver, `model server version recorded: ${JSON.stringify(set.source?.software)}`);

    const { variants } = await ensureTestbed();
    for (const v of variants) {
      const [one, big] = rowsOf(set, v.name);
      assert.ok(one && big, `${v.name}: rows for batches 1 and 128; the run's notes: ${JSON.stringify(set.source?.notes)}`);
      assert.ok(
        big.throughputRps > one.throughputRps,
        `${v.name}: items/s at batch 128 (${big.throughputRps}) > at 1 (${one.throughputRps})`,
      );
      assert.ok(one.throughputRps > 0 && (one.samples ?? 0) > 0);
      assert.equal(set.variants.find((x) => x.variant === v.name)?.accuracy, v.accuracy, `${v.name}: accuracy from held-out data`);
    }
    // Latency orderings. Each p50 comes from one 1 s window, and other processes on the machine
    // only ever slow a window, by up to several times (17 ms for a 3 ms service time has been
    // seen): one disturbed window can invert a 20 % difference. So a pair is compared by the
    // fastest p50 of each (variant, batch) over the runs that measured it, and the variants of a
    // pair that looks inverted are measured once more before the check.
    const runs = [set];
    /** The p50s of (variant, batch) in the runs that measured it (a recheck measures only some variants). */
    const p50s = (variant: string, batch: number) =>
      runs.flatMap((run) => {
        const row = run.variants
          .find((v) => v.variant === variant)
          ?.profiles.find((p) => p.shape === 'cpu-1')
          ?.rows.find((r) => r.batch === batch);
        return row ? [row.p50Ms] : [];
      });
    const p50 = (variant: string, batch: number) => Math.min(...p50s(variant, batch));
    const seen = (variant: string, batch: number) => p50s(variant, batch).join(', ');
    // `within`: how much faster the slower one may still read. A model's fixed cost per call can
    // drown its cost per row: on the 2-core AMD machine classify-rf200 (200 trees, each called
    // once per request) took 39–42 ms at batch 1 and 41–51 ms at batch 128, so one variant alone
    // is only held to "not faster beyond noise"; that the batches reach the servers shows in the
    // sum over all variants, which a profiler sending one row for every batch would not raise.
    type Ordering = { slower: [string, number]; faster: [string, number]; why: string; within?: number };
    const orderings: Ordering[] = [
      ...variants.map(
        (v): Ordering => ({ slower: [v.name, 128], faster: [v.name, 1], why: 'a request carries the whole batch', within: 0.1 }),
      ),
      // Bigger models of a stage take longer per request. Compared at batch 1: at batch 128 every
      // reduce variant spends most of its time encoding the same 128 × 64 output, which hides the model.
      { slower: ['reduce-kpca1200', 1], faster: ['reduce-pca8', 1], why: 'the bigger model is slower' },
      { slower: ['classify-rf200', 1], faster: ['classify-rf10', 1], why: 'the bigger model is slower' },
    ];
    const holds = (o: Ordering) => p50(...o.slower) > (1 - (o.within ?? 0)) * p50(...o.faster);
    const inverted = orderings.filter((o) => !holds(o));
    if (inverted.length > 0) {
      const again = [...new Set(inverted.flatMap((o) => [o.slower[0], o.faster[0]]))];
      const recheck = await profile(
        { pipeline: testbedPipeline, shapes: ['cpu-1'], batches: [1, 128], variants: again, name: 'testbed-recheck', ...quick },
        'profile-testbed-recheck',
      );
      assert.deepEqual(recheck.failed, []);
      runs.push(parseProfileSet(JSON.parse(await readFile(recheck.profileSet.path, 'utf8')), recheck.profileSet.path));
    }
    for (const o of orderings) {
      const { slower, faster, why, within } = o;
      assert.ok(
        holds(o),
        `${why}: p50 of ${slower[0]} at batch ${slower[1]} (${seen(...slower)} ms) > ${within ? `${1 - within} × ` : ''}of ${faster[0]} at batch ${faster[1]} (${seen(...faster)} ms)`,
      );
    }
    t.diagnostic(`p50 ms at batch 1 / 128: ${variants.map((v) => `${v.name} ${seen(v.name, 1)} / ${seen(v.name, 128)}`).join('; ')}`);
    const total = (batch: number) => variants.reduce((sum, v) => sum + p50(v.name, batch), 0);
    assert.ok(total(128) > total(1), `the batches reach the servers: summed p50 at batch 128 (${total(128)} ms) > at 1 (${total(1)} ms)`);

    const spec = await loadPipelineSpec(testbedPipeline, set);
    const decision = decide(problemFromSpec(spec, set, 50), { explain: false });
    assert.equal(decision.feasible, true, JSON.stringify(decision.solver));

    // A loop of this pipeline that is running when the next run finishes switches to the new set.
    const loop = await client.workflow.start(adaptPipeline, {
      args: [{ pipeline: 'testbed', intervalSeconds: 60, actuator: { kind: 'dry-run', log: join(store, 'dry-run.jsonl') } }],
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'adapt-testbed-reload',
    });
    try {
      // Queries fail until the first workflow task has registered the handlers.
      const step = () =>
        loop.query(statusQuery).then(
          (s) => s.step,
          () => 0,
        );
      assert.ok(await waitUntilAsync(async () => (await step()) >= 1, 30_000), 'the loop made its first step');
      assert.equal((await loop.query(statusQuery)).profilesVersion, set.version);
      // Visibility is eventually consistent: wait until the loop can be found by its pipeline.
      assert.ok(
        await waitUntilAsync(
          async () => (await client.workflow.count(`IpaPipeline = 'testbed' AND ExecutionStatus = 'Running'`)).count === 1,
          30_000,
        ),
      );
      const again = await profile(
        { pipeline: testbedPipeline, variants: ['reduce-pca8'], batches: [1], ...quick, reload: true },
        'profile-testbed-pca8',
      );
      assert.deepEqual(again.reloaded, ['adapt-testbed-reload']);
      const merged = parseProfileSet(JSON.parse(await readFile(again.profileSet.path, 'utf8')));
      assert.notEqual(merged.version, set.version);
      assert.deepEqual(rowsOf(merged, 'classify-rf200'), rowsOf(set, 'classify-rf200'), 'rows not measured again are kept');
      assert.equal(rowsOf(merged, 'reduce-pca8').length, 1, 'the measured variant has the new rows');
      assert.ok(
        await waitUntilAsync(async () => (await loop.query(statusQuery)).profilesVersion === merged.version, 30_000),
        'the loop reloaded',
      );
    } finally {
      await loop.terminate('test over');
    }
  });

  it('a variant whose server never becomes ready is retried, then reported as failed, and the others keep their rows', async () => {
    let readinessChecks = 0;
    const neverReady: Server = createServer((req, res) => {
      if (req.url?.includes('/ready')) readinessChecks++;
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => neverReady.listen(0, '127.0.0.1', resolve));
    const { port } = neverReady.address() as { port: number };
    try {
      const result = await profile(
        {
          pipeline: testbedPipeline,
          variants: ['reduce-pca8', 'classify-logreg'],
          endpoints: { 'classify-logreg': { url: `http://127.0.0.1:${port}`, model: 'classify-logreg', readyTimeoutSeconds: 1 } },
          batches: [1],
          attempts: 2,
          name: 'testbed-failure',
          ...quick,
        },
        'profile-testbed-failure',
      );
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0]?.variant, 'classify-logreg');
      assert.match(result.failed[0]?.error ?? '', /not ready within 1 s/);
      assert.ok(readinessChecks > 0);
      const child = client.workflow.getHandle('profile-testbed-failure/classify-logreg/cpu-1');
      const history = await child.fetchHistory();
      const attempts = (history.events ?? []).flatMap((e) =>
        e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [],
      );
      assert.deepEqual(attempts, [2], 'the activity ran its second and last attempt (a retried start records only the last one)');
      const set = parseProfileSet(JSON.parse(await readFile(result.profileSet.path, 'utf8')));
      assert.deepEqual(
        set.variants.map((v) => v.variant),
        ['reduce-pca8'],
      );
      assert.ok(
        set.source?.notes?.some((n) => n.startsWith('classify-logreg on cpu-1 failed')),
        'the failure is in the set notes',
      );
    } finally {
      neverReady.close();
    }
  });

  it('cancelling the parent stops every model server', async () => {
    const before = await modelServerPids();
    const handle = await client.workflow.start(profilePipeline, {
      args: [
        {
          pipeline: testbedPipeline,
          variants: ['reduce-kpca1200'],
          batches: [1, 2, 4, 8],
          ...quick,
          probeSeconds: 3,
          name: 'testbed-cancel',
        },
      ],
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'profile-testbed-cancel',
    });
    assert.ok(await waitUntilAsync(async () => (await modelServerPids()).length > before.length, 60_000), 'a model server started');
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause)));
    assert.deepEqual(await modelServerPids(), before, 'no model server left behind');
    const child = await client.workflow.getHandle('profile-testbed-cancel/reduce-kpca1200/cpu-1').describe();
    assert.equal(child.status.name, 'CANCELLED');
  });

  it('children for GPU shapes run on the worker polling ipa-profile-gpu', async () => {
    // This machine has no GPU: the GPU worker measures the CPU testbed, and the profile says so.
    const result: ProfilingResult = await profile(
      {
        pipeline: testbedPipeline,
        variants: ['reduce-pca8'],
        shapes: ['cpu-1', 'gpu-h200'],
        batches: [1],
        name: 'testbed-routing',
        ...quick,
      },
      'profile-testbed-routing',
    );
    const byShape = Object.fromEntries(result.measurements.map((m) => [m.shape, m.measuredBy]));
    assert.equal(byShape['gpu-h200']?.queue, TASK_QUEUES['profile-gpu']);
    assert.equal(byShape['gpu-h200']?.worker, `${gpuWorker.child.pid}@${hostname()}`);
    assert.equal(byShape['cpu-1']?.queue, TASK_QUEUES['profile-cpu']);
    assert.equal(byShape['cpu-1']?.worker, `${cpuWorker.child.pid}@${hostname()}`);
    const gpu = result.measurements.find((m) => m.shape === 'gpu-h200');
    assert.ok(
      gpu?.notes.some((n) => /without a GPU/.test(n)),
      JSON.stringify(gpu?.notes),
    );
    const set = parseProfileSet(JSON.parse(await readFile(result.profileSet.path, 'utf8')));
    assert.deepEqual(
      set.shapes.find((s) => s.name === 'gpu-h200'),
      { name: 'gpu-h200', cpu: 4, gpu: 1, accelerator: 'h200' },
    );
  });

  it('ipa profile schedule creates a Schedule with the cron spec, triggering it runs profilePipeline, and running it again updates it', async () => {
    const ipa = (...args: string[]) => ipaWithEnv({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' }, ...args);
    const flags = ['--pipeline', testbedPipeline, '--variants', 'classify-logreg', '--batches', '1', '--probe-seconds', '1'];
    const created = await ipa(
      'profile',
      'schedule',
      ...flags,
      '--cron',
      '0 3 * * *',
      '--schedule-id',
      'profile-testbed-nightly',
      '--name',
      'testbed-nightly',
      '--no-reload',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created schedule profile-testbed-nightly/);
    const schedule = client.schedule.getHandle('profile-testbed-nightly');
    const described = await schedule.describe();
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.workflowType, 'profilePipeline');
    assert.equal(described.action.taskQueue, TASK_QUEUES.adapt);
    const calendar = described.spec.calendars?.[0];
    assert.deepEqual(
      [calendar?.hour, calendar?.minute],
      [[{ start: 3, end: 3, step: 1 }], [{ start: 0, end: 0, step: 1 }]],
      JSON.stringify(described.spec),
    );

    await schedule.trigger();
    let workflowId: string | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        workflowId = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
        return workflowId !== undefined;
      }, 30_000),
      'the trigger started a workflow',
    );
    const result: ProfilingResult = await client.workflow.getHandle(workflowId as string).result();
    assert.equal(result.profileSet.name, 'testbed-nightly');
    assert.equal(result.measurements[0]?.variant, 'classify-logreg');

    const updated = await ipa(
      'profile',
      'schedule',
      ...flags,
      '--cron',
      '30 4 * * 1',
      '--schedule-id',
      'profile-testbed-nightly',
      '--no-reload',
    );
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /updated schedule/);
    const after = (await schedule.describe()).spec.calendars?.[0];
    assert.deepEqual([after?.hour, after?.minute], [[{ start: 4, end: 4, step: 1 }], [{ start: 30, end: 30, step: 1 }]]);
    await schedule.delete();

    // The README's temporal CLI equivalent, as written.
    const temporal = await findTemporalCli();
    await exec(temporal, [
      ...['schedule', 'create', '--schedule-id', 'profile-testbed', '--cron', '0 3 * * *'],
      ...['--workflow-id', 'profile-testbed', '--type', 'profilePipeline', '--task-queue', 'ipa-adapt'],
      ...['--overlap-policy', 'Skip', '--input', '{"pipeline": "testbed", "shapes": ["cpu-1"], "batches": [1, 2, 4, 8]}'],
      ...['--address', env.address],
    ]);
    const fromCli = await client.schedule.getHandle('profile-testbed').describe();
    assert.equal(fromCli.action.type === 'startWorkflow' && fromCli.action.workflowType, 'profilePipeline');
    assert.equal(fromCli.policies.overlap, 'SKIP');
    await client.schedule.getHandle('profile-testbed').delete();
  });

  it('bad input names the field and the value, and measures nothing', async () => {
    const ipa = (...args: string[]) => ipaWithEnv({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' }, ...args);
    const badBatch = await ipa('profile', 'run', '--pipeline', testbedPipeline, '--batches', '1,0');
    assert.notEqual(badBatch.code, 0);
    assert.match(badBatch.stderr, /--batches.*got "0"/);
    const badShape = await ipa('profile', 'run', '--pipeline', testbedPipeline, '--shapes', 'tpu-1');
    assert.match(badShape.stderr, /shapes\[0\].*cpu-N/);
    const badVariant = await ipa('profile', 'run', '--pipeline', testbedPipeline, '--variants', 'resnet50');
    assert.match(badVariant.stderr, /"resnet50" is not a variant of pipeline testbed/);
    await assert.rejects(
      profile({ pipeline: testbedPipeline, shapes: ['cpu-1'], batches: [1], probeSeconds: -1 }, 'profile-testbed-bad'),
      (err: unknown) => err instanceof WorkflowFailedError && /probeSeconds.*-1/.test(String((err.cause?.cause as Error)?.message)),
    );
  });
});
