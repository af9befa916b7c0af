import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { displayWidth } from '../../src/common/terminalText.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { withVersion } from '../../src/model/profileSet.js';
import { readDecisions } from '../../src/temporal/decisionHistory.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { type AdaptInput, adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { decisionsQuery, setSlaSignal, slaUpdate, statusQuery } from '../../src/workflows/messages.js';
import { IpaSlaMs } from '../../src/workflows/searchAttributes.js';
import { profileSetJson } from '../helpers/files.js';
import { ipaWithEnv } from '../helpers/ipa.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTestServer, startWorkers } from '../helpers/temporal.js';

/** 30 req/s for four minutes of trace, then 600 req/s: a step-up the loop must follow. */
const STEP_UP = [...Array<number>(240).fill(30), ...Array<number>(600).fill(600)];

describe('adaptPipeline on a real Temporal dev server (trace source, dry-run actuator)', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;
  const dir = mkdtempSync(join(tmpdir(), 'ipa-adapt-'));

  before(async () => {
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt']);
  });

  after(async () => {
    await workers?.stop();
    await env?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(workflowId: string, input: Partial<AdaptInput>): Promise<WorkflowHandle<typeof adaptPipeline>> {
    return env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId,
      args: [{ pipeline: 'video', intervalSeconds: 1, ...input }],
    });
  }

  async function stepsReach(handle: WorkflowHandle, count: number, timeoutMs = 60_000): Promise<void> {
    let step = 0;
    const reached = await waitUntilAsync(async () => {
      // Queries are answered once the first activity has prepared the pipeline.
      step = (await handle.query(statusQuery).catch(() => ({ step: 0 }))).step;
      return step >= count;
    }, timeoutMs);
    assert.ok(reached, `expected ${count} steps, saw ${step}`);
  }

  /** The loop's status once it has ignored `count` signals (or after 20 s, for the asserts to say what it did). */
  async function statusOnceIgnored(handle: WorkflowHandle<typeof adaptPipeline>, count: number) {
    let s = await handle.query(statusQuery);
    await waitUntilAsync(async () => {
      s = await handle.query(statusQuery);
      return s.counters.ignoredSignals >= count;
    }, 20_000);
    return s;
  }

  it('decides once per interval and follows a load step-up with more capacity', async () => {
    const log = join(dir, 'step-up.jsonl');
    const handle = await start('adapt-step-up', {
      observe: { kind: 'trace', loads: STEP_UP, start: 120, speed: 30 },
      actuator: { kind: 'dry-run', log },
    });
    await stepsReach(handle, 8);
    const recent = (await handle.query(decisionsQuery, { limit: 50 })).reverse();
    await handle.terminate('test done');

    const steps = recent.map((r) => r.step);
    assert.deepEqual(
      steps,
      steps.map((_, i) => i + 1),
      'steps are numbered 1, 2, … without gaps',
    );
    for (let i = 1; i < recent.length; i++) {
      const gap = Date.parse((recent[i] as DecisionRecord).at) - Date.parse((recent[i - 1] as DecisionRecord).at);
      assert.ok(gap >= 1000, `timer steps are at least one interval apart, got ${gap} ms between steps ${i} and ${i + 1}`);
    }
    const first = recent[0] as DecisionRecord;
    const last = recent[recent.length - 1] as DecisionRecord;
    assert.equal(first.outcome, 'applied');
    assert.equal(first.observed?.max, 30);
    assert.equal(last.observed?.max, 600);
    assert.ok((last.forecast?.provisioned ?? 0) > (first.forecast?.provisioned ?? 0) * 5, 'the forecast follows the step-up');
    const replicas = (r: DecisionRecord) => r.config?.stages.reduce((t, s) => t + s.replicas, 0) ?? 0;
    const variants = (r: DecisionRecord) => r.config?.stages.map((s) => `${s.variant}/${s.shape}`).join();
    assert.ok(replicas(last) > replicas(first) || variants(last) !== variants(first), 'more replicas or other variants after the step-up');
    assert.ok((last.predicted?.cost ?? 0) > (first.predicted?.cost ?? 0), 'a higher load costs more');
    assert.match(first.reason ?? '', /^first config detect .*: objective /);
    const changes = recent.filter((r) => r.outcome === 'applied').slice(1);
    assert.ok(changes.length > 0, 'the step-up changed the config');
    for (const r of changes) {
      const stage = (r.reason ?? '').split(' ')[0] ?? '';
      assert.ok(
        r.config?.stages.some((s) => s.stage === stage) && (r.reason ?? '').includes(' → '),
        `an applied record names a changed stage, old → new: ${r.reason}`,
      );
    }

    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { decisionId: string });
    const applied = recent.filter((r) => r.outcome === 'applied').map((r) => r.id);
    assert.deepEqual(
      lines.map((l) => l.decisionId),
      applied,
      'the dry-run log holds each applied decision once, in order',
    );
  });

  it('takes a tighter SLA by signal at once, returns the decision of updateSla, and keeps search attributes current', async () => {
    const handle = await start('adapt-sla', {
      intervalSeconds: 3600,
      observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 },
    });
    await stepsReach(handle, 1);
    const before = (await handle.query(statusQuery)).lastDecision as DecisionRecord;
    assert.equal(before.settings.slaMs, 300);

    await handle.signal(setSlaSignal, { slaMs: 120 });
    await stepsReach(handle, 2);
    const afterSignal = (await handle.query(statusQuery)).lastDecision as DecisionRecord;
    assert.equal(afterSignal.trigger, 'signal', 'the signal woke the loop long before the hour-long timer');
    assert.equal(afterSignal.settings.slaMs, 120);
    assert.notDeepEqual(afterSignal.config, before.config, 'the tighter SLA changes the config');
    assert.ok((afterSignal.predicted?.latencyMs ?? Infinity) <= 120);
    assert.match(afterSignal.reason ?? '', /: SLA 300 → 120 ms; /, 'the reason of the change names the SLA change');

    const updated = await handle.executeUpdate(slaUpdate, { args: [{ slaMs: 60 }] });
    assert.equal(updated.trigger, 'update');
    assert.equal(updated.settings.slaMs, 60);
    assert.equal(updated.step, 3);
    assert.ok((updated.predicted?.latencyMs ?? Infinity) <= 60);

    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(IpaSlaMs), 60);
    await handle.terminate('test done');
  });

  it('rejects invalid updates and ignores invalid signals with a reason, changing nothing', async () => {
    const handle = await start('adapt-invalid', {
      intervalSeconds: 3600,
      observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 },
    });
    await stepsReach(handle, 1);
    for (const bad of [{ slaMs: -5 }, { slaMs: 'fast' }, { sla: 100 }, 7]) {
      await assert.rejects(
        handle.executeUpdate(slaUpdate, { args: [bad as never] }),
        (err: unknown) => err instanceof WorkflowUpdateFailedError && /updateSla rejected/.test(String((err.cause as Error)?.message)),
      );
    }
    await handle.signal(setSlaSignal, { slaMs: 0 });
    await handle.signal(setSlaSignal, { slaMs: Number.NaN } as never);
    await handle.signal('setObjective', { alpha: -1, accuracy: 'max' });
    await handle.signal('reloadProfiles', { version: 'no-such-set' });
    const s = await statusOnceIgnored(handle, 4);
    assert.equal(s.counters.ignoredSignals, 4);
    assert.match(s.ignored[0]?.reason ?? '', /slaMs: expected a number > 0, got 0/);
    assert.match(
      s.ignored[2]?.reason ?? '',
      /alpha: expected a number ≥ 0, got -1.*accuracy: expected "sum", "average" or "multiply", got "max"/,
    );
    assert.match(s.ignored[3]?.reason ?? '', /no-such-set/);
    assert.equal(s.settings.slaMs, 300);
    assert.equal(s.settings.alpha, 1);
    assert.equal(s.step, 1, 'no step ran for an ignored signal');
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test done');
  });

  it("refuses an SLA that the spec's overheadMs leaves nothing of, by update and by signal", async () => {
    const spec = { ...JSON.parse(readFileSync('profiles/pipelines/video.json', 'utf8')), overheadMs: 20 };
    const handle = await start('adapt-under-overhead', {
      pipeline: spec,
      intervalSeconds: 3600,
      observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 },
    });
    await stepsReach(handle, 1);
    await assert.rejects(
      handle.executeUpdate(slaUpdate, { args: [{ slaMs: 20 }] }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError &&
        /updateSla rejected: slaMs: expected more than the spec's overheadMs 20 .*got 20/.test(String((err.cause as Error)?.message)),
    );
    await handle.signal(setSlaSignal, { slaMs: 15 });
    const s = await statusOnceIgnored(handle, 1);
    assert.match(s.ignored[0]?.reason ?? '', /slaMs: expected more than the spec's overheadMs 20 .*got 15/);
    assert.equal(s.settings.slaMs, 300);
    assert.equal(s.step, 1, 'neither ran a step');
    const taken = await handle.executeUpdate(slaUpdate, { args: [{ slaMs: 250 }] });
    assert.equal(taken.settings.slaMs, 250);
    await handle.terminate('test done');
  });

  it('pauses and resumes', async () => {
    const handle = await start('adapt-pause', { observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 } });
    await stepsReach(handle, 1);
    await handle.signal('pause');
    await waitUntilAsync(async () => (await handle.query(statusQuery)).paused, 10_000);
    const paused = (await handle.query(statusQuery)).step;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await handle.query(statusQuery)).step, paused, 'no step while paused');
    await assert.rejects(handle.executeUpdate(slaUpdate, { args: [{ slaMs: 100 }] }), (err: Error) => /paused/.test(String(err.cause)));
    await handle.signal('resume');
    await stepsReach(handle, paused + 1);
    const [first] = (await handle.query(decisionsQuery, { limit: 50 })).filter((d) => d.step === paused + 1);
    assert.equal(first?.trigger, 'resume', 'the step right after resume says what woke it');
    await handle.terminate('test done');
  });

  it('keeps every decision across the continue-as-new chain, and the CLI reads them all', async () => {
    const handle = await start('adapt-chain', {
      maxStepsPerRun: 3,
      observe: { kind: 'trace', loads: Array<number>(400).fill(30), start: 150, speed: 10 },
    });
    await env.client.workflow.getHandle('adapt-chain').signal(setSlaSignal, { slaMs: 200 });
    await stepsReach(handle, 8);
    const s = await handle.query(statusQuery);
    assert.ok(s.run >= 3, `expected at least 3 runs, saw ${s.run}`);
    assert.equal(s.settings.slaMs, 200, 'the SLA set by signal in run 1 is carried');

    const records = await readDecisions(env.client, 'adapt-chain');
    const steps = records.map((r) => r.step);
    assert.deepEqual(
      steps,
      steps.map((_, i) => i + 1),
      'no step lost or repeated across run boundaries',
    );
    assert.ok(records.length >= 8);
    assert.equal(records[0]?.id, 'adapt-chain#1');

    const address = { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' };
    const json = await ipaWithEnv(address, 'adapt', 'decisions', '--workflow-id', 'adapt-chain', '--json');
    assert.equal(json.code, 0, json.stderr);
    const fromCli = JSON.parse(json.stdout) as DecisionRecord[];
    assert.deepEqual(
      fromCli.slice(0, records.length).map((r) => r.id),
      records.map((r) => r.id),
    );
    const text = await ipaWithEnv(address, 'adapt', 'decisions', '--workflow-id', 'adapt-chain', '--limit', '2');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^step\s.*λ̂.*\soutcome\s+config\s/);
    const rows = text.stdout.split('\n').filter((l) => /^ {0,3}\d/.test(l));
    assert.equal(rows.length, 2, 'two rows (a row may wrap onto more lines)');
    for (const line of text.stdout.split('\n')) assert.ok(displayWidth(line) <= 100, `fits 100 columns: ${line}`);

    const statusText = await ipaWithEnv(address, 'adapt', 'status', 'adapt-chain');
    assert.match(statusText.stdout, /video: step \d+ \(run \d+\)/);
    assert.match(statusText.stdout, /SLA 200 ms/);
    const sla = await ipaWithEnv(address, 'adapt', 'sla', 'adapt-chain', '-3');
    assert.notEqual(sla.code, 0);
    assert.match(sla.stderr, /<ms>: expected a finite number > 0, got "-3"/);
    await handle.terminate('test done');
  });

  it('records a refused apply and goes on', async () => {
    // A directory where the dry-run log should be: writing it is refused (EISDIR), not retried.
    const handle = await start('adapt-apply-refused', {
      observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 },
      actuator: { kind: 'dry-run', log: dir },
    });
    await stepsReach(handle, 2);
    const s = await handle.query(statusQuery);
    const last = s.lastDecision as DecisionRecord;
    assert.equal(last.outcome, 'apply-failed');
    assert.equal(last.apply?.status, 'failed');
    assert.match(last.reason ?? '', /apply failed: dry-run log .*EISDIR/);
    assert.ok(s.counters.applyFailures >= 2, 'every step tried again, none crashed the loop');
    assert.equal(s.current, undefined, 'a config that was not applied is not taken as running');
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test done');
  });

  it('switches profile sets on reloadProfiles', async () => {
    const copy = profileSetJson();
    copy.name = 'measured-h200-copy';
    const set = withVersion(copy);
    const file = join(dir, 'copy.json');
    writeFileSync(file, JSON.stringify(set));
    const handle = await start('adapt-reload', {
      intervalSeconds: 3600,
      observe: { kind: 'trace', loads: Array<number>(200).fill(30), start: 150 },
    });
    await stepsReach(handle, 1);
    const before = (await handle.query(statusQuery)).profilesVersion;
    await handle.signal('reloadProfiles', { version: file });
    await stepsReach(handle, 2);
    const s = await handle.query(statusQuery);
    assert.notEqual(before, set.version);
    assert.equal(s.profilesVersion, set.version);
    assert.equal(s.lastDecision?.profilesVersion, set.version, 'the next step plans with the new set');
    assert.equal(s.lastDecision?.trigger, 'signal');
    await handle.terminate('test done');
  });

  it('runs a baseline policy through the same step: the HPA holds its variants and scales replicas on the observed load', async () => {
    const handle = await start('adapt-hpa', {
      observe: { kind: 'trace', loads: STEP_UP, start: 120, speed: 30 },
      policy: 'hpa',
      peakRps: 600,
      hpa: { stabilizationSeconds: 0 },
    });
    await stepsReach(handle, 8);
    const recent = (await handle.query(decisionsQuery, { limit: 50 })).reverse();
    await handle.terminate('test done');
    for (const r of recent) assert.equal(r.policy, 'hpa', `step ${r.step}`);
    const fixed = new Set(recent.map((r) => (r.config?.stages ?? []).map((s) => `${s.variant}/${s.shape}/${s.batch}`).join(',')));
    assert.equal(fixed.size, 1, [...fixed].join(' ; '));
    const replicas = recent.map((r) => (r.config?.stages ?? []).reduce((t, s) => t + s.replicas, 0));
    assert.ok((replicas[replicas.length - 1] as number) > (replicas[0] as number), `replicas ${replicas.join(',')}`);
    const change = recent.find((r, i) => i > 0 && r.outcome === 'applied');
    assert.match(change?.reason ?? '', /^hpa at [\d.]+ requests\/s observed: .*utilisation/);
  });

  it('refuses a peak-sized policy without its peak, naming the field', async () => {
    const handle = await start('adapt-rim-no-peak', { policy: 'rim' });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(
        String(((err.cause as Error)?.cause as Error | undefined)?.message ?? (err.cause as Error)?.message),
        /peakRps.*required by policy rim/,
      );
      return true;
    });
  });

  it('fails fast with the field and value when the start input is invalid', async () => {
    const handle = await start('adapt-bad-input', { pipeline: 'video', intervalSeconds: -1 });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const message = String((err.cause as Error)?.cause ? ((err.cause as Error).cause as Error).message : (err.cause as Error)?.message);
      assert.match(message, /intervalSeconds.*-1/);
      return true;
    });
  });
});
