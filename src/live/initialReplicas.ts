import { recommend } from '../activities/recommend.js';
import { LocalActuator } from '../actuators/local.js';
import { pipelineSpecOf, resolveProfileSet } from '../io/load.js';
import { actuatorSpec, type LocalActuatorSpec } from '../model/adaptInput.js';
import { configLabel } from '../model/decisionLine.js';
import { settingsOf } from '../model/settings.js';
import { parseWith } from '../model/validation.js';

/** The local actuator of a live state folder, with its defaults. */
export function localActuatorOf(stateDir?: string): LocalActuator {
  const spec = parseWith(actuatorSpec, { kind: 'local', ...(stateDir ? { stateDir } : {}) }, 'local actuator') as LocalActuatorSpec;
  return new LocalActuator(spec);
}

/**
 * The replicas `ipa live up` starts before any loop runs: what the optimizer picks for a steady
 * `rps` (the same recommender the loop uses), so the gateway answers from the start and the
 * loop, when it starts, adopts them as its running config. Replicas already running are kept.
 */
export async function startInitialReplicas(pipeline: string, stateDir: string | undefined, rps: number): Promise<{ detail: string }> {
  const actuator = localActuatorOf(stateDir);
  const adopted = await actuator.running(pipeline);
  if (adopted.config) return { detail: adopted.reason };
  const spec = await pipelineSpecOf(pipeline);
  const profiles = await resolveProfileSet(spec.profiles ?? pipeline);
  const { config, decision } = await recommend({
    window: Array(120).fill(rps),
    method: 'max',
    provision: 'forecast',
    spec,
    profilesVersion: profiles.version,
    settings: settingsOf(spec),
  });
  if (!decision.feasible || config.stages.length === 0) {
    throw new Error(`--initial-rps ${rps}: no config of ${pipeline} holds its ${spec.slaMs} ms SLA at that load`);
  }
  const outcome = await actuator.apply({
    decisionId: `live-up-${Date.now()}`,
    pipeline,
    config,
    maxBatchWaitMs: spec.limits.maxBatchWaitMs,
  });
  return { detail: `${configLabel(config)} for ${rps} rps (${outcome.detail})` };
}

/** Stops every replica of the live pipeline, as the loop's end does. */
export function stopLiveReplicas(pipeline: string, stateDir?: string): Promise<string> {
  return localActuatorOf(stateDir).release(pipeline);
}
