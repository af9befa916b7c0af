import type { Config } from '../model/config.js';
import { findVariant, type ProfileSet } from '../model/profileSet.js';
import { shapeFromName } from '../model/profilingRun.js';
import type { PasMethod } from '../model/settings.js';
import { pasOf } from '../optimizer/choiceModel.js';
import type { Option } from '../optimizer/options.js';
import type { LiveReplicas } from './liveState.js';

/**
 * What a live pipeline holds at one instant, read from the local actuator's replicas.json: the
 * cores its replicas are given and the accuracy of the config it serves. A live run samples these
 * every second for its core-seconds and mean PAS.
 */

/**
 * Cores held by every replica record: routed ones, ones still starting and ones draining after a
 * change (make-before-break keeps the old replicas until their requests are answered, and their
 * cores stay taken until then, as a Kubernetes pod's requests do until it is gone).
 */
export function allocatedCores(live: Pick<LiveReplicas, 'replicas'>): number {
  return live.replicas.reduce((sum, r) => sum + shapeFromName(r.shape).cpu, 0);
}

/**
 * The PAS of a config from the profile set's accuracies, the optimizer's own formula (pasOf):
 * what the pipeline's answers are worth while that config serves. NaN when a variant is not in
 * the set or there is no config (nothing serves).
 */
export function configPas(config: Config | undefined, profiles: ProfileSet, method: PasMethod): number {
  if (!config || config.stages.length === 0) return Number.NaN;
  const accuracies = config.stages.map((s) => findVariant(profiles, s.variant)?.accuracy);
  if (accuracies.some((a) => a === undefined)) return Number.NaN;
  // pasOf reads only an option's accuracy (a fraction, as options carry it).
  return pasOf(
    method,
    accuracies.map((a) => ({ accuracy: (a as number) / 100 }) as Option),
  );
}
