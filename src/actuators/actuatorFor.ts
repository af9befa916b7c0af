import { KubernetesActuator } from '../kube/kubernetesActuator.js';
import type { ActuatorSpec } from '../model/adaptInput.js';
import type { Actuator } from './actuator.js';
import { DryRunActuator } from './dryRun.js';
import { LocalActuator } from './local.js';
import { simulatedActuator } from './simulated.js';

const dryRuns = new Map<string, DryRunActuator>();

/** The actuator of a spec; dry-run actuators are shared per log file so their index of ids is too. */
export function actuatorFor(spec: ActuatorSpec): Actuator {
  if (spec.kind === 'simulated') return simulatedActuator;
  if (spec.kind === 'kubernetes') return new KubernetesActuator(spec);
  if (spec.kind === 'local') return new LocalActuator(spec);
  const key = spec.log ?? '';
  let actuator = dryRuns.get(key);
  if (!actuator) {
    actuator = new DryRunActuator(spec.log);
    dryRuns.set(key, actuator);
  }
  return actuator;
}
