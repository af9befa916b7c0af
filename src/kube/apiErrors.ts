import { type Classified, FAILURE_TYPES } from '../model/failureTypes.js';

/** An API error with what retrying can do about it: 409 and 5xx may pass, 403/404/422 will not. */
export function classify(err: unknown, what: string): Error & Classified {
  const code = (err as { code?: number }).code;
  const body = (err as { body?: unknown }).body;
  const reason =
    typeof body === 'string' ? safeMessage(body) : ((body as { message?: string } | undefined)?.message ?? (err as Error).message);
  const error: Error & Classified = new Error(`${what}: ${code ? `HTTP ${code}: ` : ''}${reason}`);
  if (code === 403) Object.assign(error, { retryable: false, failureType: FAILURE_TYPES.forbidden });
  if (code === 404 || code === 422 || code === 400) Object.assign(error, { retryable: false, failureType: FAILURE_TYPES.invalidConfig });
  return error;
}

function safeMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    return body;
  }
}

export const isConflict = (err: unknown) => (err as { code?: number }).code === 409;
