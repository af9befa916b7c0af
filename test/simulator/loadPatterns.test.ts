import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadTrace } from '../../src/forecast/trace.js';
import { loadPattern, PATTERN_NAMES } from '../../src/simulator/loadPatterns.js';

describe('IPA load patterns', () => {
  let trace: Float64Array;
  before(async () => {
    trace = await loadTrace();
  });

  it('are the windows IPA sent: length, total requests, min and max (twitter-trace/README.md)', () => {
    const expected = {
      bursty: { sum: 14_437, min: 3, max: 34 },
      'steady-low': { sum: 6_067, min: 3, max: 8 },
      'steady-high': { sum: 34_606, min: 23, max: 34 },
      fluctuating: { sum: 19_837, min: 3, max: 34 },
    };
    for (const name of PATTERN_NAMES) {
      const { loads, withHistory } = loadPattern(trace, name);
      assert.equal(loads.length, 1200, name);
      assert.equal(withHistory.length, 1320, name);
      assert.deepEqual({ sum: loads.reduce((a, b) => a + b, 0), min: Math.min(...loads), max: Math.max(...loads) }, expected[name], name);
    }
  });

  it('carry the 120 s of trace before the first window as history, and can be cut short', () => {
    const { loads, withHistory } = loadPattern(trace, 'bursty', 60);
    assert.equal(loads.length, 60);
    assert.equal(withHistory[0], Math.trunc((trace[1_301_160 - 120] as number) / 8));
    assert.equal(withHistory[120], loads[0]);
  });
});
