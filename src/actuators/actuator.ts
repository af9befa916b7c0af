import { KubernetesActuator } from '../kube/kubernetesActuator.js';
import type { ActuatorSpec } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import { DryRunActuator } from './dryRun.js';
import { simulatedActuator } from './simulated.js';

/** Per-replica resources of a shape, as the profile set describes it. */
export interface ShapeResources {
  cpu: number;
  gpu: number;
}

/** One decision to put in place. `decisionId` makes applying idempotent across retries. */
export interface ApplyRequest {
  decisionId: string;
  pipeline: string;
  config: Config;
  /** Resources of each shape the config uses (Kubernetes requests them per replica). */
  shapes?: Record<string, ShapeResources>;
  /** The batch timeout the servers are given: the spec's maxBatchWaitMs. */
  maxBatchWaitMs?: number;
}

export interface Actuator {
  /** `progress` is called while it waits (the activity heartbeats with it). */
  apply(request: ApplyRequest, progress?: (detail: string) => void): Promise<ApplyOutcome>;
}

const dryRuns = new Map<string, DryRunActuator>();

/** The actuator of a spec; dry-run actuators are shared per log file so their index of ids is too. */
export function actuatorFor(spec: ActuatorSpec): Actuator {
  if (spec.kind === 'simulated') return simulatedActuator;
  if (spec.kind === 'kubernetes') return new KubernetesActuator(spec);
  const key = spec.log ?? '';
  let actuator = dryRuns.get(key);
  if (!actuator) {
    actuator = new DryRunActuator(spec.log);
    dryRuns.set(key, actuator);
  }
  return actuator;
}
