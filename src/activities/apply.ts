import { Context } from '@temporalio/activity';
import type { ApplyRequest } from '../actuators/actuator.js';
import { actuatorFor } from '../actuators/actuatorFor.js';
import { LocalActuator } from '../actuators/local.js';
import { profileSetByVersion } from '../io/load.js';
import { KubernetesActuator } from '../kube/kubernetesActuator.js';
import type { ActuatorSpec } from '../model/adaptInput.js';
import { type Config, parseConfig } from '../model/config.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import { findShape } from '../model/profileSet.js';
import { FAILURE_TYPES, failingFast } from './failures.js';

/** Tells Temporal the activity is alive while a rollout is awaited (and outside Temporal, nothing). */
function heartbeat(detail: string): void {
  try {
    Context.current().heartbeat(detail);
  } catch {}
}

/** Puts a decided config in place; an invalid config fails at once (InvalidConfig), the rest is retried. */
export async function apply(input: { actuator: ActuatorSpec; request: ApplyRequest }): Promise<ApplyOutcome> {
  return failingFast(FAILURE_TYPES.invalidConfig, async () => {
    const config = parseConfig(input.request.config, `config of ${input.request.decisionId}`);
    return actuatorFor(input.actuator).apply({ ...input.request, config }, heartbeat);
  });
}

export interface RunningConfigInput {
  actuator: ActuatorSpec;
  spec: PipelineSpec;
  profilesVersion: string;
}

/**
 * What already runs, for a loop to start from (least change, and the baselines' reference): read
 * from the cluster for the Kubernetes actuator, nothing for the others. A config that names a
 * variant or shape the optimizer does not know is not adopted, with the reason.
 */
export async function readRunningConfig(input: RunningConfigInput): Promise<{ config?: Config; reason: string }> {
  return failingFast(FAILURE_TYPES.invalidConfig, async () => {
    if (input.actuator.kind === 'local') return new LocalActuator(input.actuator).running(input.spec.name);
    if (input.actuator.kind !== 'kubernetes') return { reason: `the ${input.actuator.kind} actuator starts from nothing` };
    const running = await new KubernetesActuator(input.actuator).running(
      input.spec.name,
      input.spec.stages.map((s) => s.name),
    );
    if (!running.config) return running;
    const profiles = await profileSetByVersion(input.profilesVersion);
    for (const [i, stage] of running.config.stages.entries()) {
      const spec = input.spec.stages[i];
      if (!spec?.variants.includes(stage.variant))
        return { reason: `not adopted: stage ${stage.stage} runs ${stage.variant}, not one of its variants` };
      if (!(spec.shapes ? spec.shapes.includes(stage.shape) : findShape(profiles, stage.shape))) {
        return { reason: `not adopted: stage ${stage.stage} runs on shape ${stage.shape}, unknown to ${profiles.name}` };
      }
    }
    return running;
  });
}

/**
 * Gives back what the loop's actuator runs when the loop ends: the local actuator's replicas are
 * processes of this machine that nothing else would stop. The others leave the running config as
 * it is (a cluster keeps serving without its autoscaler).
 */
export async function release(input: { actuator: ActuatorSpec; pipeline: string }): Promise<string> {
  if (input.actuator.kind !== 'local') return `the ${input.actuator.kind} actuator leaves the running config as it is`;
  return new LocalActuator(input.actuator).release(input.pipeline);
}
