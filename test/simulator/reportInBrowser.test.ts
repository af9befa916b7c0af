import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium, noChromium } from '../helpers/browser.js';
import { ipa } from '../helpers/ipa.js';

/**
 * report.html as a person opens it: `ipa simulate`'s report in Debian's Chromium, headless. It
 * must load without a console error or a failed request, show its tables, and draw every figure
 * at a size (an SVG that failed to parse, or lost its size, shows as nothing).
 */
describe('report.html in a real browser', { skip: noChromium(), timeout: 180_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-report-html-'));
    const run = await ipa('simulate', '--pipeline', 'video', '--pattern', 'all', '--seconds', '60', '--out', dir);
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads with no console error, shows the tables, and draws every figure at a size', async () => {
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    const figures = [...html.matchAll(/<figure id="([^"]+)">/g)].map((m) => m[1]);
    assert.deepEqual(figures, ['video-load', 'video-cost', 'video-pas', 'video-latency', 'video-latency-cdf', 'video-summary']);

    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });

      assert.equal(await page.title(), 'Simulation: pipeline video');
      assert.equal(await page.locator('h2', { hasText: 'fluctuating' }).count(), 1);
      assert.ok((await page.locator('table').count()) >= 4, 'a summary table per pattern');
      assert.equal(await page.locator('table').first().locator('th').first().textContent(), 'policy');
      for (const id of figures) {
        const svg = page.locator(`figure#${id} > svg`);
        const box = await svg.boundingBox();
        assert.ok(box && box.width > 300 && box.height > 150, `${id} drawn at ${box?.width}×${box?.height}`);
        assert.ok((await svg.locator('path').count()) > 0, `${id} has marks`);
        const caption = (await page.locator(`figure#${id} > figcaption`).textContent()) ?? '';
        assert.match(caption, /^video: /, `${id}: captioned with its title`);
      }
      await page.screenshot({ path: join(tmpdir(), 'ipa-report-html.png'), fullPage: true });
      assert.deepEqual(problems, [], 'nothing went wrong loading the page');
    } finally {
      await browser.close();
    }
  });
});
