import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import { type DevServer, startDevServer } from '../../src/tooling/devServer.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { launchChromium, noChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { waitUntilAsync } from '../helpers/processes.js';
import { startTraceLoop, startWorkersAt } from '../helpers/temporal.js';

/** Where the test leaves what the browser saw, to look at when an assertion fails. */
const SCREENSHOT = join(tmpdir(), 'ipa-webui-current-details.png');

/**
 * What a person sees of an adaptation loop in the Temporal Web UI: a real dev server with its UI,
 * ipa's worker, one loop on the video pipeline, and headless Chromium reading the workflow's page.
 */
describe('the Web UI shows an adaptation loop readably', { skip: noChromium() }, () => {
  let stateDir: string;
  let server: DevServer;
  let workers: Awaited<ReturnType<typeof startWorkersAt>>;
  let connection: Connection;
  let client: Client;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-webui-'));
    server = await startDevServer({
      binary: await findTemporalCli(),
      stateDir,
      port: await freePort(),
      uiPort: await freePort(),
      inMemory: true,
    });
    workers = await startWorkersAt(server.address, server.namespace, ['adapt']);
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: server.namespace });
  });

  after(async () => {
    await workers?.stop();
    await connection?.close();
    await server?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('has the current details under User Metadata, the config in columns, and a summary on each record marker', async (t) => {
    const handle = await startTraceLoop(client, 'adapt-video-webui', { intervalSeconds: 3600 });
    let decision: DecisionRecord | undefined;
    assert.ok(
      await waitUntilAsync(async () => {
        decision = (await handle.query(statusQuery).catch(() => undefined))?.lastDecision;
        return decision !== undefined;
      }, 60_000),
      'a first decision within a minute',
    );
    const last = decision as DecisionRecord;
    const stages = last.config?.stages ?? [];
    assert.ok(stages.length > 0, 'the decision has a config');

    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${server.uiUrl}/namespaces/${server.namespace}/workflows/${handle.workflowId}`);

      // The current details: markdown rendered in a frame of the User Metadata tab.
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      await page.getByText('Current Details').first().waitFor();
      const details = page.frameLocator('iframe[title="output"]').first();
      const config = details.locator('pre').first();
      await config.waitFor({ timeout: 30_000 });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      t.diagnostic(`screenshot: ${SCREENSHOT}`);

      const block = (await config.textContent()) ?? '';
      assert.match(block, /^stage {2,}variant {2,}shape {2,}batch {2,}replicas$/m, `a header row of columns apart:\n${block}`);
      for (const s of stages) {
        const row = new RegExp(`^${s.stage} {2,}${s.variant} {2,}${s.shape} {2,}${s.batch} {2,}${s.replicas}$`, 'm');
        assert.match(block, row, `stage ${s.stage}'s row with its columns apart:\n${block}`);
      }
      const text = (await details.locator('body').textContent()) ?? '';
      assert.match(text, /\bvideo\b/);
      assert.match(text, /SLA 300 ms/);
      const latency = String(Math.round((last.predicted?.latencyMs ?? Number.NaN) * 10) / 10);
      assert.ok(text.includes(`predicted latency ${latency} ms`), `the predicted latency ${latency} ms in:\n${text}`);
      assert.ok(text.includes(`λ̂ ${Math.round((last.forecast?.provisioned ?? Number.NaN) * 10) / 10} req/s`), `λ̂ in:\n${text}`);
      assert.match(text, new RegExp(`last: ${last.outcome} at step 1 \\(start, `));

      // Each record marker's summary: the decision before the marker's internals.
      await page.getByRole('tab', { name: 'Event History' }).click();
      const summary = page.getByText(/^step 1 (applied|unchanged|fallback) · /).first();
      await summary.waitFor({ timeout: 30_000 });
      assert.match((await summary.textContent()) ?? '', new RegExp(`${stages[0]?.stage} ${stages[0]?.variant}/${stages[0]?.shape}`));
    } finally {
      await browser.close();
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
