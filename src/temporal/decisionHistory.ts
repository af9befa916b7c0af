import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { DecisionRecord } from '../model/decisionRecord.js';

/** The activity whose input is each step's record. */
const RECORD_ACTIVITY = 'record';

export interface RunHistory {
  runId: string;
  events: temporal.api.history.v1.IHistoryEvent[];
}

/**
 * The event histories of a workflow's continue-as-new chain, oldest run first: walks back from
 * the latest run through each run's `continuedExecutionRunId`.
 */
export async function chainHistories(client: Client, workflowId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: RunHistory['events'] = history.events ?? [];
    runs.unshift({ runId, events });
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/**
 * Every decision of a pipeline's loop, oldest first, read from the histories of the whole chain:
 * the history is the audit trail, whatever the workflow still keeps in memory.
 */
export async function readDecisions(client: Client, workflowId: string): Promise<DecisionRecord[]> {
  const records: DecisionRecord[] = [];
  for (const run of await chainHistories(client, workflowId)) {
    for (const event of run.events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name !== RECORD_ACTIVITY) continue;
      const payload = scheduled.input?.payloads?.[0];
      if (payload) records.push(defaultPayloadConverter.fromPayload<DecisionRecord>(payload));
    }
  }
  return records;
}
