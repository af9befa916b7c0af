/**
 * Forecaster benchmark: time of one `predict` call (a 120-s window → λ̂) in process after warm-up,
 * on the pure-JavaScript TensorFlow.js backend, beside the fallbacks. Run with
 * `npm run bench:forecast`; it prints a table and never asserts on time.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ForecastMethod } from '../src/forecast/forecast.js';
import { Forecaster } from '../src/forecast/forecaster.js';
import { tfBackend } from '../src/forecast/tf.js';
import { loadTrace, splits } from '../src/forecast/trace.js';
import { percentile } from './percentile.js';

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
  const rows: string[][] = [];
  for (const method of ['lstm', 'reactive', 'max', 'mean'] as ForecastMethod[]) {
    for (let i = 0; i < WARMUP; i++) forecaster.predict(windowAt(i), method);
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const w = windowAt(WARMUP + i);
      const t0 = performance.now();
      forecaster.predict(w, method);
      times.push(performance.now() - t0);
    }
    const median = percentile(times, 0.5);
    rows.push([method, median.toFixed(4), percentile(times, 0.99).toFixed(4), method === 'lstm' ? (median <= 1 ? 'met' : 'missed') : '-']);
  }
  const header = ['method', 'median ms', 'p99 ms', 'goal ≤ 1 ms'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ');
  console.log(`\n${CALLS} calls per method after ${WARMUP} warm-up calls\n`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

await main();
