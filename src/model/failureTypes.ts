/** Type names of the failures no retry can mend; workflows and retry policies match on them. */
export const FAILURE_TYPES = {
  invalidInput: 'InvalidInput',
  invalidConfig: 'InvalidConfig',
  invalidQuery: 'InvalidQuery',
  forbidden: 'Forbidden',
} as const;

/** An error that says itself whether retrying can help, and under which failure type. */
export interface Classified {
  retryable?: boolean;
  failureType?: string;
}
