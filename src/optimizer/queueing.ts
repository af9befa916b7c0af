/**
 * Erlang C: the probability that an arrival finds all `servers` busy in an M/M/c queue offered
 * `offered` = λ/μ servers' worth of work. Computed through Erlang B's recurrence, which stays
 * stable for hundreds of servers where the textbook sum of powers overflows.
 */
export function erlangC(servers: number, offered: number): number {
  if (offered >= servers) return 1;
  let blocking = 1;
  for (let k = 1; k <= servers; k++) blocking = (offered * blocking) / (k + offered * blocking);
  return (servers * blocking) / (servers - offered * (1 - blocking));
}

/**
 * A queue of batches in front of `replicas` identical servers, batches arriving as a Poisson
 * process (requests do, and a batch of b forms from b of them).
 */
export interface BatchQueue {
  /** Requests per second. */
  load: number;
  replicas: number;
  batch: number;
  /** Batches one replica serves per second. */
  batchesPerSecond: number;
  /**
   * Squared coefficient of variation of the batch time (0 for constant times). Absent: exponential
   * times, the M/M/c queue, exactly.
   */
  scv?: number;
}

/**
 * Safety of the M/G/c estimate, fitted over the grid in test/simulator/mgcQueueWait.test.ts:
 * where waits matter, Allen–Cunneen's quantile is within ±5 % of the simulated one, so 10 % more
 * covers it and the simulation's own sampling error; where waits are rare and short (many replicas
 * at low utilisation) its exponential tail understates them by up to a tenth of a batch time, so
 * at least 0.15 of one is added.
 */
const MGC_FACTOR = 1.1;
const MGC_FLOOR_BATCHES = 0.15;

/**
 * The `quantile` of the time (ms) a batch waits for a free replica. With exponential batch times
 * it is M/M/c's: P(wait > t) = C · exp(−(c·μ − λ_b)·t) with λ_b = λ/b and C Erlang C. With batch
 * times of a given spread (M/G/c), the Allen–Cunneen approximation scales M/M/c's wait by
 * (1 + scv)/2 (Poisson arrivals' own scv is 1); the scale goes into the tail's decay, so every
 * quantile scales alike, and the safety margins above keep it from being optimistic. Both keep
 * Erlang C as the chance to wait at all. Infinite when the replicas cannot keep up.
 */
export function queueWaitMs(queue: BatchQueue, quantile: number): number {
  const { load, replicas, batch, batchesPerSecond, scv } = queue;
  const arrivals = load / batch;
  const capacity = replicas * batchesPerSecond;
  if (arrivals >= capacity) return Number.POSITIVE_INFINITY;
  const busy = erlangC(replicas, arrivals / batchesPerSecond);
  const tail = 1 - quantile;
  if (busy <= tail) return 0;
  const mmc = Math.log(busy / tail) / (capacity - arrivals);
  if (scv === undefined) return mmc * 1000;
  const general = (mmc * (1 + scv)) / 2;
  return Math.max(MGC_FACTOR * general, general + MGC_FLOOR_BATCHES / batchesPerSecond) * 1000;
}
