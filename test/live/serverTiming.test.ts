import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServerTiming } from '../../src/profiling/serverTiming.js';

describe('parseServerTiming', () => {
  it('reads the durations the gateway sends, by name', () => {
    assert.deepEqual(parseServerTiming('upstream;dur=12.345, gateway;dur=12.9'), { upstream: 12.345, gateway: 12.9 });
  });

  it('takes quoted durations and leaves out metrics without one', () => {
    assert.deepEqual(parseServerTiming('cache;desc="hit", db;dur="3.5";desc=x'), { db: 3.5 });
  });

  it('is undefined for no header or nothing usable', () => {
    assert.equal(parseServerTiming(null), undefined);
    assert.equal(parseServerTiming(''), undefined);
    assert.equal(parseServerTiming('miss, total;dur=abc'), undefined);
  });
});
