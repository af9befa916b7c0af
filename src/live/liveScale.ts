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
 * The highest load (whole requests/s, up to `limit`) whose planned config gives the replicas no
 * more than the cores the rest of the live pipeline leaves: the busiest second a live test can
 * send on this machine without the CPU quotas adding up to more than it has, and the scale of the
 * demo and of `ipa live run`. It follows the profile set, so the machine the profiles were
 * measured on: 10 requests/s on the 2-core AMD machine of `sha256-f9414fe47c6babff`, 87 on the
 * 2-core Intel machine of `sha256-4b5b350c8e13310f`; a fixed 40, the scale chosen on the Intel
 * machine, plans 2.5 cores on the AMD one and measured overload there. Undefined when not even
 * 1 request/s fits.
 */
export function livePeakRps(spec: PipelineSpec, profiles: ProfileSet, cores = cpus().length, limit = 200): number | undefined {
  const budget = cores - PIPELINE_OVERHEAD_CORES;
  let peak: number | undefined;
  for (let load = 1; load <= limit; load++) {
    const decision = decide(problemFromSpec(spec, profiles, load));
    const planned = decision.config.reduce((sum, stage) => sum + stage.cpu, 0);
    if (!decision.feasible || planned > budget) break;
    peak = load;
  }
  return peak;
}
