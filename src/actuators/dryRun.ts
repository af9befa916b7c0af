import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { log } from '../common/log.js';
import { configLabel } from '../model/decisionLine.js';
import type { ApplyOutcome } from '../model/decisionRecord.js';
import { type Classified, FAILURE_TYPES } from '../model/failureTypes.js';
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
    if (!this.applied) {
      const file = this.file;
      this.applied = file
        ? readIds(file).catch((err: NodeJS.ErrnoException) => {
            // Not cached: the next apply reads the log again.
            this.applied = undefined;
            throw refusal(err, file);
          })
        : Promise.resolve(new Set());
    }
    return this.applied;
  }

  async apply({ decisionId, pipeline, config }: ApplyRequest): Promise<ApplyOutcome> {
    const ids = await this.ids();
    if (ids.has(decisionId)) return { actuator: 'dry-run', status: 'unchanged', detail: `decision ${decisionId} was already applied` };
    const summary = configLabel(config);
    if (this.file) {
      const line = `${JSON.stringify({ decisionId, pipeline, at: new Date().toISOString(), config })}\n`;
      await mkdir(dirname(this.file), { recursive: true })
        .then(() => appendFile(this.file as string, line))
        .catch((err: NodeJS.ErrnoException) => {
          throw refusal(err, this.file as string);
        });
    }
    ids.add(decisionId);
    if (!this.file && ids.size > MEMORY) ids.delete(ids.values().next().value as string);
    log.info({ pipeline, decisionId, config: summary }, 'dry-run apply');
    return { actuator: 'dry-run', status: 'applied', detail: this.file ? `${summary} (logged to ${this.file})` : summary };
  }
}

/** Errors no retry mends: the log is not a writable file. Others (a full disk, say) may pass. */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS']);

function refusal(err: NodeJS.ErrnoException, file: string): Error & Classified {
  const error: Error & Classified = new Error(`dry-run log ${file}: ${err.message}`);
  if (err.code && PERMANENT.has(err.code)) {
    error.retryable = false;
    error.failureType = FAILURE_TYPES.forbidden;
  }
  return error;
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
