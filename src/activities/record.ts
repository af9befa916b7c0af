import { log } from '../common/log.js';
import { configLabel, decisionLine } from '../model/decisionLine.js';
import type { DecisionRecord } from '../model/decisionRecord.js';
import { recordMetrics } from '../temporal/metrics.js';

/**
 * Publishes a step's record to the logs and the worker's metrics, and returns it: as this
 * (local) activity's result it is in the event history, the audit trail `ipa adapt decisions` reads.
 */
export async function record(decision: DecisionRecord): Promise<DecisionRecord> {
  try {
    publish(decision);
  } catch (err) {
    // Logs and metrics are a courtesy; the record itself must reach the history whatever happens.
    log.warn({ decisionId: decision.id, err: (err as Error).message }, 'could not publish a decision');
  }
  return decision;
}

function publish(decision: DecisionRecord): void {
  recordMetrics(decision);
  const config = decision.config && configLabel(decision.config);
  // The fields sit in one object: JSON logs carry them whole, a terminal shows the line only.
  log.info(
    {
      decision: {
        id: decision.id,
        pipeline: decision.pipeline,
        step: decision.step,
        trigger: decision.trigger,
        outcome: decision.outcome,
        load: decision.forecast?.provisioned,
        slaMs: decision.settings.slaMs,
        ...(decision.predicted ? { latencyMs: decision.predicted.latencyMs } : {}),
        ...(config ? { config } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
    },
    `${decision.pipeline} ${decisionLine(decision)}`,
  );
}
