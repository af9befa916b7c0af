import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGeneratorArrivals, poissonArrivals } from '../../src/simulator/arrivals.js';

describe('arrivals', () => {
  it("spreads each second's requests as IPA's load generator: independent Exp(1/w) offsets from the second's start", () => {
    const w = 40;
    const arrivals = loadGeneratorArrivals(Array(500).fill(w), 1);
    assert.equal(arrivals.length, 500 * w);
    for (let i = 1; i < arrivals.length; i++) assert.ok((arrivals[i] as number) >= (arrivals[i - 1] as number));
    // The offsets' mean is 1000/w ms; they bunch at the start: P(offset < 1000/w) = 1 − 1/e.
    const offsets = Array.from(arrivals, (t) => t % 1000).filter((o) => o < 500);
    const mean = offsets.reduce((a, b) => a + b, 0) / offsets.length;
    assert.ok(Math.abs(mean - 1000 / w) < 1, `mean offset ${mean} ms`);
    const early = offsets.filter((o) => o < 1000 / w).length / offsets.length;
    assert.ok(Math.abs(early - (1 - Math.exp(-1))) < 0.02, `share in the first 1/w s: ${early}`);
  });

  it('truncates fractional counts as IPA did and sends nothing in an empty second', () => {
    assert.equal(loadGeneratorArrivals([2.9, 0, 1], 1).length, 3);
    assert.deepEqual(Array.from(loadGeneratorArrivals([4, 2], 1, 'equal')), [0, 250, 500, 750, 1000, 1500]);
  });

  it('makes a Poisson process of the given rate', () => {
    const arrivals = poissonArrivals(100, 1000, 2);
    assert.ok(Math.abs(arrivals.length / 100_000 - 1) < 0.01, `${arrivals.length} arrivals`);
    assert.ok((arrivals[arrivals.length - 1] as number) < 1_000_000);
  });
});
