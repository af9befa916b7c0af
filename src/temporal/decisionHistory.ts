import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { DecisionRecord } from '../model/decisionRecord.js';

/** The (local) activity whose result is each step's record. */
const RECORD_ACTIVITY = 'record';
/** The marker the SDK records a local activity's outcome in: `data` says which, `result` is its result. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The result of a completed local activity of type `activityType`, if `event` is its marker. */
export function localActivityResult<T>(event: HistoryEvent, activityType: string): T | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) return undefined;
  const data = marker.details?.data?.payloads?.[0];
  const result = marker.details?.result?.payloads?.[0];
  if (!data || !result) return undefined;
  if (defaultPayloadConverter.fromPayload<{ activity_type?: string }>(data).activity_type !== activityType) return undefined;
  return defaultPayloadConverter.fromPayload<T>(result);
}

export interface RunHistory {
  runId: string;
  events: HistoryEvent[];
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
      const record = localActivityResult<DecisionRecord>(event, RECORD_ACTIVITY);
      if (record) records.push(record);
    }
  }
  return records;
}
