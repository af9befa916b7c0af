import { roundTo } from '../common/roundTo.js';
import type { StageConfig } from './config.js';
import type { DecisionRecord } from './decisionRecord.js';

/**
 * One stage as ipa shows it everywhere: `variant/shape b<batch>×<replicas>`, with its batch
 * timeout when it has one of its own: `b4/20ms×3` (batch 4, sent partial after 20 ms).
 */
export function stageLabel(s: Pick<StageConfig, 'variant' | 'shape' | 'batch' | 'replicas' | 'batchTimeoutMs'>): string {
  return `${s.variant}/${s.shape} ${batchLabel(s)}`;
}

/** The batching and replicas of a stage: `b4×3`, or `b4/20ms×3` with a batch timeout of its own. */
export function batchLabel(s: Pick<StageConfig, 'batch' | 'replicas' | 'batchTimeoutMs'>): string {
  const timeout = s.batch > 1 && s.batchTimeoutMs !== undefined ? `/${roundTo(s.batchTimeoutMs, 1)}ms` : '';
  return `b${s.batch}${timeout}×${s.replicas}`;
}

/** A config in one line: `detect yolov5s/cpu-4 b2×3, classify resnet101/cpu-4 b4×4`. */
export function configLabel(config: { stages: StageConfig[] }): string {
  return config.stages.map((s) => `${s.stage} ${stageLabel(s)}`).join(', ');
}

const num = (n: number, digits: number) => String(roundTo(n, digits));

/**
 * A step in one line, as a terminal's log and the Web UI's `record` marker show it:
 * `step 7 applied · 282.4/300 ms at λ̂ 69.4 rps · what changed and why`. A change whose reason
 * does not name it shows the config instead. Pure: the workflow renders it too.
 */
export function decisionLine(rec: DecisionRecord): string {
  const changed = rec.outcome === 'applied' || rec.outcome === 'fallback';
  const latency = rec.predicted
    ? `${num(rec.predicted.latencyMs, 1)}/${num(rec.settings.slaMs, 1)} ms`
    : `SLA ${num(rec.settings.slaMs, 1)} ms`;
  const config = rec.config ? configLabel(rec.config) : undefined;
  return [
    `step ${rec.step} ${rec.outcome}`,
    rec.forecast ? `${latency} at λ̂ ${num(rec.forecast.provisioned, 1)} rps` : latency,
    changed && !rec.reason ? config : undefined,
    rec.reason,
  ]
    .filter((part) => part !== undefined && part !== '')
    .join(' · ')
    .replace(/\s+/g, ' ');
}
