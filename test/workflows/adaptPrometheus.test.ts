import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Observation } from '../../src/activities/observe.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { chainHistories, localActivityResult } from '../../src/temporal/decisionHistory.js';
import { serveMetrics } from '../../src/temporal/metrics.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { decisionsQuery, statusQuery } from '../../src/workflows/messages.js';
import { type LoadGenerator, startLoadGenerator } from '../helpers/loadGenerator.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { startTestServer, startWorkers } from '../helpers/temporal.js';

const fill = (seconds: number, load: number) => Array.from({ length: seconds }, () => load);
/** Distinct levels, so a window shows which seconds it covers. */
const LOADS = [...fill(5, 20), ...fill(5, 60), ...fill(5, 35), ...fill(5, 90), ...fill(5, 50)];

/** Within the tolerance of irate at 1 s scrapes (the observe test explains it). */
const close = (observed: number, expected: number) => Math.abs(observed - expected) <= Math.max(0.5, 0.1 * expected);

/** The observe results of a workflow's history (local-activity markers), oldest first. */
async function observations(env: TestWorkflowEnvironment, workflowId: string): Promise<Observation[]> {
  return (await chainHistories(env.client, workflowId)).flatMap((run) =>
    run.events.flatMap((event) => {
      const observed = localActivityResult<Observation>(event, 'observe');
      return observed ? [observed] : [];
    }),
  );
}

describe('adaptPipeline observing a real Prometheus (load generator → Prometheus → workflow)', () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>>;
  let generator: LoadGenerator;
  let prometheus: TestPrometheus | undefined;
  let metrics: Server & { url: string };

  before(async () => {
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt']);
    metrics = await serveMetrics(0);
    generator = await startLoadGenerator({ pipeline: 'video', loads: LOADS });
    prometheus = await startPrometheus({ targets: [generator.target, new URL(metrics.url).host] });
  });

  after(async () => {
    await workers?.stop();
    await prometheus?.stop();
    await generator?.stop();
    metrics?.close();
    await env?.teardown();
  });

  it('observes the generated per-second rates, exports its metrics, and reuses the last window when Prometheus goes away', async () => {
    const { startedAtMs } = await generator.started(30_000);
    // Start once the generator has run through its loads, so windows hold every level.
    await new Promise((r) => setTimeout(r, Math.max(0, startedAtMs + LOADS.length * 1000 + 1500 - Date.now())));
    const url = prometheus?.url as string;
    const handle = await env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'adapt-prometheus',
      args: [{ pipeline: 'video', intervalSeconds: 2, observe: { kind: 'prometheus', url } }],
    });
    assert.ok(await waitUntilAsync(async () => (await handle.query(statusQuery).catch(() => ({ step: 0 }))).step >= 2, 60_000));

    // The window the workflow saw, second by second, against what the generator produced.
    const seen = await observations(env, 'adapt-prometheus');
    assert.ok(seen.length >= 2);
    const levels = new Set(LOADS);
    for (const result of seen) {
      assert.ok(result.loads.length >= LOADS.length, `a window of ${result.loads.length} s covers the ${LOADS.length} s of loads`);
      const end = Math.floor(result.endMs / 1000);
      // The value at second t is the generator's second whose step lies between the scrapes
      // before t (steps are half-way between scrapes): at most one second of slack at edges.
      const expectedAt = (t: number) => {
        const i = Math.floor((t * 1000 - startedAtMs - 500) / 1000);
        return i < 0 ? 0 : (LOADS[Math.min(i, LOADS.length - 1)] as number);
      };
      const matches = (shift: number) =>
        result.loads.filter((v, k) => {
          const t = end - (result.loads.length - 1 - k) + shift;
          return close(v, expectedAt(t));
        }).length;
      const best = Math.max(matches(-1), matches(0), matches(1));
      assert.ok(best >= result.loads.length - 2, `window matches the generated rates (${best}/${result.loads.length}): ${result.loads}`);
      for (const v of result.loads)
        assert.ok(v === 0 || [...levels].some((l) => Math.abs(v - l) <= Math.max(0.5, 0.1 * l)), `${v} is a generated level`);
    }
    const first = (await handle.query(decisionsQuery, { limit: 50 })).at(-1) as DecisionRecord;
    // irate divides by the scrapes' actual distance, 1 s ± jitter on a busy machine (see close()).
    assert.ok(close(first.observed?.max ?? 0, 90), `peak ${first.observed?.max} ≈ 90`);
    assert.match(first.observed?.source ?? '', /^prometheus /);

    // The worker's metrics, labelled by pipeline, scraped by the same Prometheus.
    const text = await (await fetch(metrics.url)).text();
    for (const name of [
      'ipa_decisions_total',
      'ipa_solve_seconds',
      'ipa_forecast_rps',
      'ipa_pas',
      'ipa_cost',
      'ipa_infeasible_steps_total',
      'ipa_apply_failures_total',
    ]) {
      assert.match(text, new RegExp(`^${name}(_count|_bucket)?\\{[^}]*pipeline="video"`, 'm'), `${name} is exported`);
    }
    assert.ok(
      await waitUntilAsync(async () => {
        const q = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('sum(ipa_decisions_total{pipeline="video"})')}`);
        const body = (await q.json()) as { data: { result: { value: [number, string] }[] } };
        return Number(body.data.result[0]?.value[1] ?? 0) >= 1;
      }, 15_000),
      'Prometheus scraped ipa_decisions_total from the worker',
    );

    // Prometheus goes away: the next step reuses the last good window with the max forecaster.
    await prometheus?.stop();
    prometheus = undefined;
    const before = (await handle.query(statusQuery)).step;
    let stale: DecisionRecord | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        stale = (await handle.query(decisionsQuery, { limit: 5 })).find((r) => r.step > before && r.observed?.stale);
        return stale !== undefined;
      }, 60_000),
    );
    assert.match(stale?.reason ?? '', /observe failed .*: reused the last good window with the max forecaster/);
    assert.equal(stale?.forecast?.method, 'max');
    assert.ok(close(stale?.observed?.max ?? 0, 90), `peak ${stale?.observed?.max} ≈ 90`);
    assert.ok(['applied', 'unchanged'].includes(stale?.outcome ?? ''), 'the step still decided');
    assert.ok((await handle.query(statusQuery)).counters.staleWindows >= 1);
    await handle.terminate('test done');
  });
});
