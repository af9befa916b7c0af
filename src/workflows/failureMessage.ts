import { ActivityFailure, ChildWorkflowFailure } from '@temporalio/workflow';

/**
 * What went wrong, without the wrappers Temporal puts around a failure on its way to a workflow
 * (activity, child workflow): the message of the first failure that is not one of them.
 */
export function failureMessage(err: unknown): string {
  let e = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
