import type { StageDecision } from '../model/decision.js';
import { findVariant, type ProfileSet } from '../model/profileSet.js';
import type { StagePlan } from './pipelineSimulator.js';
import { serviceTimesFromProfile } from './serviceTime.js';

/**
 * What the simulator runs for a decided config: per stage the option's profile rows become
 * service times, and accuracy and per-replica cost are the decision's own figures, so the
 * simulated cost and PAS are the ones the optimizer computed.
 */
export function stagePlansOf(config: readonly StageDecision[], profiles: ProfileSet): StagePlan[] {
  return config.map((stage) => {
    const rows = findVariant(profiles, stage.variant)?.profiles.find((p) => p.shape === stage.shape)?.rows;
    if (!rows) throw new Error(`stage ${stage.stage}: no profile of ${stage.variant} on ${stage.shape} in ${profiles.name}`);
    return {
      key: `${stage.variant}/${stage.shape}/b${stage.batch}`,
      batch: stage.batch,
      replicas: stage.replicas,
      accuracy: stage.accuracy / 100,
      costPerReplica: stage.cost / stage.replicas,
      service: serviceTimesFromProfile(rows, stage.batch),
    };
  });
}
