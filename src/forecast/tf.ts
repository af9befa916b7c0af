import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Tf = typeof import('@tensorflow/tfjs');

/**
 * TensorFlow.js: the native `@tensorflow/tfjs-node` when it installed (it downloads libtensorflow,
 * which not every machine can), else plain `@tensorflow/tfjs` on its JavaScript CPU backend.
 * IPA_TF_BACKEND=js forces the latter.
 */
function load(): { tf: Tf; backend: 'tfjs-node' | 'tfjs-cpu' } {
  if (process.env.IPA_TF_BACKEND !== 'js') {
    try {
      return { tf: require('@tensorflow/tfjs-node') as Tf, backend: 'tfjs-node' };
    } catch {
      // Not installed here: fall through to the pure-JS backend.
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  // Production mode: no debug checks, and no banner on stderr urging to install tfjs-node.
  tf.enableProdMode();
  return { tf, backend: 'tfjs-cpu' };
}

const loaded = load();
export const tf = loaded.tf;
export const tfBackend = loaded.backend;
