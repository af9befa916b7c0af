import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { metrics } from '../../src/forecast/evaluate.js';
import { FALLBACKS } from '../../src/forecast/fallbacks.js';
import { DEFAULT_MODEL_DIR } from '../../src/forecast/forecast.js';
import { Forecaster } from '../../src/forecast/forecaster.js';
import { loadLstm } from '../../src/forecast/lstmModel.js';
import { tfBackend } from '../../src/forecast/tf.js';
import { DAMPING, damp, EVALUATION_WINDOW, loadTrace, windows, withoutZeros } from '../../src/forecast/trace.js';
import { predictBatch } from '../../src/forecast/train.js';
import { checkWindow, chunkMaxima } from '../../src/forecast/window.js';
import { ValidationError } from '../../src/model/validation.js';

/** The model's outputs on its stored windows match those saved at training time, within 1e-4. */
function assertReproducesGolden(forecaster: Forecaster): void {
  const golden = forecaster.meta?.golden;
  assert.ok(golden && golden.inputs.length > 0, 'meta.json has golden outputs');
  const out = forecaster.lstmBatch(Float32Array.from(golden.inputs.flat()), golden.inputs.length);
  for (const [i, expected] of golden.outputs.entries()) {
    assert.ok(Math.abs((out[i] as number) - expected) <= 1e-4, `${tfBackend}: ${out[i]} vs ${expected}`);
  }
}

const ramp = (n: number, from = 10) => Array.from({ length: n }, (_, i) => from + (i % 37));

describe('forecast windows', () => {
  it('rejects bad windows, naming the index and the value', () => {
    const cases: [unknown, RegExp][] = [
      [[], /expected at least one per-second load, got \[\]/],
      [[1, Number.NaN, 3], /\[1\]: expected a finite load ≥ 0, got NaN/],
      [[1, -2], /\[1\]: expected a finite load ≥ 0, got -2/],
      [[1, '7'], /\[1\]: expected a finite load ≥ 0, got "7"/],
      [{ loads: [1] }, /expected an array of per-second loads, got object/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => checkWindow(input),
        (err: unknown) => err instanceof ValidationError && message.test(err.message),
      );
    }
  });

  it('takes the maxima of the last 12 chunks of 10 s', () => {
    const loads = Array.from({ length: 125 }, (_, i) => i);
    assert.deepEqual(chunkMaxima(loads, loads.length), [14, 24, 34, 44, 54, 64, 74, 84, 94, 104, 114, 124]);
  });

  it('has a reactive, a max and a true mean fallback', () => {
    const w = [...Array(20).fill(1), 50, ...Array(9).fill(2)];
    assert.equal(FALLBACKS.reactive(w), 50);
    assert.equal(FALLBACKS.max(w), 50);
    assert.equal(FALLBACKS.mean(w), (20 + 50 + 18) / 30);
  });
});

describe('forecaster', () => {
  let forecaster: Forecaster;
  before(async () => {
    forecaster = await Forecaster.load();
  });

  it('loads the committed LSTM and answers with it on a full window', () => {
    assert.ok(forecaster.hasModel, 'models/lstm must be committed');
    const f = forecaster.predict(ramp(120));
    assert.equal(f.method, 'lstm');
    assert.ok(Number.isFinite(f.forecast) && f.forecast >= 0);
    assert.ok(f.upper >= f.forecast);
    assert.match(f.reason, /LSTM on the last 120 s/);
  });

  it('falls back with a reason: short window, missing model, a method by name', () => {
    const short = forecaster.predict(ramp(45));
    assert.equal(short.method, 'max');
    assert.equal(short.reason, 'window 45 s < 120 s: used max');
    assert.equal(short.forecast, Math.max(...ramp(45)));
    const none = Forecaster.withoutModel('no LSTM model in /nowhere').predict(ramp(200));
    assert.equal(none.method, 'max');
    assert.match(none.reason, /no LSTM model in \/nowhere: used max/);
    const named = forecaster.predict(ramp(200), 'mean');
    assert.equal(named.method, 'mean');
    assert.equal(named.reason, 'method mean requested');
  });

  it('never answers NaN, even on a window of zeros or one second', () => {
    for (const w of [Array(120).fill(0), [0], [5]]) {
      const f = forecaster.predict(w);
      assert.ok(Number.isFinite(f.forecast) && Number.isFinite(f.upper), JSON.stringify(f));
    }
  });

  it('reproduces the outputs stored with the model on this backend', () => {
    assertReproducesGolden(forecaster);
  });

  it('serves the same outputs as tfjs: the plain-arithmetic LSTM against model.predict on the evaluation windows', async () => {
    const model = await loadLstm(DEFAULT_MODEL_DIR);
    // IPA's evaluation window, undamped, and the same seconds damped: the loads the loop sees.
    const trace = await loadTrace();
    const [from, to] = EVALUATION_WINDOW;
    for (const series of [trace.subarray(from, to), damp(trace.subarray(from, to), DAMPING)]) {
      const { x, count } = windows(withoutZeros(series));
      const reference = predictBatch(model, x, count, forecaster.meta?.scaling ?? 'none');
      const served = forecaster.lstmBatch(x, count);
      for (let n = 0; n < count; n++) {
        const expected = reference[n] as number;
        assert.ok(
          Math.abs((served[n] as number) - expected) <= 1e-4 * Math.max(1, Math.abs(expected)),
          `window ${n}: ${served[n]} vs tfjs ${expected}`,
        );
      }
    }
  });

  it('gives the same predictions on tfjs-node and on plain tfjs', (t) => {
    const require = createRequire(import.meta.url);
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      // tfjs-node downloads libtensorflow when it installs; this machine reaches no such host,
      // so npm drops the optional dependency and only the JavaScript backend runs here.
      t.skip('@tensorflow/tfjs-node is not installed on this machine (its install downloads libtensorflow)');
      return;
    }
    assert.equal(tfBackend, 'tfjs-node');
    assertReproducesGolden(forecaster);
    // The golden outputs came from the JavaScript backend (see meta.json): equal within 1e-4 means both agree.
  });
});

describe('forecast metrics', () => {
  it('computes MAPE, SMAPE, RMSE, under-prediction and over-provisioning', () => {
    const m = metrics([8, 12, 10], [10, 10, 10]);
    assert.ok(Math.abs(m.mape - (100 * (0.2 + 0.2 + 0)) / 3) < 1e-9);
    assert.ok(Math.abs(m.smape - (100 * (2 / 9 + 2 / 11)) / 3) < 1e-9);
    assert.ok(Math.abs(m.rmse - Math.sqrt(8 / 3)) < 1e-9);
    assert.ok(Math.abs(m.underPrediction - 100 / 3) < 1e-9);
    assert.ok(Math.abs(m.overProvisioning - 20 / 3) < 1e-9);
  });
});
