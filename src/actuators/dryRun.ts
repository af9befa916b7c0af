import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { log } from '../log.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import type { Actuator, ApplyRequest } from './actuator.js';

/** Ids remembered without a log file: enough to absorb retries, bounded so it never grows. */
const MEMORY = 100_000;

/**
 * Applies nothing: logs each decision and, given a file, appends it as one JSON line. A decision id
 * already applied is reported unchanged, so an activity retried after a worker crash does not
 * apply twice, the same guarantee the Kubernetes actuator gets from its annotation.
 */
export class DryRunActuator implements Actuator {
  private applied: Promise<Set<string>> | undefined;

  constructor(private readonly file?: string) {}

  private ids(): Promise<Set<string>> {
    this.applied ??= this.file ? readIds(this.file) : Promise.resolve(new Set());
    return this.applied;
  }

  async apply({ decisionId, pipeline, config }: ApplyRequest): Promise<ApplyOutcome> {
    const ids = await this.ids();
    if (ids.has(decisionId)) return { actuator: 'dry-run', status: 'unchanged', detail: `decision ${decisionId} was already applied` };
    const summary = config.stages.map((s) => `${s.stage}=${s.variant}/${s.shape} b${s.batch} ×${s.replicas}`).join(', ');
    if (this.file) {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, `${JSON.stringify({ decisionId, pipeline, at: new Date().toISOString(), config })}\n`);
    }
    ids.add(decisionId);
    if (!this.file && ids.size > MEMORY) ids.delete(ids.values().next().value as string);
    log.info({ pipeline, decisionId, config: summary }, 'dry-run apply');
    return { actuator: 'dry-run', status: 'applied', detail: this.file ? `${summary} (logged to ${this.file})` : summary };
  }
}

async function readIds(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    // A line cut short by a crash mid-write is not a decision that was applied.
    if (!line.trim()) continue;
    try {
      ids.add((JSON.parse(line) as { decisionId: string }).decisionId);
    } catch {}
  }
  return ids;
}
