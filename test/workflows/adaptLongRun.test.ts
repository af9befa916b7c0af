import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chainHistories, readDecisions } from '../../src/temporal/decisionHistory.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { setSlaSignal, statusQuery } from '../../src/workflows/messages.js';
import { startTimeSkippingServer, startWorkers } from '../helpers/temporal.js';

const DAY = 24 * 3600 * 1000;
/** 15-minute steps: 672 in a week, enough runs to cross many boundaries while the test stays short. */
const INTERVAL_SECONDS = 900;
const STEPS_PER_RUN = 40;

describe('adaptPipeline over 7 simulated days (time-skipping test server)', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;

  before(async () => {
    env = await startTimeSkippingServer();
    workers = await startWorkers(env, ['adapt']);
  });

  after(async () => {
    await workers?.stop();
    await env?.teardown();
  });

  it('chains runs under 10,000 events each, loses no step and carries a day-1 SLA to day 7', async () => {
    const handle = await env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'adapt-week',
      args: [
        {
          pipeline: 'video',
          intervalSeconds: INTERVAL_SECONDS,
          maxStepsPerRun: STEPS_PER_RUN,
          // The Twitter trace as IPA damped it, replayed in real (workflow) time.
          observe: { kind: 'trace', damp: 8 },
          // The time-skipping server keeps no custom search attributes.
          searchAttributes: false,
        },
      ],
    });
    await env.sleep(DAY);
    await handle.signal(setSlaSignal, { slaMs: 200 });
    await env.sleep(6 * DAY);

    const s = await handle.query(statusQuery);
    const expectedSteps = (7 * DAY) / (INTERVAL_SECONDS * 1000);
    assert.ok(s.step >= expectedSteps - 2, `about ${expectedSteps} steps in a week, saw ${s.step}`);
    assert.ok(s.run >= Math.floor(s.step / STEPS_PER_RUN), `runs chain every ${STEPS_PER_RUN} steps, saw run ${s.run}`);
    assert.equal(s.settings.slaMs, 200, 'the SLA signalled on day 1 holds on day 7');

    const records = await readDecisions(env.client, 'adapt-week');
    const steps = records.map((r) => r.step);
    assert.deepEqual(
      steps,
      steps.map((_, i) => i + 1),
      'steps 1, 2, … with none lost or repeated at run boundaries',
    );
    assert.equal(records.length, s.step);
    const last = records[records.length - 1];
    assert.equal(last?.settings.slaMs, 200);
    assert.ok(Date.parse(last?.at ?? '') - Date.parse(records[0]?.at ?? '') >= 6.9 * DAY);

    // Every run of the chain stays far below Temporal's limits.
    const runs = await chainHistories(env.client, 'adapt-week');
    assert.equal(runs.length, s.run);
    for (const run of runs) assert.ok(run.events.length < 10_000, `run ${run.runId} has ${run.events.length} events`);
    await handle.terminate('test done');
  });
});
