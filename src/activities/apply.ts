import { type ApplyRequest, actuatorFor } from '../actuators/actuator.js';
import type { ActuatorSpec } from '../model/adaptInput.js';
import { parseConfig } from '../model/config.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** Puts a decided config in place; an invalid config fails at once (InvalidConfig), the rest is retried. */
export async function apply(input: { actuator: ActuatorSpec; request: ApplyRequest }): Promise<ApplyOutcome> {
  return failingFast(FAILURE_TYPES.invalidConfig, async () => {
    const config = parseConfig(input.request.config, `config of ${input.request.decisionId}`);
    return actuatorFor(input.actuator).apply({ ...input.request, config });
  });
}
