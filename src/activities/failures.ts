import { ApplicationFailure } from '@temporalio/common';
import { ValidationError } from '../model/validation.js';

/** Type names of the failures no retry can mend; workflows match on them. */
export const FAILURE_TYPES = {
  invalidInput: 'InvalidInput',
  invalidConfig: 'InvalidConfig',
  invalidQuery: 'InvalidQuery',
  forbidden: 'Forbidden',
} as const;

/**
 * Runs an activity body and turns the errors that retrying cannot fix into non-retryable
 * failures of `type`; everything else is thrown as is and retried by the activity's policy.
 */
export async function failingFast<T>(type: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ValidationError || (err as { retryable?: boolean }).retryable === false) {
      throw ApplicationFailure.create({ message: (err as Error).message, type, nonRetryable: true, cause: err as Error });
    }
    throw err;
  }
}
