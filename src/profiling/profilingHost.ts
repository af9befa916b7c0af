import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import { type HostInfo, shapeFromName } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';

/** The host a measurement ran on, as the profile set records it. */
export function hostInfo(): HostInfo {
  const cores = cpus();
  return {
    name: hostname(),
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** Where a server of a shape runs on this host: pinned to whole cores, or under a CPU limit of a fraction of one. */
export interface Placement {
  cores?: number[];
  cpuLimit?: number;
}

/**
 * The placement of a shape: `cpu-N` is pinned to N cores (the first N, shifted by `offset`
 * round the host's cores so replicas spread), `cpu-Nm` gets a CPU limit of N/1000 cores, a GPU
 * shape runs unpinned on the CPU testbed (and says so in `notes`). An error names what the host lacks.
 */
export function placementOf(shape: string, notes: string[], offset = 0): Placement {
  const wanted = shapeFromName(shape);
  if (wanted.gpu > 0) {
    // No GPU on this host (and the testbed is CPU-only): the numbers are the CPU's, and say so.
    notes.push(`measured on ${hostname()} without a GPU: the CPU testbed stands in for ${wanted.accelerator}`);
    return {};
  }
  const have = availableParallelism();
  if (wanted.cpu < 1) return { cpuLimit: wanted.cpu };
  if (wanted.cpu > have) {
    throw new ValidationError(`shape ${shape}`, [
      { path: 'shape', message: `shape ${shape} needs ${wanted.cpu} cores; host ${hostname()} has ${have}` },
    ]);
  }
  return { cores: Array.from({ length: wanted.cpu }, (_, i) => (offset + i) % have) };
}
