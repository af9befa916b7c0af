import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from './tf.js';
import { INPUTS } from './window.js';

/** IPA's network: LSTM(25, ReLU, L1 1e-5 on the kernel) over 12 chunk maxima, then Dense(1). */
export function buildLstm(seed: number): LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.lstm({
      units: 25,
      activation: 'relu',
      inputShape: [INPUTS, 1],
      kernelRegularizer: tf.regularizers.l1({ l1: 1e-5 }),
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
    }),
  );
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  model.compile({ optimizer: tf.train.adam(), loss: 'meanSquaredError' });
  return model;
}

/** Saves in the tfjs layers format (model.json + weights.bin) without needing tfjs-node's file:// handler. */
export async function saveLstm(model: LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
      const manifest = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
      await writeFile(join(dir, 'weights.bin'), weights);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
}

export async function loadLstm(dir: string): Promise<LayersModel> {
  const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  const weights = await readFile(join(dir, 'weights.bin'));
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightsManifest[0].weights, weightData }),
  );
}
