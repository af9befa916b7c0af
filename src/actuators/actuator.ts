import type { Config, ShapeResources } from '../model/config.js';

import type { ApplyOutcome } from '../model/decisionRecord.js';

/** One decision to put in place. `decisionId` makes applying idempotent across retries. */
export interface ApplyRequest {
  decisionId: string;
  pipeline: string;
  config: Config;
  /** Resources of each shape the config uses (Kubernetes requests them per replica). */
  shapes?: Record<string, ShapeResources>;
  /** The batch timeout of the servers of a stage without one of its own (`batchTimeoutMs`): the spec's maxBatchWaitMs. */
  maxBatchWaitMs?: number;
}

export interface Actuator {
  /** `progress` is called while it waits (the activity heartbeats with it). */
  apply(request: ApplyRequest, progress?: (detail: string) => void): Promise<ApplyOutcome>;
}
