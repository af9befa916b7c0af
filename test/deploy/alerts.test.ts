import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../../src/common/paths.js';
import { serveMetrics } from '../../src/temporal/metrics.js';
import { findPrometheus } from '../../src/tooling/setup/prometheus.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { startTestServer, startTraceLoop, startWorkers } from '../helpers/temporal.js';

const run = promisify(execFile);
const MONITORING = join(projectRoot, 'deploy', 'monitoring');
const RULES = join(MONITORING, 'ipa-alerts.yaml');

/** promtool ships beside prometheus (Debian's package has both). */
const promtool = async () => join(dirname(await findPrometheus()), 'promtool');

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function alerts(prometheus: TestPrometheus): Promise<Alert[]> {
  const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

describe('alerting rules (deploy/monitoring)', () => {
  it('promtool accepts the rules, and their unit tests pass: each alert fires on its series and not before', async () => {
    const tool = await promtool();
    const check = await run(tool, ['check', 'rules', RULES]);
    assert.match(check.stdout, /SUCCESS: 7 rules found/);
    const unit = await run(tool, ['test', 'rules', 'ipa-alerts.test.yaml'], { cwd: MONITORING });
    assert.match(unit.stdout, /SUCCESS/);
  });
});

/**
 * End to end: a real Prometheus with the rules scrapes a worker's metrics; the worker's loop steps
 * every second, then the worker stops (the loop stalls, its metrics stay served, as when a worker
 * hangs): IpaLoopStalled must fire for that pipeline, and not while the loop stepped. While it
 * steps, every query of the Grafana dashboard (deploy/monitoring/ipa-dashboard.json) must answer
 * with data: each names metrics the worker really exports.
 */
describe("a stalled loop pages through a real Prometheus, and the dashboard reads the worker's metrics", { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  let metrics: Server & { url: string };
  let prometheus: TestPrometheus | undefined;

  before(async () => {
    env = await startTestServer();
    workers = await startWorkers(env, ['adapt']);
    metrics = await serveMetrics(0);
    prometheus = await startPrometheus({ targets: [new URL(metrics.url).host], ruleFiles: [RULES] });
  });

  after(async () => {
    await workers?.stop();
    await prometheus?.stop();
    metrics?.close();
    await env?.teardown();
  });

  it('fires IpaLoopStalled once the loop has made no decision for 3 intervals', async () => {
    const handle = await startTraceLoop(env.client, 'alerts-stall');
    assert.ok(await waitUntilAsync(async () => ((await handle.query(statusQuery).catch(() => undefined))?.step ?? 0) >= 5, 60_000));
    const stalledFor = (list: Alert[]) => list.find((a) => a.labels.alertname === 'IpaLoopStalled' && a.labels.pipeline === 'video');
    // Stepping every second and scraped every second: Prometheus has the series, and no stall.
    assert.ok(
      await waitUntilAsync(
        async () =>
          (
            (await fetch(`${prometheus?.url}/api/v1/query?query=ipa_interval_seconds`).then((r) => r.json())) as {
              data: { result: unknown[] };
            }
          ).data.result.length > 0,
        30_000,
      ),
    );
    assert.equal(stalledFor(await alerts(prometheus as TestPrometheus)), undefined, 'no stall alert while the loop steps');

    // Every query of the dashboard, as Grafana would send it for this pipeline, answers with data.
    const dashboard = JSON.parse(await readFile(join(MONITORING, 'ipa-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const query = expr.replaceAll('$pipeline', 'video').replaceAll('$__rate_interval', '1m');
        const ask = async () =>
          (await (await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
            status: string;
            error?: string;
            data?: { result: unknown[] };
          };
        let answer = await ask();
        // A rate needs two scrapes of a series in its window: give the first seconds time.
        await waitUntilAsync(async () => {
          answer = await ask();
          return answer.status !== 'success' || (answer.data?.result.length ?? 0) > 0;
        }, 20_000);
        assert.equal(answer.status, 'success', `${panel.title}: ${query}: ${answer.error}`);
        assert.ok((answer.data?.result.length ?? 0) > 0, `${panel.title}: ${query} has data`);
      }
    }

    await workers?.stop();
    workers = undefined;
    let fired: Alert | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        fired = stalledFor(await alerts(prometheus as TestPrometheus));
        return fired?.state === 'firing';
      }, 60_000),
      `IpaLoopStalled firing within 60 s of the worker stopping; Prometheus said:\n${prometheus?.output().slice(-1500)}`,
    );
    assert.equal(fired?.labels.severity, 'page');
    await handle.terminate('test done').catch(() => undefined);
  });
});
