/**
 * The scale the live testbed runs at on a small machine (README, "Live pipeline"): every replica a
 * fraction of a core, so that a few dozen requests per second need several replicas and a change
 * of variant, while the whole pipeline (gateway, Prometheus, Temporal, the load generator)
 * leaves room on two cores.
 */
export const DEFAULT_INITIAL_RPS = 5;

/** The demo's load: the IPA paper's bursty pattern, its busiest second at `peakRps`, `speed`× real time. */
export const DEMO_LOAD = { pattern: 'bursty', peakRps: 40, speed: 2 } as const;
