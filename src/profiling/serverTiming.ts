/**
 * The durations of a `Server-Timing` response header (W3C Server Timing), by metric name, ms.
 * The pipeline gateway sends `upstream` (time waiting on replicas) and `gateway` (its whole
 * handling), so a client can take what the gateway added out of each answer's latency, request by
 * request, instead of comparing two noisy runs. Metrics without a `dur` are left out.
 */
export function parseServerTiming(header: string | null | undefined): Record<string, number> | undefined {
  if (!header) return undefined;
  const durations: Record<string, number> = {};
  for (const metric of header.split(',')) {
    const [name, ...params] = metric.split(';').map((part) => part.trim());
    if (!name) continue;
    for (const param of params) {
      const match = /^dur=("?)([0-9.eE+-]+)\1$/.exec(param);
      const value = match ? Number(match[2]) : Number.NaN;
      if (Number.isFinite(value)) durations[name] = value;
    }
  }
  return Object.keys(durations).length > 0 ? durations : undefined;
}
