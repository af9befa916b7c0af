import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import { ipaWithEnv } from '../helpers/ipa.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTestServer, startWorkers } from '../helpers/temporal.js';

const exec = promisify(execFile);

/** The README's copy-paste commands, run as written against a real server and worker. */
describe('steering adaptPipeline with the temporal CLI and the ipa CLI', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;
  let temporal: (...args: string[]) => Promise<string>;
  let ipa: (...args: string[]) => ReturnType<typeof ipaWithEnv>;

  before(async () => {
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt']);
    const binary = await findTemporalCli();
    temporal = async (...args: string[]) => (await exec(binary, [...args, '--address', env.address], { timeout: 30_000 })).stdout;
    ipa = (...args: string[]) => ipaWithEnv({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' }, ...args);
  });

  after(async () => {
    await workers?.stop();
    await env?.teardown();
  });

  it('starts, signals, updates and queries with the temporal CLI', async () => {
    await temporal(
      'workflow',
      'start',
      '--type',
      'adaptPipeline',
      '--task-queue',
      'ipa-adapt',
      '--workflow-id',
      'adapt-video',
      '--input',
      '{"pipeline": "video", "intervalSeconds": 3600}',
    );
    const status = async () =>
      JSON.parse(await temporal('workflow', 'query', '--workflow-id', 'adapt-video', '--type', 'status', '-o', 'json'));
    assert.ok(
      await waitUntilAsync(async () => (await status().catch(() => ({ queryResult: [{ step: 0 }] }))).queryResult[0].step >= 1, 30_000),
    );

    await temporal('workflow', 'signal', '--workflow-id', 'adapt-video', '--name', 'setSla', '--input', '{"slaMs": 200}');
    assert.ok(await waitUntilAsync(async () => (await status()).queryResult[0].step >= 2, 30_000));
    assert.equal((await status()).queryResult[0].settings.slaMs, 200);

    const update = await temporal(
      'workflow',
      'update',
      'execute',
      '--workflow-id',
      'adapt-video',
      '--name',
      'updateSla',
      '--input',
      '{"slaMs": 150}',
      '-o',
      'json',
    );
    assert.match(update, /"slaMs": 150/);
    await assert.rejects(
      temporal('workflow', 'update', 'execute', '--workflow-id', 'adapt-video', '--name', 'updateSla', '--input', '{"slaMs": -1}'),
      /slaMs: expected a number > 0, got -1/,
    );

    const decisions = JSON.parse(
      await temporal('workflow', 'query', '--workflow-id', 'adapt-video', '--type', 'decisions', '--input', '{"limit": 2}', '-o', 'json'),
    );
    assert.deepEqual(
      decisions.queryResult[0].map((r: { step: number }) => r.step),
      [3, 2],
    );
    const listed = await temporal('workflow', 'list', '--query', 'IpaPipeline="video" AND IpaSlaMs=150');
    assert.match(listed, /adapt-video/);
    // What the Web UI shows as the workflow's current details.
    const metadata = JSON.parse(
      await temporal('workflow', 'query', '--workflow-id', 'adapt-video', '--type', '__temporal_workflow_metadata', '-o', 'json'),
    );
    assert.match(metadata.queryResult[0].currentDetails, /^stage {2,}variant {2,}shape {2,}batch {2,}replicas\ndetect {2,}fasterrcnn/m);

    await temporal('workflow', 'signal', '--workflow-id', 'adapt-video', '--name', 'pause');
    assert.ok(await waitUntilAsync(async () => (await status()).queryResult[0].paused === true, 10_000));
    await temporal('workflow', 'signal', '--workflow-id', 'adapt-video', '--name', 'resume');
    assert.ok(await waitUntilAsync(async () => (await status()).queryResult[0].step >= 4, 30_000));
  });

  it('does the same with the ipa CLI', async () => {
    const started = await ipa('adapt', 'start', '--pipeline', 'text', '--interval', '3600', '--sla-ms', '400');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /started adapt-text/);
    assert.ok(await waitUntilAsync(async () => /step [1-9]/.test((await ipa('adapt', 'status', 'adapt-text')).stdout), 30_000));

    const sla = await ipa('adapt', 'sla', 'adapt-text', '300', '--json');
    assert.equal(sla.code, 0, sla.stderr);
    assert.equal(JSON.parse(sla.stdout).settings.slaMs, 300);
    const paused = await ipa('adapt', 'pause', 'adapt-text');
    assert.equal(paused.code, 0, paused.stderr);
    assert.ok(await waitUntilAsync(async () => /paused/.test((await ipa('adapt', 'status', 'adapt-text')).stdout), 10_000));
    const rejected = await ipa('adapt', 'sla', 'adapt-text', '250');
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.stderr, /paused/);
    const objective = await ipa('adapt', 'objective', 'adapt-text', '--beta', '0.02');
    assert.equal(objective.code, 0, objective.stderr);
    await ipa('adapt', 'resume', 'adapt-text');
    assert.ok(
      await waitUntilAsync(async () => {
        const s = JSON.parse((await ipa('adapt', 'status', 'adapt-text', '--json')).stdout);
        return s.step >= 3 && s.settings.beta === 0.02;
      }, 30_000),
    );
    const bad = await ipa('adapt', 'start', '--pipeline', 'text', '--interval', '0', '--workflow-id', 'adapt-bad');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--interval: expected a finite number > 0, got "0"/);
    const badActuator = await ipa('adapt', 'start', '--pipeline', 'text', '--actuator', 'kubernetes', '--workflow-id', 'adapt-bad');
    assert.notEqual(badActuator.code, 0);
    assert.match(badActuator.stderr, /actuator\.namespaces: name the namespaces ipa may act in/);
    const stopped = await ipa('adapt', 'stop', 'adapt-text');
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});
