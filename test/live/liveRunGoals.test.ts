import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveGoals } from '../../src/live/liveRunGoals.js';
import type { LiveRunResult } from '../../src/live/liveRunSummary.js';
import type { LoopPolicyName } from '../../src/model/policyName.js';

const run = (
  policy: LoopPolicyName,
  figures: Partial<LiveRunResult>,
  simulated: Partial<LiveRunResult['simulated']> = {},
): LiveRunResult => {
  const base = { violationsPct: 0.5, p99Ms: 100, coreSeconds: 600, meanPas: 0.9 };
  return {
    ...{ pipeline: 'testbed', pattern: 'bursty', policy, seed: 1, seconds: 600, slaMs: 200 },
    ...{ sent: 100, ok: 99, dropped: 1, errors: 0, p50Ms: 20, ...base },
    ...figures,
    simulated: { ...base, ...figures, ...simulated },
  } as LiveRunResult;
};

describe('live experiment goals', () => {
  it('states each goal held or missed with its numbers', () => {
    const goals = liveGoals([
      run('ipa', { violationsPct: 0.4, coreSeconds: 500, meanPas: 0.94 }, { p99Ms: 130, coreSeconds: 540 }),
      run('fa2-low', { meanPas: 0.83 }),
      run('fa2-high', { coreSeconds: 450 }),
      run('hpa', { violationsPct: 0.3, coreSeconds: 700, sent: 100, ok: 98, dropped: 1, errors: 0 }, { violationsPct: 2 }),
    ]);
    const line = (text: RegExp) => {
      const found = goals.filter((g) => text.test(g.text));
      assert.equal(found.length, 1, `one goal matches ${text}: ${goals.map((g) => g.text).join(' | ')}`);
      return found[0]?.held;
    };
    assert.equal(line(/^ipa's SLA violations 0\.400 % < 1 %$/), true);
    assert.equal(line(/^ipa's violations 0\.400 % ≤ hpa's 0\.300 %$/), false);
    assert.equal(line(/^ipa's PAS 0\.9400 ≥ fa2-low's 0\.8300$/), true);
    assert.equal(line(/^ipa's core-seconds 500\.0 ≤ fa2-high's 450\.0$/), false);
    assert.equal(line(/^ipa's core-seconds 500\.0 ≤ hpa's 700\.0$/), true);
    // 130 against 100 is 30 % off: missed; 540 against 500 is 8 %: held.
    assert.equal(line(/^ipa: simulated p99 130\.0 ms within 25 % of measured 100\.0 ms$/), false);
    assert.equal(line(/^ipa: simulated core-seconds 540\.0 within 10 % of measured 500\.0$/), true);
    assert.equal(line(/^hpa: simulated violations 2\.000 % within 1 point of measured 0\.300 %$/), false);
    assert.equal(line(/^hpa: sent 100 = ok 98 \+ dropped 1 \+ errors 0$/), false);
    assert.equal(line(/^fa2-low: sent 100 = ok 99 \+ dropped 1 \+ errors 0$/), true);
  });

  it('leaves out what compares with a policy that did not run', () => {
    const goals = liveGoals([run('fa2-low', {})]);
    assert.ok(goals.every((g) => g.text.startsWith('fa2-low: ')));
    assert.equal(goals.length, 4);
  });
});
