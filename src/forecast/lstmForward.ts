import type { LayersModel } from '@tensorflow/tfjs';
import { INPUTS } from './window.js';

/** The trained network as plain arrays: one LSTM layer (relu, hard sigmoid gates) and a dense output. */
export interface LstmWeights {
  units: number;
  /** [1, 4·units]: input weights of the gates i, f, c, o (Keras order). */
  kernel: Float32Array;
  /** [units, 4·units], row-major. */
  recurrent: Float32Array;
  bias: Float32Array;
  /** [units]: the dense layer's weights. */
  dense: Float32Array;
  denseBias: number;
}

/** Reads the weights once, and checks the layers are the ones `lstmForward` computes. */
export function lstmWeightsOf(model: LayersModel): LstmWeights {
  const [lstm, dense] = model.layers;
  const config = lstm?.getConfig() as { units?: number; activation?: string; recurrentActivation?: string } | undefined;
  const expected = { activation: 'relu', recurrentActivation: 'hardSigmoid' };
  if (
    !config?.units ||
    model.layers.length !== 2 ||
    config.activation !== expected.activation ||
    config.recurrentActivation !== expected.recurrentActivation
  ) {
    throw new Error(
      `lstmForward computes LSTM(relu, hardSigmoid) → Dense, got layers ${model.layers.map((l) => l.getClassName()).join(' → ')} with ${JSON.stringify(config)}`,
    );
  }
  const [kernel, recurrent, bias] = (lstm as NonNullable<typeof lstm>).getWeights().map((t) => t.dataSync() as Float32Array);
  const [denseKernel, denseBias] = (dense as NonNullable<typeof dense>).getWeights().map((t) => t.dataSync() as Float32Array);
  if (!kernel || !recurrent || !bias || !denseKernel || !denseBias) throw new Error('the LSTM model has missing weights');
  return { units: config.units, kernel, recurrent, bias, dense: denseKernel, denseBias: denseBias[0] as number };
}

const hardSigmoid = (x: number) => (x <= -2.5 ? 0 : x >= 2.5 ? 1 : 0.2 * x + 0.5);
const relu = (x: number) => Math.max(x, 0);

/**
 * The network's output for the 12 (scaled) inputs at `x[offset…]`, computed as tfjs does but
 * without tensors: one window is 12 steps of a 25-unit cell, a few microseconds in plain
 * arithmetic against most of a millisecond of tfjs bookkeeping, in every step of every loop.
 */
export function lstmForward(w: LstmWeights, x: ArrayLike<number>, offset = 0, scale = 1): number {
  const n = w.units;
  // Float32 state, as tfjs keeps it: with unbounded relu activations the rounding shows in the output.
  const h = new Float32Array(n);
  const c = new Float32Array(n);
  const z = new Float32Array(4 * n);
  for (let t = 0; t < INPUTS; t++) {
    const input = (x[offset + t] as number) / scale;
    for (let j = 0; j < 4 * n; j++) z[j] = (w.bias[j] as number) + input * (w.kernel[j] as number);
    for (let k = 0; k < n; k++) {
      const hk = h[k] as number;
      if (hk === 0) continue;
      const row = k * 4 * n;
      for (let j = 0; j < 4 * n; j++) z[j] = (z[j] as number) + hk * (w.recurrent[row + j] as number);
    }
    for (let k = 0; k < n; k++) {
      const i = hardSigmoid(z[k] as number);
      const f = hardSigmoid(z[n + k] as number);
      const candidate = relu(z[2 * n + k] as number);
      const o = hardSigmoid(z[3 * n + k] as number);
      const ck = f * (c[k] as number) + i * candidate;
      c[k] = ck;
      h[k] = o * relu(ck);
    }
  }
  let out = w.denseBias;
  for (let k = 0; k < n; k++) out += (h[k] as number) * (w.dense[k] as number);
  return out * scale;
}
