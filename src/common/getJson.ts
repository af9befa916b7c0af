/**
 * The JSON body of a GET, or undefined when the server does not answer in time or answers with
 * an error: for polling a local server that may still be starting or already gone.
 */
export async function getJson<T>(url: string, timeoutMs = 2_000): Promise<T | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? ((await response.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
