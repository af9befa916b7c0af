import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { besideThePaper, loadPaperResults, paperRelative } from '../../src/simulator/paperComparison.js';
import type { PatternResult } from '../../src/simulator/simulation.js';

/** A bursty result with just the summaries the comparison reads. */
function bursty(rows: Record<string, { meanPas: number; meanCost: number; violationPercent: number }>): PatternResult {
  return {
    pattern: { name: 'bursty' },
    runs: Object.entries(rows).map(([policy, summary]) => ({ policy, summary })),
  } as unknown as PatternResult;
}

describe('ipa beside the paper', () => {
  it("reads the paper's video bars in relative terms", async () => {
    const video = paperRelative(await loadPaperResults(), 'video');
    assert.ok(video);
    // Figure 8b: cost 2.8, 2.7, 5.8, 6.0 cores; accuracy 0.39, 0, 1.0, 0.83; violations 3.2, 0.8, 3.6, 3.0 %.
    assert.equal(video.accuracyShare, 0.39);
    assert.equal(video.costOverFa2Low, 2.8 / 2.7);
    assert.equal(video.costOverFa2High, 2.8 / 5.8);
    assert.equal(video.costOverRim, 2.8 / 6.0);
    assert.deepEqual(video.violationsPct, { ipa: 3.2, 'fa2-low': 0.8, 'fa2-high': 3.6, rim: 3.0 });
    assert.equal(paperRelative(await loadPaperResults(), 'text'), undefined, 'no such pipeline in the paper');
  });

  it('puts the simulation beside it in the same terms, and says where they part', async () => {
    const paper = await loadPaperResults();
    const lines = besideThePaper(paper, 'video', [
      bursty({
        ipa: { meanPas: 0.35, meanCost: 60, violationPercent: 0.1 },
        'fa2-low': { meanPas: 0.15, meanCost: 40, violationPercent: 0 },
        'fa2-high': { meanPas: 0.4, meanCost: 120, violationPercent: 0.2 },
        rim: { meanPas: 0.3, meanCost: 50, violationPercent: 0 },
      }),
    ]);
    const text = lines.join('\n');
    assert.match(text, /^## Beside the paper$/m);
    assert.match(text, /^\| ipa accuracy gain over fa2-low, share of fa2-low → fa2-high \| 0\.39 \| 0\.8 \|$/m);
    assert.match(text, /^\| ipa cost \/ fa2-high \| 0\.48× \| 0\.5× \|$/m);
    assert.match(text, /^\| ipa cost \/ rim \| 0\.47× \| 1\.2× \|$/m);
    assert.match(text, /^\| SLA violations, ipa \| 3\.2 % \| 0\.1 % \|$/m);
    assert.match(text, /SLA violations: ipa 0\.1 % here against 3\.2 % in the paper/);
    assert.match(text, /Accuracy share 0\.8 against 0\.39/);
  });

  it('writes nothing for a run without bursty or one of the four policies', async () => {
    const paper = await loadPaperResults();
    const two = bursty({
      ipa: { meanPas: 0.3, meanCost: 1, violationPercent: 0 },
      'fa2-low': { meanPas: 0.1, meanCost: 1, violationPercent: 0 },
    });
    assert.deepEqual(besideThePaper(paper, 'video', [two]), []);
    assert.deepEqual(besideThePaper(paper, 'video', []), []);
  });

  it("says so for a pipeline the paper lacks, naming the paper's pipelines", async () => {
    const paper = await loadPaperResults();
    const text = besideThePaper(paper, 'text', []).join('\n');
    assert.match(text, /^## Beside the paper$/m);
    assert.match(text, /IPA's paper has no `text` pipeline \(its pipelines: video, audio-qa, audio-sent, sum-qa, nlp\)/);
  });
});
