import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalActuator } from '../../src/actuators/local.js';
import { type ReplicaRecord, readReplicas, stillRunning } from '../../src/live/liveState.js';
import type { LocalActuatorSpec } from '../../src/model/adaptInput.js';
import type { Config } from '../../src/model/config.js';
import { cpuLimitUnavailable } from '../../src/tooling/cpuLimit.js';
import { groupAlive, waitGroupGone } from '../../src/tooling/processGroup.js';

const pipeline = 'testbed';

/** A quarter core per replica where this host can limit CPU (root on Linux), else one whole core. */
const shape = (await cpuLimitUnavailable()) ? 'cpu-1' : 'cpu-250m';

function config(classify: { variant: string; replicas: number }): Config {
  return {
    stages: [
      { stage: 'reduce', variant: 'reduce-pca8', shape, batch: 1, replicas: 1 },
      { stage: 'classify', variant: classify.variant, shape, batch: 1, replicas: classify.replicas },
    ],
  };
}

async function infer(replica: ReplicaRecord): Promise<number> {
  const response = await fetch(`${replica.url}/v2/models/${replica.model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 64], data: Array(64).fill(3) }] }),
  });
  await response.text();
  return response.status;
}

// Real MLServer processes of the testbed, no gateway: the actuator alone (the gateway's part is test/live/liveRun.test.ts).
describe('local actuator on real MLServer replicas', { timeout: 300_000 }, () => {
  let stateDir: string;
  let spec: LocalActuatorSpec;
  const everyPid = new Set<number>();
  const running = async () => {
    const live = await readReplicas(pipeline, stateDir);
    for (const r of live.replicas) everyPid.add(r.process.pid);
    return live;
  };
  const pids = async () => (await running()).replicas.map((r) => r.process.pid).sort();

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-local-actuator-'));
    spec = { kind: 'local', stateDir, readyTimeoutSeconds: 120, drainTimeoutSeconds: 5 };
  });

  after(async () => {
    await new LocalActuator(spec).release(pipeline);
    for (const pid of everyPid) assert.ok(await waitGroupGone(pid, 10_000), `replica group ${pid} still runs after release`);
    await rm(stateDir, { recursive: true, force: true });
  });

  test('starts a config, keeps it on a repeat, scales up without touching what runs', async () => {
    const actuator = new LocalActuator(spec);
    const first = await actuator.apply({ decisionId: 'd1', pipeline, config: config({ variant: 'classify-logreg', replicas: 1 }) });
    assert.equal(first.status, 'applied', first.detail);
    const live = await running();
    assert.equal(live.replicas.length, 2);
    for (const r of live.replicas) assert.equal(await infer(r), 200, `${r.id} answers`);

    const before = await pids();
    const again = await actuator.apply({ decisionId: 'd1', pipeline, config: config({ variant: 'classify-logreg', replicas: 1 }) });
    assert.equal(again.status, 'unchanged');
    assert.deepEqual(await pids(), before);

    const up = await actuator.apply({ decisionId: 'd2', pipeline, config: config({ variant: 'classify-logreg', replicas: 2 }) });
    assert.equal(up.status, 'applied');
    assert.match(up.detail, /started 1, stopped 0/);
    const after = await pids();
    assert.equal(after.length, 3);
    for (const pid of before) assert.ok(after.includes(pid), 'the running replicas are kept');
    assert.deepEqual(up.stages, [
      { stage: 'reduce', wanted: 1, ready: 1 },
      { stage: 'classify', wanted: 2, ready: 2 },
    ]);
  });

  test('a restarted worker adopts the running replicas instead of starting them again', async () => {
    const before = await pids();
    const restarted = new LocalActuator(spec);
    const adopted = await restarted.running(pipeline);
    assert.deepEqual(adopted.config, config({ variant: 'classify-logreg', replicas: 2 }));
    assert.match(adopted.reason, /adopted 3 running replica/);
    const outcome = await restarted.apply({ decisionId: 'd2', pipeline, config: config({ variant: 'classify-logreg', replicas: 2 }) });
    assert.equal(outcome.status, 'unchanged');
    assert.deepEqual(await pids(), before);
  });

  test('a killed replica is reported and the next apply of the same config starts it again', async () => {
    const live = await running();
    const victim = live.replicas.find((r) => r.stage === 'classify') as ReplicaRecord;
    process.kill(-victim.process.pid, 'SIGKILL');
    assert.ok(await waitGroupGone(victim.process.pid, 10_000));
    const actuator = new LocalActuator(spec);
    assert.match((await actuator.running(pipeline)).reason, /1 replica\(s\) had stopped/);
    const outcome = await actuator.apply({ decisionId: 'd3', pipeline, config: config({ variant: 'classify-logreg', replicas: 2 }) });
    assert.equal(outcome.status, 'applied', outcome.detail);
    const now = await running();
    assert.equal(now.replicas.length, 3);
    assert.ok(!now.replicas.some((r) => r.id === victim.id));
    for (const r of now.replicas) assert.ok(await stillRunning(r.process));
  });

  test('a variant switch starts the new replicas, then stops the old ones', async () => {
    const old = (await running()).replicas.filter((r) => r.stage === 'classify');
    const outcome = await new LocalActuator(spec).apply({
      decisionId: 'd4',
      pipeline,
      config: config({ variant: 'classify-mlp', replicas: 1 }),
    });
    assert.equal(outcome.status, 'applied');
    assert.match(outcome.detail, /started 1, stopped 2/);
    const now = await running();
    assert.deepEqual(now.replicas.map((r) => r.variant).sort(), ['classify-mlp', 'reduce-pca8']);
    for (const r of old) {
      assert.ok(!groupAlive(r.process.pid), `old replica ${r.id} stopped`);
      assert.ok(!existsSync(r.workDir), `old replica ${r.id} folder removed`);
    }
  });

  test("a stage's own batch timeout reaches its MLServer (max_batch_time), the spec's limit where it has none", async () => {
    const batched = (batchTimeoutMs?: number): Config => ({
      stages: [
        { stage: 'reduce', variant: 'reduce-pca8', shape, batch: 1, replicas: 1 },
        {
          stage: 'classify',
          variant: 'classify-mlp',
          shape,
          batch: 2,
          replicas: 1,
          ...(batchTimeoutMs === undefined ? {} : { batchTimeoutMs }),
        },
      ],
    });
    const settingsOf = async () => {
      const replica = (await running()).replicas.find((r) => r.stage === 'classify') as ReplicaRecord;
      const settings = JSON.parse(await readFile(join(replica.workDir, 'model', 'model-settings.json'), 'utf8')) as Record<string, unknown>;
      return { recorded: replica.maxBatchWaitMs, maxBatchSize: settings.max_batch_size, maxBatchTime: settings.max_batch_time };
    };
    const actuator = new LocalActuator(spec);
    const own = await actuator.apply({ decisionId: 'd5', pipeline, config: batched(5), maxBatchWaitMs: 200 });
    assert.equal(own.status, 'applied', own.detail);
    assert.deepEqual(await settingsOf(), { recorded: 5, maxBatchSize: 2, maxBatchTime: 0.005 });
    // A new timeout is new MLServer settings: the replica is started again.
    const limit = await actuator.apply({ decisionId: 'd6', pipeline, config: batched(), maxBatchWaitMs: 200 });
    assert.equal(limit.status, 'applied', limit.detail);
    assert.match(limit.detail, /started 1, stopped 1/);
    assert.deepEqual(await settingsOf(), { recorded: 200, maxBatchSize: 2, maxBatchTime: 0.2 });
  });

  test('bad input names the field and the value and leaves the running replicas as they are', async () => {
    const before = await pids();
    const actuator = new LocalActuator({ ...spec, servers: { 'exits-at-once': ['sh', '-c', 'echo cannot serve {model} >&2; exit 3'] } });
    await assert.rejects(
      actuator.apply({ decisionId: 'bad1', pipeline, config: config({ variant: 'classify-nosuch', replicas: 1 }) }),
      /stages\[1\]\.variant: "classify-nosuch" is neither a testbed variant/,
    );
    const tooBig = config({ variant: 'classify-mlp', replicas: 1 });
    (tooBig.stages[0] as { shape: string }).shape = 'cpu-64';
    await assert.rejects(
      actuator.apply({ decisionId: 'bad2', pipeline, config: tooBig }),
      /stages\[0\]\.shape: shape cpu-64 needs 64 cores/,
    );
    await assert.rejects(
      actuator.apply({ decisionId: 'bad3', pipeline, config: config({ variant: 'exits-at-once', replicas: 1 }) }),
      (err: Error) => {
        assert.match(err.message, /the running config stays/);
        assert.match(err.message, /variant exits-at-once .*exited before it was ready/s);
        assert.match(err.message, /cannot serve exits-at-once/);
        return true;
      },
    );
    assert.deepEqual(await pids(), before, 'nothing started, nothing stopped');
    assert.equal((await running()).decisionId, 'd6');
  });

  test('release stops every replica and leaves an empty set', async () => {
    const live = await running();
    assert.match(await new LocalActuator(spec).release(pipeline), /stopped 2 replica/);
    for (const r of live.replicas) assert.ok(await waitGroupGone(r.process.pid, 10_000), `${r.id} stopped`);
    assert.deepEqual((await running()).replicas, []);
    assert.match((await new LocalActuator(spec).running(pipeline)).reason, /no replica/);
  });
});
