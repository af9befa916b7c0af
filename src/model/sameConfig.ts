import type { Config } from './config.js';

/** Whether two configs run the same thing: per stage, in order, the same variant, shape, batch, batch timeout and replicas. */
export function sameConfig(a: Config | undefined, b: Config | undefined): boolean {
  if (!a || !b || a.stages.length !== b.stages.length) return false;
  return a.stages.every((s, i) => {
    const t = b.stages[i];
    return (
      t !== undefined &&
      s.stage === t.stage &&
      s.variant === t.variant &&
      s.shape === t.shape &&
      s.batch === t.batch &&
      s.batchTimeoutMs === t.batchTimeoutMs &&
      s.replicas === t.replicas
    );
  });
}
