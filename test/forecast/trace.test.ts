import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadTrace } from '../../src/forecast/trace.js';
import { ValidationError } from '../../src/model/validation.js';

describe('loadTrace', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-trace-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  it('reads the Twitter trace: 1,899,061 seconds of requests', async () => {
    const trace = await loadTrace();
    assert.equal(trace.length, 1_899_061);
    assert.ok(trace.every((v) => Number.isInteger(v) && v >= 0));
  });

  it('reads lines, a JSON array and gzip alike, fractions included', async () => {
    const expected = Float64Array.from([3, 0, 2.5, 40]);
    assert.deepEqual(await loadTrace(await file('lines.txt', '3\n0\n2.5\n40\n')), expected);
    assert.deepEqual(await loadTrace(await file('array.json', '[3, 0, 2.5, 40]')), expected);
    assert.deepEqual(await loadTrace(await file('lines.txt.gz', gzipSync('3 0 2.5 40'))), expected);
  });

  it('rejects a bad load or an empty file, naming the position and the value', async () => {
    await assert.rejects(loadTrace(await file('bad.txt', '3\n-1\n4\n')), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /\[1\]: expected a load ≥ 0, got -1/);
      return true;
    });
    await assert.rejects(loadTrace(await file('word.json', '[3, "many"]')), /\[1\]: expected a load ≥ 0, got many/);
    await assert.rejects(loadTrace(await file('empty.txt', '\n')), /no loads/);
  });
});
