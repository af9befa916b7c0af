/**
 * The Kubernetes Horizontal Pod Autoscaler's rule for one stage, as most teams run it today: a
 * fixed variant and batch, replicas scaled on a utilisation metric. Here the metric is per-replica
 * throughput utilisation, the observed load over what the replicas can serve by the profile.
 *
 *   desired = ceil(current × utilisation / target)
 *
 * within a tolerance (no change while |utilisation / target − 1| ≤ 10 %), clamped to the replica
 * limits, and with the HPA's scale-down stabilisation: the replicas never drop below the highest
 * recommendation of the last window (300 s by default; a sped-up run scales it down), while a
 * scale-up takes effect at once. Pure: the window's recommendations travel in the loop's state.
 */
export interface HpaSettings {
  /** Target utilisation, 0–1; the HPA's usual 70 %. */
  target: number;
  /** Default 0.1, the HPA's `--horizontal-pod-autoscaler-tolerance`. */
  tolerance: number;
  /** Default 300 s (`--horizontal-pod-autoscaler-downscale-stabilization`), divided by the run's speed. */
  stabilizationMs: number;
  minReplicas: number;
  maxReplicas: number;
}

export const HPA_DEFAULTS: HpaSettings = { target: 0.7, tolerance: 0.1, stabilizationMs: 300_000, minReplicas: 1, maxReplicas: 8 };

/** A recommendation the HPA made, kept for the stabilisation window. */
export interface HpaRecommendation {
  atMs: number;
  replicas: number;
}

export interface HpaInput {
  current: number;
  /** Observed load, requests/s. */
  load: number;
  /** What one replica serves, requests/s (the profile's throughput at the fixed batch). */
  capacity: number;
  atMs: number;
  /** Earlier recommendations, oldest first. */
  history: readonly HpaRecommendation[];
  settings: HpaSettings;
}

export interface HpaOutcome {
  replicas: number;
  /** The recommendations still inside the window, this one included. */
  history: HpaRecommendation[];
  reason: string;
}

export function hpaStep({ current, load, capacity, atMs, history, settings }: HpaInput): HpaOutcome {
  const { target, tolerance, stabilizationMs, minReplicas, maxReplicas } = settings;
  const clamp = (n: number) => Math.min(maxReplicas, Math.max(minReplicas, n));
  // 6 × (14/60)/0.7 is 2.0000000000000004 in floating point: round off the last bits before ceil.
  const ceil = (x: number) => Math.ceil(x - 1e-9);
  const utilisation = load / (current * capacity);
  const ratio = utilisation / target;
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  let recommended: number;
  let why: string;
  if (Math.abs(ratio - 1) <= tolerance) {
    recommended = current;
    why = `utilisation ${pct(utilisation)} within ${pct(tolerance)} of the ${pct(target)} target`;
  } else {
    recommended = clamp(ceil(current * ratio));
    why = `utilisation ${pct(utilisation)} against the ${pct(target)} target: ceil(${current} × ${ratio.toFixed(3)}) = ${ceil(current * ratio)}`;
    if (recommended !== ceil(current * ratio)) why += `, clamped to ${minReplicas}..${maxReplicas}`;
  }
  const window = [...history.filter((h) => h.atMs > atMs - stabilizationMs), { atMs, replicas: recommended }];
  // Scale-down stabilisation: the highest recommendation of the window; a scale-up is never held back.
  const stabilized = Math.max(...window.map((h) => h.replicas));
  const replicas = recommended > current ? recommended : Math.min(current, stabilized);
  if (replicas !== recommended) why += `; held at ${replicas} by the scale-down stabilisation window (${stabilizationMs / 1000} s)`;
  return { replicas, history: window, reason: why };
}
