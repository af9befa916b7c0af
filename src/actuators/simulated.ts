import type { Config } from '../model/config.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import type { Actuator, ApplyRequest } from './actuator.js';

/** What a simulated cluster runs, per pipeline, and since when: the simulator reads it. */
export interface SimulatedDeployment {
  decisionId: string;
  config: Config;
  appliedAtMs: number;
}

export const simulatedCluster = new Map<string, SimulatedDeployment>();

/** Puts the config in the in-process simulated cluster; re-applying the same decision is a no-op. */
export const simulatedActuator: Actuator = {
  async apply({ decisionId, pipeline, config }: ApplyRequest): Promise<ApplyOutcome> {
    if (simulatedCluster.get(pipeline)?.decisionId === decisionId) {
      return { actuator: 'simulated', status: 'unchanged', detail: `decision ${decisionId} already running` };
    }
    simulatedCluster.set(pipeline, { decisionId, config, appliedAtMs: Date.now() });
    return { actuator: 'simulated', status: 'applied', detail: `${config.stages.length} stages set in the simulated cluster` };
  },
};
