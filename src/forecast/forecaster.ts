import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FALLBACKS, type FallbackMethod } from './fallbacks.js';
import { DEFAULT_MODEL_DIR, type Forecast, type ForecastMethod } from './forecast.js';
import { type LstmWeights, lstmForward, lstmWeightsOf } from './lstmForward.js';
import { loadLstm } from './lstmModel.js';
import { type LstmMeta, scaleOf } from './train.js';
import { CHUNK_SECONDS, checkWindow, chunkMaxima, HISTORY_SECONDS, INPUTS } from './window.js';

/** When the LSTM cannot answer, the window's peak: it never under-provisions a steady load. */
const BACKUP: FallbackMethod = 'max';

export class Forecaster {
  private constructor(
    private readonly weights: LstmWeights | undefined,
    readonly meta: LstmMeta | undefined,
    private readonly missing: string,
  ) {}

  /** Loads the committed LSTM when present; without it every forecast falls back, with the reason. */
  static async load(modelDir = DEFAULT_MODEL_DIR): Promise<Forecaster> {
    try {
      await access(join(modelDir, 'model.json'));
      const meta = JSON.parse(await readFile(join(modelDir, 'meta.json'), 'utf8')) as LstmMeta;
      return new Forecaster(lstmWeightsOf(await loadLstm(modelDir)), meta, '');
    } catch (err) {
      return new Forecaster(undefined, undefined, `no LSTM model in ${modelDir} (${(err as Error).message.split('\n')[0]})`);
    }
  }

  static withoutModel(reason: string): Forecaster {
    return new Forecaster(undefined, undefined, reason);
  }

  get hasModel(): boolean {
    return this.weights !== undefined;
  }

  /** The LSTM's raw output for windows of 12 chunk maxima (no checks), in loads. */
  lstmBatch(inputs: Float32Array, count: number): Float32Array {
    const weights = this.weights;
    if (!weights) throw new Error(this.missing);
    const scaling = this.meta?.scaling ?? 'none';
    return Float32Array.from({ length: count }, (_, n) => lstmForward(weights, inputs, n * INPUTS, scaleOf(inputs, n, scaling)));
  }

  upperOf(forecast: number): number {
    return forecast * (1 + Math.max(0, this.meta?.bandRelative ?? 0));
  }

  /** Forecasts from a window of per-second loads (oldest first; the last 120 s are used). */
  predict(window: unknown, method: ForecastMethod = 'auto'): Forecast {
    const loads = checkWindow(window);
    if (method !== 'auto' && method !== 'lstm') return this.fallback(loads, method, `method ${method} requested`);
    if (loads.length < HISTORY_SECONDS)
      return this.fallback(loads, BACKUP, `window ${loads.length} s < ${HISTORY_SECONDS} s: used ${BACKUP}`);
    if (!this.weights) return this.fallback(loads, BACKUP, `${this.missing}: used ${BACKUP}`);
    try {
      const out = this.lstmBatch(Float32Array.from(chunkMaxima(loads, loads.length)), 1)[0] as number;
      if (!Number.isFinite(out)) throw new Error(`LSTM returned ${out}`);
      const forecast = Math.max(0, out);
      return {
        forecast,
        upper: this.upperOf(forecast),
        method: 'lstm',
        reason: `LSTM on the last ${HISTORY_SECONDS} s as ${INPUTS} maxima of ${CHUNK_SECONDS} s`,
      };
    } catch (err) {
      return this.fallback(loads, BACKUP, `LSTM failed (${(err as Error).message}): used ${BACKUP}`);
    }
  }

  private fallback(loads: number[], method: FallbackMethod, reason: string): Forecast {
    const forecast = FALLBACKS[method](loads);
    // No calibrated residuals for a fallback: the window's peak is its band.
    return { forecast, upper: Math.max(forecast, FALLBACKS.max(loads)), method, reason };
  }
}
