import { cpus } from 'node:os';
import type { PipelineSpec } from '../model/pipelineSpec.js';
import type { ProfileSet } from '../model/profileSet.js';
import { decide } from '../optimizer/decide.js';
import { problemFromSpec } from '../optimizer/problemFromSpec.js';

/**
 * The scale the live testbed runs at on a small machine (README, "Live pipeline"): every replica a
 * fraction of a core, so that a few dozen requests per second need several replicas and a change
 * of variant, while the whole pipeline (gateway, Prometheus, Temporal, the load generator)
 * leaves room on two cores.
 */
export const DEFAULT_INITIAL_RPS = 5;

/** The demo's load: the IPA paper's bursty pattern at `speed`× real time, its busiest second at `livePeakRps`. */
export const DEMO_LOAD = { pattern: 'bursty', speed: 2 } as const;

/** What the gateway, Prometheus, Temporal and the load generator take of the machine, in cores. */
const PIPELINE_OVERHEAD_CORES = 0.5;

/**
 * The most requests/s the live scale goes to, whatever the profiles allow. A profile row is one
 * request carrying a whole batch, while the gateway sends one request per item and MLServer
 * batches them: at a batch of 8 it does 8 requests' HTTP work where the row did one. Beyond a few
 * dozen requests/s that work, with the gateway's and the load generator's, is no longer small
 * beside the replicas' on two cores. 40 is the scale the live runs were first measured at (the
 * 2-core Intel machine).
 */
export const LIVE_PEAK_LIMIT_RPS = 40;

/**
 * The highest load (whole requests/s, up to `limit`) whose planned config gives the replicas no
 * more than the cores the rest of the live pipeline leaves: the busiest second a live test can
 * send on this machine without the CPU quotas adding up to more than it has, and the scale of the
 * demo and of `ipa live run`. It follows the profile set, so the machine the profiles were
 * measured on: 10 requests/s on the slow 2-core AMD machine of `sha256-f9414fe47c6babff`; the
 * limit (40) on the 2-core AMD machine of `sha256-7007d42168008508`, twice as fast, on the
 * 2-core Intel machine of `sha256-4b5b350c8e13310f` (87 and 121 without it) and on the 2-core
 * Intel Xeon of `sha256-4c50344602421a5a`. Undefined when not
 * even 1 request/s fits.
 */
export function livePeakRps(
  spec: PipelineSpec,
  profiles: ProfileSet,
  cores = cpus().length,
  limit = LIVE_PEAK_LIMIT_RPS,
): number | undefined {
  const budget = cores - PIPELINE_OVERHEAD_CORES;
  let peak: number | undefined;
  for (let load = 1; load <= limit; load++) {
    const planned = plannedCores(spec, profiles, load);
    if (planned === undefined || planned > budget) break;
    peak = load;
  }
  return peak;
}

/** The cores ipa's plan for `load` gives the replicas; undefined when nothing meets the SLA. */
export function plannedCores(spec: PipelineSpec, profiles: ProfileSet, load: number): number | undefined {
  const decision = decide(problemFromSpec(spec, profiles, load));
  return decision.feasible ? decision.config.reduce((sum, stage) => sum + stage.cpu, 0) : undefined;
}
