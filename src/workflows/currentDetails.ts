// What the Web UI shows of a running adaptation loop: its "current details", markdown rendered
// under the workflow's User Metadata tab. Pure code: the workflow bundle runs it, so no I/O,
// clocks or randomness here.
import { roundTo } from '../common/roundTo.js';
import { table } from '../common/table.js';
import type { Config } from '../model/config.js';
import type { DecisionRecord, Settings } from '../model/decisionRecord.js';

/** The part of a loop's state its details show. */
export interface DetailsState {
  settings: Settings;
  paused: boolean;
  step: number;
  current?: Config;
  recent: DecisionRecord[];
}

const FENCE = '```';

/** A number with at most `digits` decimals, without trailing zeros; `–` when absent. */
function num(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? '–' : String(roundTo(n, digits));
}

/** Free text (a reason, a name) as literal markdown: variant names are full of `_`. */
export function markdownText(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/[\\`*_{}[\]()<>#+\-!|~]/g, '\\$&');
}

/** An identifier inside a code block: nothing in it may close the block. */
function plain(text: string): string {
  return text.replace(/\s+/g, ' ').replaceAll(FENCE, "'''");
}

/** The running config as aligned columns in a code block. */
function configBlock(config: Config | undefined): string[] {
  const stages = config?.stages ?? [];
  if (stages.length === 0) return ['no config running yet'];
  // A code block keeps the spaces: the Web UI draws markdown tables without cell padding (`classifyresnet152`).
  const rows = stages.map((s) => [plain(s.stage), plain(s.variant), plain(s.shape), s.batch, s.replicas]);
  return [FENCE, table(['stage', 'variant', 'shape', 'batch', 'replicas'], rows), FENCE];
}

/**
 * The details of one adaptation loop: the pipeline, its SLA and whether the loop runs, the
 * running config, the last forecast (λ̂ and its band), the predicted latency, slack, PAS and
 * cost, and the last outcome with its trigger and reason. Prose as a list (it wraps in the
 * narrow panel), the config as aligned columns in a code block.
 */
export function adaptDetails(pipeline: string, state: DetailsState): string {
  const last = state.recent[state.recent.length - 1];
  const forecast = last?.forecast;
  const predicted = last?.predicted;
  const header = `**${markdownText(pipeline)}** · SLA **${num(state.settings.slaMs, 1)} ms** · ${state.paused ? '**paused**' : 'running'}, step ${state.step}`;
  const facts = last
    ? [
        forecast
          ? `λ̂ **${num(forecast.provisioned, 1)} req/s** provisioned (forecast ${num(forecast.forecast, 1)}, upper ${num(forecast.upper, 1)})`
          : 'λ̂ – (no forecast this step)',
        predicted
          ? `predicted latency **${num(predicted.latencyMs, 1)} ms**, slack ${num(predicted.slackMs, 1)} ms · PAS ${num(predicted.pas, 3)} · cost ${num(predicted.cost, 2)}`
          : 'predicted latency – (no decision this step)',
        `last: **${last.outcome}** at step ${last.step} (${last.trigger}, ${last.at})${last.reason ? `: ${markdownText(last.reason)}` : ''}`,
      ]
    : ['no decision yet'];
  return [header, '', ...facts.map((f) => `- ${f}`), '', ...configBlock(state.current)].join('\n');
}
