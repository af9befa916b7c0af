import { formatNumber, type TableColumn, table } from '../common/table.js';
import { terminalWidth, wrapText } from '../common/terminalText.js';
import { configLabel } from '../model/decisionLine.js';
import type { DecisionRecord } from '../model/decisionRecord.js';
import type { AdaptStatus } from '../workflows/messages.js';

/** How `ipa adapt status` and `ipa adapt decisions` show a loop's state and its decision records. */

function stageSummary(record: DecisionRecord): string {
  return record.config ? configLabel(record.config) : '–';
}

/**
 * The decision-record columns, and how each gives way in a narrow terminal: step, λ̂, outcome,
 * config, latency and reason stay (config and reason wrap); method, solve ms, load and at go
 * first, then trigger, cost, PAS and SLA.
 */
const RECORD_COLUMNS: [string, TableColumn | undefined][] = [
  ['step', undefined],
  ['at', { priority: 5 }],
  ['trigger', { priority: 4 }],
  ['load', { priority: 6 }],
  ['λ̂', undefined],
  ['method', { priority: 5 }],
  ['SLA', { priority: 2 }],
  ['outcome', undefined],
  ['config', { wrapMin: 24 }],
  ['PAS', { priority: 3 }],
  ['cost', { priority: 3 }],
  ['latency', undefined],
  ['solve ms', { priority: 6 }],
  ['reason', { wrapMin: 40 }],
];

/** Decision records as a table that fits `width` display columns (the terminal's by default). */
export function renderRecords(records: DecisionRecord[], width = terminalWidth()): string {
  return table(
    RECORD_COLUMNS.map(([name]) => name),
    records.map((r) => [
      r.step,
      r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.trigger,
      r.observed?.last ?? '–',
      r.forecast?.provisioned ?? '–',
      r.forecast?.method ?? '–',
      r.settings.slaMs,
      r.outcome,
      stageSummary(r),
      r.predicted ? Number(r.predicted.pas.toFixed(4)) : '–',
      r.predicted?.cost ?? '–',
      r.predicted ? Number(r.predicted.latencyMs.toFixed(1)) : '–',
      r.solver?.timeMs ?? '–',
      r.reason ?? '',
    ]),
    { width, columns: RECORD_COLUMNS.map(([, column]) => column) },
  );
}

/** A line of prose folded to `width`, continuation lines indented. */
function fold(text: string, width: number, indent = '  '): string {
  const [first = '', ...rest] = wrapText(text, width);
  if (rest.length === 0) return first;
  return [first, ...wrapText(rest.join(' '), width - indent.length).map((l) => indent + l)].join('\n');
}

/** A loop's status: settings, counters, the running config and the last decision, fitting `width`. */
export function renderStatus(s: AdaptStatus, width = terminalWidth()): string {
  return [
    fold(
      `${s.pipeline}: step ${s.step} (run ${s.run}), ${s.paused ? 'paused' : `every ${s.intervalSeconds} s`}, profiles ${s.profilesVersion}`,
      width,
    ),
    fold(
      `SLA ${s.settings.slaMs} ms; α ${s.settings.alpha}, β ${s.settings.beta}, γ ${s.settings.gamma}, PAS ${s.settings.accuracy}`,
      width,
    ),
    fold(
      `counters: ${Object.entries(s.counters)
        .map(([k, v]) => `${k} ${formatNumber(v)}`)
        .join(', ')}`,
      width,
    ),
    s.current
      ? table(
          ['stage', 'variant', 'shape', 'batch', 'replicas'],
          s.current.stages.map((c) => [c.stage, c.variant, c.shape, c.batch, c.replicas]),
          { width, columns: [undefined, { wrapMin: 12 }] },
        )
      : 'no config applied yet',
    ...(s.lastDecision ? ['last decision:', renderRecords([s.lastDecision], width)] : []),
    ...s.ignored.map((i) => fold(`ignored ${i.signal} at ${i.at}: ${i.reason}`, width)),
  ].join('\n');
}
