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

/** The cores a `cpu-N` shape is pinned to: the first N, or an error naming what this host has. */
export function coresOf(shape: string, notes: string[]): number[] | undefined {
  const wanted = shapeFromName(shape);
  if (wanted.gpu > 0) {
    // No GPU on this host (and the testbed is CPU-only): the numbers are the CPU's, and say so.
    notes.push(`measured on ${hostname()} without a GPU: the CPU testbed stands in for ${wanted.accelerator}`);
    return undefined;
  }
  const have = availableParallelism();
  if (wanted.cpu > have) {
    throw new ValidationError(`profile on ${shape}`, [
      { path: 'shape', message: `shape ${shape} needs ${wanted.cpu} cores; worker host ${hostname()} has ${have}` },
    ]);
  }
  return Array.from({ length: wanted.cpu }, (_, i) => i);
}
