import { ApplicationFailure } from '@temporalio/common';
import { type Classified, FAILURE_TYPES } from '../model/failureTypes.js';
import { ValidationError } from '../model/validation.js';

export { FAILURE_TYPES };

/**
 * Runs an activity body and turns the errors that retrying cannot fix into non-retryable
 * failures (of the error's own `failureType`, else `type`); everything else is thrown as is and
 * retried by the activity's policy.
 */
export async function failingFast<T>(type: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const classified = err as Classified;
    if (err instanceof ValidationError || classified.retryable === false) {
      throw ApplicationFailure.create({
        message: (err as Error).message,
        type: classified.failureType ?? type,
        nonRetryable: true,
        cause: err as Error,
      });
    }
    throw err;
  }
}
