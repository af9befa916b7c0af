import type { ActuatorSpec } from '../model/adaptInput.js';
import type { Config } from '../model/config.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import { DryRunActuator } from './dryRun.js';
import { simulatedActuator } from './simulated.js';

/** One decision to put in place. `decisionId` makes applying idempotent across retries. */
export interface ApplyRequest {
  decisionId: string;
  pipeline: string;
  config: Config;
}

export interface Actuator {
  apply(request: ApplyRequest): Promise<ApplyOutcome>;
}

const dryRuns = new Map<string, DryRunActuator>();

/** The actuator of a spec; dry-run actuators are shared per log file so their index of ids is too. */
export function actuatorFor(spec: ActuatorSpec): Actuator {
  if (spec.kind === 'simulated') return simulatedActuator;
  const key = spec.log ?? '';
  let actuator = dryRuns.get(key);
  if (!actuator) {
    actuator = new DryRunActuator(spec.log);
    dryRuns.set(key, actuator);
  }
  return actuator;
}
