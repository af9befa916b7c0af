import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ipa } from '../helpers/ipa.js';

async function windowFile(name: string, content: unknown): Promise<string> {
  const file = join(tmpdir(), `ipa-${process.pid}-${name}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}

describe('ipa forecast predict', () => {
  it('prints the forecast object of the LSTM for a full window', async () => {
    const file = await windowFile(
      'full',
      Array.from({ length: 120 }, (_, i) => 20 + (i % 13)),
    );
    const { code, stdout, stderr } = await ipa('forecast', 'predict', '--window', file, '--json');
    assert.equal(code, 0, stderr);
    const f = JSON.parse(stdout);
    assert.equal(f.method, 'lstm');
    assert.ok(f.forecast > 0 && f.upper >= f.forecast);
    assert.equal(stderr, '', 'no TensorFlow.js banner on stderr');
  });

  it('uses a named fallback, and rejects a bad window or method by name', async () => {
    const file = await windowFile('short', [3, 4, 5]);
    const reactive = await ipa('forecast', 'predict', '--window', file, '--method', 'reactive');
    assert.match(reactive.stdout, /^forecast 5 rps \(upper 5\) by reactive: method reactive requested/);
    const bad = await windowFile('bad', [3, -4, 'x']);
    const rejected = await ipa('forecast', 'predict', '--window', bad);
    assert.equal(rejected.code, 1);
    assert.match(rejected.stderr, /\[1\]: expected a finite load ≥ 0, got -4/);
    assert.match(rejected.stderr, /\[2\]: expected a finite load ≥ 0, got "x"/);
    const method = await ipa('forecast', 'predict', '--window', file, '--method', 'arima');
    assert.match(method.stderr, /--method: expected one of auto, lstm, reactive, max, mean, got "arima"/);
  });
});
