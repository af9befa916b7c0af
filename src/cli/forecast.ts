import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatNumber, table } from '../common/table.js';
import type { DatasetEvaluation } from '../forecast/evaluate.js';
import { DEFAULT_MODEL_DIR, FORECAST_METHODS, type ForecastMethod } from '../forecast/forecast.js';
import { readJsonFile } from '../io/jsonFile.js';
import { ValidationError } from '../model/validation.js';
import { positiveIntFlag } from './flags.js';
import { progressBar } from './progress.js';

// TensorFlow.js loads only when a forecast command runs: every other command starts faster.
const forecasterModule = () => import('../forecast/forecaster.js');

function renderEvaluation(results: DatasetEvaluation[], methods: readonly string[]): string {
  return results
    .map((r) =>
      [
        `${r.dataset}: ${r.description}`,
        table(
          ['method', 'MAPE %', 'SMAPE %', 'RMSE', 'under-prediction %', 'over-provisioning %', 'steps'],
          methods.flatMap((m) => {
            const x = r.methods[m as keyof typeof r.methods];
            return x ? [[m, x.mape, x.smape, x.rmse, x.underPrediction, x.overProvisioning, x.steps]] : [];
          }),
        ),
      ].join('\n'),
    )
    .join('\n\n');
}

export function registerForecastCommand(program: Command): void {
  const forecast = program.command('forecast').description('the load forecaster: train, evaluate and run IPA’s LSTM and its fallbacks');

  forecast
    .command('train')
    .description('train the LSTM on the Twitter trace as IPA did (damping 8, zeros removed, 14 days train), seeded')
    .option('--epochs <n>', 'passes over the training windows', '10')
    .option('--batch-size <n>', 'windows per step', '256')
    .option('--seed <n>', 'seed of initial weights and shuffling', '7')
    .option('--scaling <how>', 'none (IPA: raw loads) or window-mean (inputs and target divided by the window mean)', 'window-mean')
    .option('--out <dir>', 'where the model, its band and metadata go', DEFAULT_MODEL_DIR)
    .action(async (opts: { epochs: string; batchSize: string; seed: string; scaling: string; out: string }) => {
      if (opts.scaling !== 'none' && opts.scaling !== 'window-mean') {
        throw new ValidationError('command line', [
          { path: '--scaling', message: `expected none or window-mean, got ${JSON.stringify(opts.scaling)}` },
        ]);
      }
      const { trainLstm } = await import('../forecast/train.js');
      const bar = progressBar('training');
      const meta = await trainLstm({
        epochs: positiveIntFlag('--epochs', opts.epochs),
        batchSize: positiveIntFlag('--batch-size', opts.batchSize),
        seed: positiveIntFlag('--seed', opts.seed),
        calibrationShare: 0.1,
        scaling: opts.scaling,
        outDir: opts.out,
        onProgress: (p) =>
          bar((p.epoch - 1) * p.batches + p.batch, p.epochs * p.batches, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(3)}`),
      });
      process.stdout.write(
        `trained in ${formatNumber(meta.seconds, 0)} s on ${meta.backend}; band +${formatNumber(meta.bandRelative * 100)} % (90th percentile); saved to ${opts.out}\n`,
      );
    });

  forecast
    .command('evaluate')
    .description('MAPE, SMAPE, RMSE, under-prediction and over-provisioning of every method on the test split and IPA’s window')
    .option('--model <dir>', 'model folder', DEFAULT_MODEL_DIR)
    .option('--json', 'print the results as JSON')
    .option('--write', 'also write them to metrics.json in the model folder')
    .action(async (opts: { model: string; json?: boolean; write?: boolean }) => {
      const { EVALUATED, evaluateForecasters } = await import('../forecast/evaluate.js');
      const { Forecaster } = await forecasterModule();
      const results = await evaluateForecasters(await Forecaster.load(opts.model));
      if (opts.write) await writeFile(join(opts.model, 'metrics.json'), `${JSON.stringify(results, null, 1)}\n`);
      process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${renderEvaluation(results, EVALUATED)}\n`);
    });

  forecast
    .command('predict')
    .description('forecast the peak load of the next 20 s from a window of per-second loads')
    .requiredOption('--window <file>', 'JSON array of per-second loads, oldest first')
    .option('--method <name>', `one of ${FORECAST_METHODS.join(', ')}`, 'auto')
    .option('--model <dir>', 'model folder', DEFAULT_MODEL_DIR)
    .option('--json', 'print the output object as JSON')
    .action(async (opts: { window: string; method: string; model: string; json?: boolean }) => {
      if (!FORECAST_METHODS.includes(opts.method as ForecastMethod)) {
        throw new ValidationError('command line', [
          { path: '--method', message: `expected one of ${FORECAST_METHODS.join(', ')}, got ${JSON.stringify(opts.method)}` },
        ]);
      }
      const { Forecaster } = await forecasterModule();
      const forecaster = await Forecaster.load(opts.model);
      const result = forecaster.predict(await readJsonFile(opts.window), opts.method as ForecastMethod);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `forecast ${formatNumber(result.forecast)} rps (upper ${formatNumber(result.upper)}) by ${result.method}: ${result.reason}\n`,
      );
    });
}
