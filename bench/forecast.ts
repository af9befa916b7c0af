/**
 * Forecaster benchmark: time of one `predict` call (a 120-s window → λ̂) in process after warm-up,
 * beside the previous version (the same LSTM through TensorFlow.js's model.predict, on the
 * pure-JavaScript backend) and the fallbacks. Run with `npm run bench:forecast`; it prints a table
 * and never asserts on time.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { table } from '../src/common/table.js';
import { DEFAULT_MODEL_DIR, FORECAST_METHODS } from '../src/forecast/forecast.js';
import { Forecaster } from '../src/forecast/forecaster.js';
import { loadLstm } from '../src/forecast/lstmModel.js';
import { tfBackend } from '../src/forecast/tf.js';
import { loadTrace, splits } from '../src/forecast/trace.js';
import { predictBatch } from '../src/forecast/train.js';
import { chunkMaxima } from '../src/forecast/window.js';
import { median, percentile } from './percentile.js';

const CALLS = 2000;
const WARMUP = 200;

async function main(): Promise<void> {
  console.log(
    `# forecast benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), backend ${tfBackend}`,
  );
  const forecaster = await Forecaster.load();
  const test = splits(await loadTrace()).test;
  // Real windows from the test split, a different one each call.
  const windowAt = (i: number) => Array.from(test.subarray(i * 10, i * 10 + 120));
  const model = await loadLstm(DEFAULT_MODEL_DIR);
  const scaling = forecaster.meta?.scaling ?? 'none';
  const timed = (call: (window: number[]) => unknown) => {
    for (let i = 0; i < WARMUP; i++) call(windowAt(i));
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const w = windowAt(WARMUP + i);
      const t0 = performance.now();
      call(w);
      times.push(performance.now() - t0);
    }
    return { median: median(times), p99: percentile(times, 0.99) };
  };
  const previous = timed((w) => predictBatch(model, Float32Array.from(chunkMaxima(w, w.length)), 1, scaling));
  const rows: string[][] = [];
  for (const method of FORECAST_METHODS.filter((m) => m !== 'auto')) {
    const run = timed((w) => forecaster.predict(w, method));
    const lstm = method === 'lstm';
    rows.push([
      method,
      run.median.toFixed(4),
      run.p99.toFixed(4),
      lstm ? (run.median <= 1 ? 'met' : 'missed') : '-',
      lstm ? `${(previous.median / run.median).toFixed(1)}×` : '-',
    ]);
  }
  rows.push([
    'lstm via tfjs model.predict (previous)',
    previous.median.toFixed(4),
    previous.p99.toFixed(4),
    previous.median <= 1 ? 'met' : 'missed',
    '1.0×',
  ]);
  const header = ['method', 'median ms', 'p99 ms', 'goal ≤ 1 ms', 'speed-up over tfjs'];
  console.log(`\n${CALLS} calls per method after ${WARMUP} warm-up calls\n`);
  console.log(table(header, rows));
}

await main();
