import type { StageConfig } from '../model/config.js';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import { findVariant, type ProfileSet } from '../model/profileSet.js';
import type { StagePlan } from './pipelineSimulator.js';
import { serviceTimesFromProfile } from './serviceTime.js';

/**
 * What the simulator runs for a config: per stage the option's profile rows become service times,
 * its accuracy the variant's, and a replica costs its shape's cores and GPUs at the spec's prices,
 * as the optimizer prices an option. A config needs no decision behind it: a live run's recorded
 * configs are served the same way as the simulated loop's.
 */
export function stagePlansOf(config: readonly StageConfig[], profiles: ProfileSet, price: PipelineSpec['cost']): StagePlan[] {
  return config.map((stage) => {
    const variant = findVariant(profiles, stage.variant);
    const rows = variant?.profiles.find((p) => p.shape === stage.shape)?.rows;
    const shape = profiles.shapes.find((h) => h.name === stage.shape);
    if (!variant || !rows || !shape)
      throw new Error(`stage ${stage.stage}: no profile of ${stage.variant} on ${stage.shape} in ${profiles.name}`);
    return {
      // A new batch timeout restarts the servers (new MLServer settings), as a new batch does.
      key: `${stage.variant}/${stage.shape}/b${stage.batch}${stage.batchTimeoutMs !== undefined ? `/${stage.batchTimeoutMs}ms` : ''}`,
      batch: stage.batch,
      ...(stage.batchTimeoutMs !== undefined ? { batchTimeoutMs: stage.batchTimeoutMs } : {}),
      replicas: stage.replicas,
      accuracy: variant.accuracy / 100,
      costPerReplica: shape.cpu * price.cpu + shape.gpu * price.gpu,
      service: serviceTimesFromProfile(rows, stage.batch),
    };
  });
}
