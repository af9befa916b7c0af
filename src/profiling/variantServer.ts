import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProfileJob, VariantMeasurement } from '../model/profilingRun.js';
import { ValidationError } from '../model/validation.js';
import { type InferenceEndpoint, waitUntilReady } from './inferenceEndpoint.js';
import type { Placement } from './profilingHost.js';
import { ensureTestbed, startModelServer } from './testbed.js';

/** The OIP v2 server metadata (`GET /v2`): its name and version go into the profile's software list. */
export async function serverMetadata(baseUrl: string): Promise<{ name: string; version: string }> {
  try {
    const response = await fetch(`${baseUrl}/v2`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { name?: string; version?: string };
    return { name: body.name ?? 'unknown', version: body.version ?? 'unknown' };
  } catch {
    return { name: 'unknown', version: 'unknown' };
  }
}

export interface Served {
  endpoint: InferenceEndpoint;
  accuracy?: VariantMeasurement['accuracy'];
  stop(): Promise<void>;
}

/** Waits for someone else's server; it is theirs, so stopping it is a no-op. */
export async function attach(job: ProfileJob, signal: AbortSignal): Promise<Served> {
  const { url, model, readyTimeoutSeconds } = job.endpoint as NonNullable<ProfileJob['endpoint']>;
  const endpoint = { baseUrl: url.replace(/\/+$/, ''), model };
  if (!(await waitUntilReady(endpoint, { timeoutMs: readyTimeoutSeconds * 1000, signal }))) {
    throw new Error(`model ${model} at ${url} was not ready within ${readyTimeoutSeconds} s`);
  }
  return { endpoint, stop: async () => {} };
}

/** Starts the testbed's server for the variant where the shape places it. */
export async function serve(job: ProfileJob, placement: Placement, signal: AbortSignal): Promise<Served> {
  const bed = await ensureTestbed();
  const known = bed.variants.find((v) => v.name === job.variant);
  if (!known) {
    throw new ValidationError(`profile ${job.variant}`, [
      {
        path: 'variant',
        message: `${JSON.stringify(job.variant)} is not served by the testbed (${bed.variants.map((v) => v.name).join(', ')}); give its server with endpoints`,
      },
    ]);
  }
  const { metric } = JSON.parse(await readFile(join(bed.modelsDir, job.variant, 'accuracy.json'), 'utf8')) as { metric: string };
  const server = await startModelServer({
    variant: job.variant,
    maxBatchSize: job.settings.server.maxBatchSize,
    maxBatchTimeMs: job.settings.server.batchTimeoutMs,
    readyTimeoutMs: job.settings.server.readyTimeoutSeconds * 1000,
    ...placement,
    signal,
  });
  return { endpoint: { baseUrl: server.url, model: server.model }, accuracy: { percent: known.accuracy, metric }, stop: server.stop };
}
