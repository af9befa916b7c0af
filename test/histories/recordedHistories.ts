import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/common/paths.js';

/**
 * The recorded histories: test/histories/VERSION/SCENARIO.json, one folder per ipa version they
 * were recorded with (the commit), kept while a loop of that version may still run. The source
 * tree's folder, not dist's.
 */
export const HISTORIES_DIR = join(projectRoot, 'test', 'histories');

export interface RecordedHistory {
  version: string;
  scenario: string;
  /** The id it ran under: child ids derive from it, so a replay under another id would differ. */
  workflowId: string;
  /** As `temporal workflow show --output json` wrote it, which the SDK's replayer reads. */
  history: unknown;
}

export function historyVersions(): string[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The scenario NAME ran as workflow `history-NAME`. */
export const scenarioWorkflowId = (scenario: string) => `history-${scenario}`;

export function recordedHistories(keep: (scenario: string) => boolean = () => true): RecordedHistory[] {
  return historyVersions().flatMap((version) =>
    readdirSync(join(HISTORIES_DIR, version))
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => file.replace(/\.json$/, ''))
      .filter(keep)
      .map((scenario) => ({
        version,
        scenario,
        workflowId: scenarioWorkflowId(scenario),
        history: JSON.parse(readFileSync(join(HISTORIES_DIR, version, `${scenario}.json`), 'utf8')) as unknown,
      })),
  );
}
