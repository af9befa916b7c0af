import { log } from '../log.js';
import { recordMetrics } from '../metrics.js';
import type { DecisionRecord } from '../model/decisionRecord.js';

/**
 * Publishes a step's record: its input in the event history is the audit trail that
 * `ipa adapt decisions` reads, and here it also reaches the logs and the worker's metrics.
 */
export async function record(decision: DecisionRecord): Promise<void> {
  recordMetrics(decision);
  const config = decision.config?.stages.map((s) => `${s.stage}=${s.variant}/${s.shape} b${s.batch} ×${s.replicas}`).join(', ');
  log.info(
    {
      decisionId: decision.id,
      pipeline: decision.pipeline,
      outcome: decision.outcome,
      load: decision.forecast?.provisioned,
      slaMs: decision.settings.slaMs,
      ...(config ? { config } : {}),
      ...(decision.reason ? { reason: decision.reason } : {}),
    },
    'decision',
  );
}
