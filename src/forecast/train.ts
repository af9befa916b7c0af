import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { seededRandom } from '../common/seededRandom.js';
import { buildLstm, saveLstm } from './lstmModel.js';
import { tf, tfBackend } from './tf.js';
import { loadTrace, type Samples, splits, windows } from './trace.js';
import { INPUTS } from './window.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Share of the training windows held out (the last ones) to calibrate the upper band. */
  calibrationShare: number;
  scaling: InputScaling;
  outDir: string;
  onProgress?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number }) => void;
}

/** What the forecaster needs besides the weights: the band, and how the model was made. */
export interface LstmMeta {
  /** Quantile of the relative residual (y − ŷ) / ŷ on held-out windows: upper = ŷ · (1 + q). */
  bandQuantile: number;
  bandRelative: number;
  /** Absent in models made before scaling existed: those are `none`. */
  scaling?: InputScaling;
  trainedAt: string;
  backend: string;
  epochs: number;
  batchSize: number;
  seed: number;
  trainWindows: number;
  calibrationWindows: number;
  finalLoss: number;
  seconds: number;
  /** A few calibration windows and the saved model's outputs: every backend must reproduce them. */
  golden: { inputs: number[][]; outputs: number[] };
}

/** The reference outputs stored with a model, from its first `count` calibration-style windows. */
export function goldenOf(model: LayersModel, samples: Samples, scaling: InputScaling, count = 8): LstmMeta['golden'] {
  const n = Math.min(count, samples.count);
  const x = samples.x.subarray(0, n * INPUTS);
  return {
    inputs: Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * INPUTS, (i + 1) * INPUTS))),
    outputs: Array.from(predictBatch(model, x, n, scaling)),
  };
}

/**
 * How windows are scaled before the network sees them. `none` is IPA's (raw loads); `window-mean`
 * divides the 12 inputs and the target by the inputs' mean, and multiplies the output back, so one
 * model serves loads of any magnitude (IPA trains on the trace damped by 8 but evaluates undamped).
 */
export type InputScaling = 'none' | 'window-mean';

/** The divisor of window `n`'s inputs (and multiplier of its output) under `scaling`. */
export function scaleOf(x: Float32Array, n: number, scaling: InputScaling): number {
  if (scaling === 'none') return 1;
  let sum = 0;
  for (let k = 0; k < INPUTS; k++) sum += x[n * INPUTS + k] as number;
  return Math.max(1, sum / INPUTS);
}

/** The network's forecasts for `count` windows of 12 chunk maxima, in loads (scaling undone). */
export function predictBatch(model: LayersModel, x: Float32Array, count: number, scaling: InputScaling = 'none'): Float32Array {
  const scales = Float32Array.from({ length: count }, (_, n) => scaleOf(x, n, scaling));
  const scaled = scaling === 'none' ? x : x.map((v, i) => v / (scales[Math.floor(i / INPUTS)] as number));
  const out = tf.tidy(
    () => (model.predict(tf.tensor3d(scaled, [count, INPUTS, 1])) as ReturnType<typeof tf.tensor2d>).dataSync() as Float32Array,
  );
  return out.map((v, n) => v * (scales[n] as number));
}

/** Training samples in the network's units: inputs and target divided by the window's scale. */
function scaledSamples(samples: Samples, scaling: InputScaling): Samples {
  if (scaling === 'none') return samples;
  const x = new Float32Array(samples.x.length);
  const y = new Float32Array(samples.count);
  for (let n = 0; n < samples.count; n++) {
    const s = scaleOf(samples.x, n, scaling);
    for (let k = 0; k < INPUTS; k++) x[n * INPUTS + k] = (samples.x[n * INPUTS + k] as number) / s;
    y[n] = (samples.y[n] as number) / s;
  }
  return { x, y, count: samples.count };
}

/** The q-quantile of (y − ŷ)/ŷ: how far above the forecast the real peak goes in that share of steps. */
export function relativeResidualQuantile(predicted: ArrayLike<number>, actual: ArrayLike<number>, q: number): number {
  const r = Array.from(actual as ArrayLike<number>, (y, i) => (y - (predicted[i] as number)) / Math.max(1e-6, predicted[i] as number)).sort(
    (a, b) => a - b,
  );
  return r[Math.min(r.length - 1, Math.floor(q * r.length))] ?? 0;
}

function shuffled(samples: Samples, random: () => number): Samples {
  const order = Array.from({ length: samples.count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const x = new Float32Array(samples.x.length);
  const y = new Float32Array(samples.count);
  order.forEach((from, to) => {
    x.set(samples.x.subarray(from * INPUTS, (from + 1) * INPUTS), to * INPUTS);
    y[to] = samples.y[from] as number;
  });
  return { x, y, count: samples.count };
}

/** Trains IPA's LSTM on IPA's split, seeded, and saves weights and metadata to `outDir`. */
export async function trainLstm(options: TrainOptions): Promise<LstmMeta> {
  const started = Date.now();
  const all = windows(splits(await loadTrace()).train);
  const fitCount = Math.floor(all.count * (1 - options.calibrationShare));
  const fit: Samples = { x: all.x.subarray(0, fitCount * INPUTS), y: all.y.subarray(0, fitCount), count: fitCount };
  const calibration: Samples = { x: all.x.subarray(fitCount * INPUTS), y: all.y.subarray(fitCount), count: all.count - fitCount };
  const random = seededRandom(options.seed);
  const model = buildLstm(options.seed);
  const batches = Math.ceil(fit.count / options.batchSize);
  let loss = Number.NaN;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const data = shuffled(scaledSamples(fit, options.scaling), random);
    const x = tf.tensor3d(data.x, [data.count, INPUTS, 1]);
    const y = tf.tensor2d(data.y, [data.count, 1]);
    await model.fit(x, y, {
      batchSize: options.batchSize,
      epochs: 1,
      shuffle: false,
      verbose: 0,
      callbacks: {
        onBatchEnd: async (batch, logs) => {
          loss = logs?.loss ?? loss;
          options.onProgress?.({ epoch, epochs: options.epochs, batch: batch + 1, batches, loss });
        },
      },
    });
    x.dispose();
    y.dispose();
  }
  const predicted = predictBatch(model, calibration.x, calibration.count, options.scaling);
  const meta: LstmMeta = {
    bandQuantile: 0.9,
    bandRelative: relativeResidualQuantile(predicted, calibration.y, 0.9),
    scaling: options.scaling,
    trainedAt: new Date().toISOString(),
    backend: tfBackend,
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed: options.seed,
    trainWindows: fit.count,
    calibrationWindows: calibration.count,
    finalLoss: loss,
    seconds: (Date.now() - started) / 1000,
    golden: goldenOf(model, calibration, options.scaling),
  };
  await saveLstm(model, options.outDir);
  await writeFile(join(options.outDir, 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
  return meta;
}
